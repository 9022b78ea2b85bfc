//! The cgroup hierarchy: whether this kubelet release starts on the host's (see
//! [`crate::cgroup`]).

use crate::flags;
use crate::settings::Settings;

use super::report::Findings;

pub fn check(settings: &Settings, f: &mut Findings) {
    use crate::cgroup::Problem;
    let minor = flags::rules_minor(&settings.version);
    match crate::cgroup::detect(&settings.root) {
        Ok(Some(h)) => {
            match crate::cgroup::kubelet_problem(minor, h, settings.host.fail_cgroup_v1) {
                Some(Problem::Refused { finding, hint }) => f.fail("cgroup", finding, hint),
                Some(Problem::Deprecated { finding, hint }) => f.warn("cgroup", finding, hint),
                None => f.ok("cgroup", format!("kubelet 1.{minor} starts on {h}")),
            }
        }
        Ok(None) => {}
        Err(e) => f.warn(
            "cgroup",
            format!(
                "cannot tell the cgroup hierarchy of '{}': {e}",
                crate::cgroup::CGROUP_DIR
            ),
            "check that cgroup2 or the cgroup v1 controllers are mounted there ('findmnt /sys/fs/cgroup')",
        ),
    }
}
