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
        // A `--root` sandbox has no cgroup filesystem of its own: say what was not checked.
        Ok(None) => f.skip(
            "cgroup",
            format!(
                "skipped: nothing is mounted at '{}' (a --root sandbox), so whether kubelet 1.{minor} starts on this host's cgroup hierarchy is not checked",
                settings.path(crate::cgroup::CGROUP_DIR).display()
            ),
            "run 'kube-bootstrap doctor' on the node itself, without --root, to check the host",
        ),
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
