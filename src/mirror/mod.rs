//! `kube-bootstrap mirror DIR`: fills a directory laid out like dl.k8s.io
//! (`<version>/bin/linux/<arch>/<binary>` and `<binary>.sha256`) from the upstream mirrors,
//! every byte through fetch's verified path, and writes `<version>/pins-<arch>.env` for nodes.
//! `mirror --check DIR` re-verifies a directory without the network (`check`).
//!
//! A run is incremental: a file already in DIR that hashes to the upstream side file is kept
//! (only side files are requested), a partial file left by an interrupted run is resumed, and a
//! corrupt or foreign file is replaced through a `.partial` file and a rename.

mod check;
mod layout;
mod run;

use std::fmt;
use std::path::PathBuf;

use crate::arch::Arch;
use crate::component::Fetchable;
use crate::kube_version::{self, KubeVersion};
use crate::settings::{self, Origin, Settings};
use crate::{fetch, fsutil, http};

pub use check::check;
pub use run::run;

/// What is at a binary's path in DIR when it is not a regular file that could be read.
#[derive(Debug)]
enum Unusable {
    /// Nothing there.
    Missing(std::io::Error),
    /// Something else: a link, a FIFO, a directory, an unreadable file.
    Wrong(String),
}

/// The sha256, size and first 20 bytes (for the ELF check) of the regular file at `path`,
/// from one read of it; a link is not followed and a FIFO does not block.
fn read_binary(path: &std::path::Path) -> Result<(String, u64, Vec<u8>), Unusable> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Unusable::Missing(e),
            _ if e.raw_os_error() == Some(nix::libc::ELOOP) => {
                Unusable::Wrong("not a regular file".to_string())
            }
            _ => Unusable::Wrong(e.to_string()),
        })?;
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(Unusable::Wrong("not a regular file".to_string())),
        Err(e) => return Err(Unusable::Wrong(e.to_string())),
    }
    let mut header = Vec::with_capacity(20);
    let mut file = file;
    (&mut file)
        .take(20)
        .read_to_end(&mut header)
        .map_err(|e| Unusable::Wrong(format!("cannot read: {e}")))?;
    let (sha, size) = fetch::hash_reader(std::io::Cursor::new(&header).chain(file))
        .map_err(|e| Unusable::Wrong(format!("cannot hash: {e}")))?;
    Ok((sha, size, header))
}

/// Why `mirror` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] fsutil::Error),

    #[error(transparent)]
    Http(#[from] http::Error),

    #[error("another 'kube-bootstrap mirror' is filling '{}'", dir.display())]
    Busy { dir: PathBuf },

    #[error("{} of {total} files could not be mirrored:{}", failed.len(), FailureList(failed))]
    Failed {
        failed: Vec<FileFailure>,
        total: usize,
    },

    #[error("no mirrored release in '{}' (expected <version>/bin/linux/<arch>/<binary>)", dir.display())]
    Empty { dir: PathBuf },

    #[error("{bad} of {total} files in '{}' failed verification", dir.display())]
    CheckFailed {
        dir: PathBuf,
        bad: usize,
        total: usize,
    },
}

/// One file that could not be mirrored.
#[derive(Debug)]
pub struct FileFailure {
    /// The path inside DIR, such as `v1.36.4/bin/linux/amd64/kubelet`.
    pub file: String,
    pub reason: fetch::Error,
}

struct FailureList<'a>(&'a [FileFailure]);

impl fmt::Display for FailureList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in self.0 {
            write!(
                f,
                "\n  - {}: {}",
                failure.file,
                crate::causes::chain(&failure.reason)
            )?;
        }
        Ok(())
    }
}

/// What to mirror: every binary of every release for every architecture.
#[derive(Debug, Clone)]
pub struct Plan {
    pub versions: Vec<KubeVersion>,
    pub archs: Vec<Arch>,
    pub binaries: Vec<Fetchable>,
}

impl Plan {
    /// Validates the `--kube-version` and `--arch` values; without them, the settings' release
    /// and architecture.
    pub fn new(
        settings: &Settings,
        versions: &[String],
        archs: &[String],
        binaries: Vec<Fetchable>,
    ) -> Result<Plan, settings::Error> {
        let invalid =
            |var: &str, value: &str, flag: &'static str, expected: &str| settings::Error::Invalid {
                var: var.to_string(),
                value: value.to_string(),
                origin: Origin::Cli(flag),
                expected: expected.to_string(),
            };
        let mut plan = Plan {
            versions: Vec::new(),
            archs: Vec::new(),
            binaries,
        };
        for v in versions {
            let parsed: kube_version::KubeVersion = v.parse().map_err(|_| {
                let expected = kube_version::expected_for(v);
                invalid(
                    crate::env_vars::KUBE_VERSION,
                    v,
                    "--kube-version",
                    &expected,
                )
            })?;
            if !parsed.is_supported() {
                let expected = kube_version::expected_supported();
                return Err(invalid(
                    crate::env_vars::KUBE_VERSION,
                    v,
                    "--kube-version",
                    &expected,
                ));
            }
            if !plan.versions.contains(&parsed) {
                plan.versions.push(parsed);
            }
        }
        for a in archs {
            let parsed: Arch = a.parse().map_err(|_| {
                let expected = crate::arch::expected_for(a);
                invalid(crate::env_vars::KUBE_ARCH, a, "--arch", &expected)
            })?;
            if !plan.archs.contains(&parsed) {
                plan.archs.push(parsed);
            }
        }
        if plan.versions.is_empty() {
            plan.versions.push(settings.version.clone());
        }
        if plan.archs.is_empty() {
            plan.archs.push(settings.arch);
        }
        Ok(plan)
    }

    /// Every file to mirror, releases and architectures in the order given.
    fn items(&self) -> Vec<Item> {
        let mut out = Vec::new();
        for version in &self.versions {
            for &arch in &self.archs {
                for &binary in &self.binaries {
                    out.push(Item {
                        version: version.to_string(),
                        arch,
                        binary,
                    });
                }
            }
        }
        out
    }
}

/// One binary of one release for one architecture.
#[derive(Debug, Clone)]
struct Item {
    version: String,
    arch: Arch,
    binary: Fetchable,
}

impl Item {
    /// The path inside DIR, as it appears in messages.
    fn relative(&self) -> String {
        layout::relative(&self.version, self.arch.as_str(), self.binary.binary())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn settings() -> Settings {
        let overlay = crate::settings::Overlay::from_config_str(Path::new("/x.env"), "")
            .unwrap()
            .with_env([("KUBE_ARCH".to_string(), "arm64".to_string())].into());
        Settings::resolve(Path::new("/"), &overlay).unwrap()
    }

    #[test]
    fn plan_defaults_to_the_settings_and_deduplicates() {
        let s = settings();
        let p = Plan::new(&s, &[], &[], vec![Fetchable::Kubectl]).unwrap();
        assert_eq!(p.versions.len(), 1);
        assert_eq!(p.versions[0], s.version);
        assert_eq!(p.archs, [Arch::Arm64]);
        let v = |x: &str| x.to_string();
        let p = Plan::new(
            &s,
            &[v("v1.36.4"), v("v1.35.3"), v("v1.36.4")],
            &[v("amd64"), v("arm64"), v("amd64")],
            Fetchable::ALL.to_vec(),
        )
        .unwrap();
        assert_eq!((p.versions.len(), p.archs.len()), (2, 2));
        let items = p.items();
        assert_eq!(items.len(), 24);
        assert_eq!(
            items[0].relative(),
            "v1.36.4/bin/linux/amd64/kube-apiserver"
        );
    }

    #[test]
    fn plan_names_the_flag_of_an_invalid_value() {
        let s = settings();
        let err = Plan::new(&s, &["1.36".into()], &[], vec![]).unwrap_err();
        assert!(err.to_string().contains("--kube-version"), "{err}");
        let err = Plan::new(&s, &[], &["x86".into()], vec![]).unwrap_err();
        assert!(err.to_string().contains("--arch"), "{err}");
    }
}
