//! The host's cgroup hierarchy, and whether a kubelet release starts on it: kubelets from 1.35
//! refuse a cgroup v1 host by default (`failCgroupV1`, KEP-5573) unless
//! `KUBE_KUBELET_FAIL_CGROUPV1=false` lets them run on it, deprecated, and kubelets before 1.19
//! do not start on a cgroup v2 host. Detection is the filesystem type of `/sys/fs/cgroup`.

use std::io;
use std::path::Path;

use crate::settings::Settings;

/// Where the hierarchy is mounted (inside the root).
pub const CGROUP_DIR: &str = "/sys/fs/cgroup";

/// The first kubelet release that refuses cgroup v1 by default.
pub const FAIL_CGROUP_V1_FROM: u32 = 35;
/// The first kubelet release with `failCgroupV1` in its configuration (KEP-4569).
pub const FAIL_CGROUP_V1_FIELD_FROM: u32 = 31;
/// The first kubelet release that starts on a cgroup v2 host.
pub const CGROUP_V2_FROM: u32 = 19;

// The kernel's filesystem magic numbers (linux/magic.h).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Which cgroup hierarchy the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// cgroup v1 (legacy or hybrid: a tmpfs of per-controller mounts).
    V1,
    /// The unified cgroup v2 hierarchy.
    V2,
}

impl std::fmt::Display for Hierarchy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hierarchy::V1 => "cgroup v1",
            Hierarchy::V2 => "cgroup v2",
        })
    }
}

/// The hierarchy for the filesystem type of `/sys/fs/cgroup`; `None` when it is neither.
pub fn classify(fs_magic: i64) -> Option<Hierarchy> {
    match fs_magic {
        CGROUP2_SUPER_MAGIC => Some(Hierarchy::V2),
        TMPFS_MAGIC | CGROUP_SUPER_MAGIC => Some(Hierarchy::V1),
        _ => None,
    }
}

/// The hierarchy mounted at `/sys/fs/cgroup` under `root`; `None` when nothing is mounted
/// there (a sandbox root) or the type is unknown.
pub fn detect(root: &Path) -> io::Result<Option<Hierarchy>> {
    let dir = crate::settings::resolve(root, Path::new(CGROUP_DIR));
    match nix::sys::statfs::statfs(&dir) {
        // On 32-bit targets the field is narrower; the magic numbers fit either way.
        #[allow(clippy::useless_conversion)]
        Ok(fs) => Ok(classify(i64::from(fs.filesystem_type().0))),
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// How a kubelet release fares on the host's hierarchy, when it is worth saying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// It will not start.
    Refused { finding: String, hint: String },
    /// It starts on a hierarchy it deprecates.
    Deprecated { finding: String, hint: String },
}

const UNIFIED_HINT: &str = "boot the host with the unified hierarchy (systemd.unified_cgroup_hierarchy=1; Flatcar and Fedora CoreOS default to it)";

/// What kubelet `1.minor` makes of `hierarchy` with `KUBE_KUBELET_FAIL_CGROUPV1` at
/// `fail_cgroup_v1` (`None`: unset, the kubelet's default; below 1.31 the setting is not written);
/// `None` when it starts and there is nothing to say.
pub fn kubelet_problem(
    minor: u32,
    hierarchy: Hierarchy,
    fail_cgroup_v1: Option<bool>,
) -> Option<Problem> {
    let setting = crate::env_vars::KUBE_KUBELET_FAIL_CGROUPV1;
    let written = fail_cgroup_v1.filter(|_| minor >= FAIL_CGROUP_V1_FIELD_FROM);
    match hierarchy {
        Hierarchy::V1 if minor >= FAIL_CGROUP_V1_FROM && written == Some(false) => {
            Some(Problem::Deprecated {
                finding: format!(
                    "this host runs cgroup v1, a deprecated cgroup version: kubelet 1.{minor} starts on it only because {setting}=false (failCgroupV1: false), and a later release removes cgroup v1 support"
                ),
                hint: format!("{UNIFIED_HINT} before upgrading to a release without cgroup v1"),
            })
        }
        Hierarchy::V1 if minor >= FAIL_CGROUP_V1_FROM => Some(Problem::Refused {
            finding: format!(
                "this host runs cgroup v1 and kubelet 1.{minor} refuses to start on cgroup v1 {} ({CGROUP_DIR} is not a cgroup2 filesystem)",
                if written == Some(true) {
                    format!("as {setting}=true asks")
                } else {
                    format!("by default from 1.{FAIL_CGROUP_V1_FROM}")
                }
            ),
            hint: format!(
                "{UNIFIED_HINT}, or accept the deprecated cgroup v1 with {setting}=false in /etc/kube-bootstrap.env"
            ),
        }),
        Hierarchy::V1 if written == Some(true) => Some(Problem::Refused {
            finding: format!(
                "this host runs cgroup v1 and {setting}=true makes kubelet 1.{minor} refuse to start on it (failCgroupV1: true)"
            ),
            hint: format!("{UNIFIED_HINT}, or unset {setting}"),
        }),
        Hierarchy::V2 if minor < CGROUP_V2_FROM => Some(Problem::Refused {
            finding: format!(
                "this host runs cgroup v2 and kubelet 1.{minor} does not start on it (cgroup v2 support arrived in 1.{CGROUP_V2_FROM})"
            ),
            hint: "boot the host with cgroup v1 (systemd.unified_cgroup_hierarchy=0), or run Kubernetes 1.19 or later".into(),
        }),
        _ => None,
    }
}

/// For `exec`: what the kubelet makes of this host, if anything (detection failures say nothing).
pub fn kubelet_problem_here(settings: &Settings, minor: u32) -> Option<Problem> {
    let hierarchy = detect(&settings.root).ok().flatten()?;
    kubelet_problem(minor, hierarchy, settings.host.fail_cgroup_v1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystem_types() {
        assert_eq!(classify(0x6367_7270), Some(Hierarchy::V2));
        assert_eq!(classify(0x0102_1994), Some(Hierarchy::V1));
        assert_eq!(classify(0x0027_e0eb), Some(Hierarchy::V1));
        assert_eq!(classify(0xef53), None);
        // Our constants agree with nix's (the type of which differs between targets).
        #[allow(clippy::useless_conversion)]
        let nix_magic = |t: nix::sys::statfs::FsType| i64::from(t.0);
        assert_eq!(
            nix_magic(nix::sys::statfs::CGROUP2_SUPER_MAGIC),
            CGROUP2_SUPER_MAGIC
        );
        assert_eq!(nix_magic(nix::sys::statfs::TMPFS_MAGIC), TMPFS_MAGIC);
    }

    #[test]
    fn kubelet_1_35_refuses_cgroup_v1_and_old_kubelets_refuse_v2() {
        use Hierarchy::{V1, V2};
        // (minor, hierarchy, KUBE_KUBELET_FAIL_CGROUPV1, verdict: "" starts, "refused", "deprecated")
        for (minor, h, setting, verdict) in [
            (34, V1, None, ""),
            (35, V1, None, "refused"),
            (36, V1, None, "refused"),
            (36, V1, Some(true), "refused"),
            (35, V1, Some(false), "deprecated"),
            (36, V1, Some(false), "deprecated"),
            (34, V1, Some(false), ""),
            (31, V1, Some(true), "refused"),
            (34, V1, Some(true), "refused"),
            // Below 1.31 the field is not written: the kubelet starts whatever the setting says.
            (30, V1, Some(true), ""),
            (36, V2, None, ""),
            (36, V2, Some(true), ""),
            (18, V2, None, "refused"),
            (18, V2, Some(false), "refused"),
            (19, V2, None, ""),
            (0, V1, None, ""),
        ] {
            let problem = kubelet_problem(minor, h, setting);
            let (got, finding, hint) = match &problem {
                None => ("", "", ""),
                Some(Problem::Refused { finding, hint }) => ("refused", &finding[..], &hint[..]),
                Some(Problem::Deprecated { finding, hint }) => {
                    ("deprecated", &finding[..], &hint[..])
                }
            };
            assert_eq!(
                got, verdict,
                "1.{minor} on {h} with {setting:?}: {problem:?}"
            );
            if problem.is_some() {
                assert!(finding.contains(&h.to_string()), "{finding}");
                assert!(!hint.is_empty());
            }
        }
        let Some(Problem::Refused { finding, hint }) = kubelet_problem(35, V1, None) else {
            panic!("1.35 starts on cgroup v1 by default")
        };
        assert!(
            finding.contains("refuses to start on cgroup v1 by default"),
            "{finding}"
        );
        // The hint names the setting, not an extra argument.
        assert!(hint.contains("KUBE_KUBELET_FAIL_CGROUPV1=false"), "{hint}");
        assert!(!hint.contains("--fail-cgroupv1"), "{hint}");
        let Some(Problem::Deprecated { finding, .. }) = kubelet_problem(36, V1, Some(false)) else {
            panic!("1.36 with failCgroupV1 false is not deprecated")
        };
        assert!(
            finding.contains("deprecated cgroup version")
                && finding.contains("KUBE_KUBELET_FAIL_CGROUPV1=false"),
            "{finding}"
        );
    }

    #[test]
    fn a_sandbox_root_without_cgroupfs_detects_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect(dir.path()).unwrap(), None);
    }
}
