//! The host's cgroup hierarchy, and whether a kubelet release starts on it: kubelets from 1.35
//! refuse a cgroup v1 host by default (`failCgroupV1`, KEP-5573), and kubelets before 1.19 do
//! not start on a cgroup v2 host. Detection is the filesystem type of `/sys/fs/cgroup`.

use std::io;
use std::path::Path;

use crate::settings::Settings;

/// Where the hierarchy is mounted (inside the root).
pub const CGROUP_DIR: &str = "/sys/fs/cgroup";

/// The first kubelet release that refuses cgroup v1 by default.
pub const FAIL_CGROUP_V1_FROM: u32 = 35;
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

/// What stops kubelet `1.minor` on `hierarchy`, with a hint; `None` when it starts.
pub fn kubelet_problem(minor: u32, hierarchy: Hierarchy) -> Option<(String, String)> {
    match hierarchy {
        Hierarchy::V1 if minor >= FAIL_CGROUP_V1_FROM => Some((
            format!(
                "this host runs cgroup v1 and kubelet 1.{minor} refuses to start on cgroup v1 by default (from 1.{FAIL_CGROUP_V1_FROM}; {CGROUP_DIR} is not a cgroup2 filesystem)"
            ),
            "boot the host with the unified hierarchy (systemd.unified_cgroup_hierarchy=1; Flatcar and Fedora CoreOS default to it), or accept the deprecated cgroup v1 with KUBE_KUBELET_EXTRA_ARGS=--fail-cgroupv1=false".into(),
        )),
        Hierarchy::V2 if minor < CGROUP_V2_FROM => Some((
            format!(
                "this host runs cgroup v2 and kubelet 1.{minor} does not start on it (cgroup v2 support arrived in 1.{CGROUP_V2_FROM})"
            ),
            "boot the host with cgroup v1 (systemd.unified_cgroup_hierarchy=0), or run Kubernetes 1.19 or later".into(),
        )),
        _ => None,
    }
}

/// For `exec`: the problem kubelet has on this host, if any (detection failures say nothing).
pub fn kubelet_problem_here(settings: &Settings, minor: u32) -> Option<(String, String)> {
    let hierarchy = detect(&settings.root).ok().flatten()?;
    kubelet_problem(minor, hierarchy)
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
        for (minor, h, refused) in [
            (34, Hierarchy::V1, false),
            (35, Hierarchy::V1, true),
            (36, Hierarchy::V1, true),
            (36, Hierarchy::V2, false),
            (18, Hierarchy::V2, true),
            (19, Hierarchy::V2, false),
            (0, Hierarchy::V1, false),
        ] {
            let problem = kubelet_problem(minor, h);
            assert_eq!(problem.is_some(), refused, "1.{minor} on {h}");
            if let Some((finding, hint)) = problem {
                assert!(finding.contains(&h.to_string()), "{finding}");
                assert!(!hint.is_empty());
            }
        }
        let (finding, hint) = kubelet_problem(35, Hierarchy::V1).unwrap();
        assert!(
            finding.contains("refuses to start on cgroup v1"),
            "{finding}"
        );
        assert!(hint.contains("--fail-cgroupv1=false"), "{hint}");
    }

    #[test]
    fn a_sandbox_root_without_cgroupfs_detects_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(detect(dir.path()).unwrap(), None);
    }
}
