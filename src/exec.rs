//! `kube-bootstrap exec`: compute the argv, refresh the component's config files, verify the
//! installed binary against its record, then execve() it so systemd supervises the component
//! itself. No async runtime and no network on this path.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use std::path::PathBuf;

use crate::component::Component;
use crate::fetch;
use crate::flags;
use crate::fsutil;
use crate::plan::{plan, write_files};
use crate::settings::Settings;

/// Why a component was not started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Flags(#[from] flags::Error),

    #[error(transparent)]
    Io(#[from] fsutil::Error),

    #[error("refusing to run '{}': {reason}", path.display())]
    BinaryRefused {
        component: &'static str,
        path: PathBuf,
        reason: String,
        /// The install record is there but could not be read (not "missing"): the hint is
        /// about the record, not about fetching.
        bad_record: Option<PathBuf>,
    },

    #[error(
        "files the {component} flags point at are missing or unusable:{}",
        MissingList(missing)
    )]
    MissingFiles {
        component: &'static str,
        /// The flag, the file and what is wrong with it.
        missing: Vec<(String, PathBuf, String)>,
    },

    #[error("cannot execute '{}'", path.display())]
    Exec {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

struct MissingList<'a>(&'a [(String, PathBuf, String)]);

impl std::fmt::Display for MissingList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (flag, path, why) in self.0 {
            write!(f, "\n  - '{}' ({flag}): {why}", path.display())?;
        }
        Ok(())
    }
}

/// Runs `exec`: never returns on success.
pub fn run(
    settings: &Settings,
    component: Component,
    cli_extra: &[String],
) -> Result<Infallible, Error> {
    let plan = plan(settings, component, cli_extra)?;
    // The binary is opened once: verified through this descriptor and executed from it, so a
    // concurrent fetch that renames another release into place cannot slip in between.
    let installed =
        fetch::open_verified(settings, component).map_err(|stale| Error::BinaryRefused {
            component: component.name(),
            path: plan.binary.clone(),
            reason: stale.to_string(),
            bad_record: match &stale {
                fetch::Stale::BadRecord { path, .. } => Some(PathBuf::from(path)),
                _ => None,
            },
        })?;
    let record = &installed.record;
    let missing: Vec<_> = plan
        .missing_files()
        .into_iter()
        .map(|(r, why)| (r.flag.clone(), r.path.clone(), why))
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingFiles {
            component: component.name(),
            missing,
        });
    }
    write_files(&plan)?;
    if component == Component::Kubelet {
        use crate::cgroup::Problem;
        // The kubelet decides (an extra argument may allow it); say why it is about to exit, or
        // that it runs on a hierarchy it deprecates.
        match crate::cgroup::kubelet_problem_here(settings, flags::rules_minor(&settings.version)) {
            Some(Problem::Refused { finding, hint }) => {
                tracing::error!(component = %component, hint = %hint, "{finding}");
            }
            Some(Problem::Deprecated { finding, hint }) => {
                tracing::warn!(component = %component, hint = %hint, "{finding}");
            }
            None => {}
        }
    }
    let argv = plan.argv();
    tracing::info!(
        component = %component,
        version = %record.version,
        sha256 = %record.sha256,
        command = %argv.join(" "),
        "starting"
    );
    // The verified descriptor, never a PATH search: a file the kernel cannot load
    // must fail, never be run by /bin/sh.
    let invalid = || Error::Exec {
        path: plan.binary.clone(),
        source: std::io::ErrorKind::InvalidInput.into(),
    };
    let args = argv
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| invalid()))
        .collect::<Result<Vec<_>, _>>()?;
    let env = environment();
    // fexecve is execveat(fd, "", AT_EMPTY_PATH) in the C library (with a /proc fallback).
    let Err(errno) = nix::unistd::fexecve(&installed.file, &args, &env);
    Err(Error::Exec {
        path: plan.binary,
        source: errno.into(),
    })
}

/// This process's environment, passed on unchanged (settings are never written into it).
fn environment() -> Vec<CString> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            // A variable the kernel gave us cannot contain NUL.
            CString::new(kv).ok()
        })
        .collect()
}
