//! Typed errors, their exit codes and hints, and the `error: ... / caused by: ...` report.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::fetch::MirrorFailure;
use crate::settings::Origin;

/// Exit code for runtime failures.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for usage and configuration errors (same as clap's).
pub const EXIT_USAGE: u8 = 2;

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {var}='{value}' (from {origin}): expected {expected}")]
    InvalidSetting {
        var: String,
        value: String,
        origin: Origin,
        expected: String,
    },

    #[error("cannot read config file '{}'", path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The config file is not a file systemd's `EnvironmentFile=` reads as meant.
    #[error(transparent)]
    ConfigParse(crate::envfile::Error),

    #[error("cannot read CA bundle '{}' ({var})", path.display())]
    CaFile {
        var: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot use CA bundle '{}' ({var})", path.display())]
    CaBundle {
        var: &'static str,
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },

    #[error("cannot set up the HTTP client")]
    HttpClient(#[source] reqwest::Error),

    #[error("cannot {action} '{}'", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "cannot fetch {binary} {version} from any mirror:{}",
        MirrorList(failures)
    )]
    AllMirrorsFailed {
        binary: &'static str,
        version: String,
        failures: Vec<MirrorFailure>,
    },

    #[error("fetch of {binary} did not finish within {secs}s ({var})")]
    Deadline {
        binary: &'static str,
        secs: u64,
        var: &'static str,
    },

    #[error("{flag} needs {}", source.wanted())]
    MissingFact {
        flag: String,
        #[source]
        source: crate::node::FactError,
    },

    #[error(
        "Kubernetes {version} (from {origin}) is older than 1.0, which kube-bootstrap does not support"
    )]
    UnsupportedVersion { version: String, origin: Origin },

    #[error("refusing to run '{}': {reason}", path.display())]
    BinaryRefused {
        component: &'static str,
        path: PathBuf,
        reason: String,
    },

    #[error("{component} is not installed as configured: {reason}")]
    NotInstalled {
        component: &'static str,
        reason: String,
    },

    #[error(
        "files the {component} flags point at are missing:{}",
        MissingList(missing)
    )]
    MissingFiles {
        component: &'static str,
        missing: Vec<(String, PathBuf)>,
    },

    #[error("cannot execute '{}'", path.display())]
    Exec {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot discover the node's addresses from the kernel")]
    Discovery(#[source] crate::netenv::DiscoveryError),

    #[error("{failed} of {total} doctor checks failed")]
    ChecksFailed { failed: usize, total: usize },

    #[error(transparent)]
    Pki(#[from] crate::pki::Error),

    #[error("{} of {} fetches failed", failed.len(), total)]
    Several { failed: Vec<Error>, total: usize },
}

struct MissingList<'a>(&'a [(String, PathBuf)]);

impl fmt::Display for MissingList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (flag, path) in self.0 {
            write!(f, "\n  - '{}' ({flag})", path.display())?;
        }
        Ok(())
    }
}

struct MirrorList<'a>(&'a [MirrorFailure]);

impl fmt::Display for MirrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in self.0 {
            let attempts = match failure.attempts {
                1 => String::new(),
                n => format!(" (after {n} requests)"),
            };
            write!(
                f,
                "\n  - {}{attempts}: {}",
                failure.mirror,
                chain(&failure.reason)
            )?;
        }
        Ok(())
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidSetting { .. }
            | Error::ConfigRead { .. }
            | Error::ConfigParse(_)
            | Error::MissingFact { .. }
            | Error::UnsupportedVersion { .. }
            | Error::Pki(
                crate::pki::Error::MissingFact { .. } | crate::pki::Error::NodeName { .. },
            ) => EXIT_USAGE,
            Error::Several { failed, .. } => failed
                .iter()
                .map(Error::exit_code)
                .max()
                .unwrap_or(EXIT_FAILURE),
            _ => EXIT_FAILURE,
        }
    }

    /// A next step for the operator, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Io { source, path, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(nix::libc::EROFS) | Some(nix::libc::EACCES) | Some(nix::libc::EPERM)
                ) =>
            {
                let dir = path.parent().unwrap_or(path);
                Some(format!(
                    "make '{}' writable, or choose another directory (KUBE_BIN_DIR, --root)",
                    dir.display()
                ))
            }
            Error::AllMirrorsFailed { failures, .. } => {
                failures.iter().find_map(|f| f.reason.hint())
            }
            Error::Deadline { .. } => Some(
                "raise KUBE_FETCH_DEADLINE, or add a closer mirror to KUBE_MIRRORS".to_string(),
            ),
            Error::Several { failed, .. } => failed.iter().find_map(Error::hint),
            Error::MissingFact { source, .. } => Some(match source {
                crate::node::FactError::Unreadable { path, var, .. } | crate::node::FactError::Unset { path, var }
                    if *var == crate::node::LEADER_ENDPOINT =>
                {
                    format!("write LEADER_ENDPOINT=<apiserver host> to '{}' (or point KUBE_LEADER_FILE elsewhere)", path.display())
                }
                crate::node::FactError::Invalid { path, var, .. } if *var == crate::node::LEADER_ENDPOINT => {
                    format!("fix LEADER_ENDPOINT in '{}'", path.display())
                }
                crate::node::FactError::Undiscovered { path, .. } => format!(
                    "give the node a default route, write DEFAULT_IPV4=<address> to '{}', or set KUBE_NODE_IP",
                    path.display()
                ),
                _ => "run 'kube-bootstrap network-env --output /etc/network-environment' (or setup-network-environment) so that it writes DEFAULT_IPV4, or set KUBE_NODE_IP".to_string(),
            }),
            Error::Discovery(crate::netenv::DiscoveryError::NoDefaultRoute { .. }) => Some(
                "add a default route (ip route add default via <gateway>), or set KUBE_NODE_IP instead of writing the file".to_string(),
            ),
            Error::ChecksFailed { .. } => Some(
                "the lines marked 'fail' above say what is wrong and what to do".to_string(),
            ),
            Error::BinaryRefused { component, .. } | Error::NotInstalled { component, .. } => {
                Some(format!("run 'kube-bootstrap fetch {component}' first"))
            }
            Error::MissingFiles { missing, .. } => Some(format!(
                "{}; 'kube-bootstrap flags --explain' shows which flag needs which file",
                missing
                    .first()
                    .map_or_else(|| "run 'kube-bootstrap pki init' on the leader".into(), |(_, p)| crate::pki::command_for(p))
            )),
            Error::Pki(e) => e.hint(),
            _ => None,
        }
    }
}

/// Renders an error the way the program prints it: `error: ...`, every cause, then a hint.
pub fn report(err: &Error) -> String {
    let mut out = String::new();
    let errors: Vec<&Error> = match err {
        Error::Several { failed, .. } => failed.iter().collect(),
        one => vec![one],
    };
    for e in errors {
        out.push_str(&format!("error: {e}\n"));
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            out.push_str(&format!("  caused by: {cause}\n"));
            source = cause.source();
        }
    }
    if let Error::Several { .. } = err {
        out.push_str(&format!("error: {err}\n"));
    }
    if let Some(hint) = err.hint() {
        out.push_str(&format!("hint: {hint}\n"));
    }
    out
}

/// Joins an error and its sources into one line, for per-mirror reasons and log fields.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // reqwest and hyper often repeat the inner message in the outer one.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_prints_every_cause_and_a_hint() {
        let err = Error::Io {
            action: "create",
            path: PathBuf::from("/opt/bin/.kubelet.partial"),
            source: io::Error::from_raw_os_error(nix::libc::EROFS),
        };
        let text = report(&err);
        assert!(
            text.starts_with("error: cannot create '/opt/bin/.kubelet.partial'\n"),
            "{text}"
        );
        assert!(
            text.contains("  caused by: Read-only file system"),
            "{text}"
        );
        assert!(text.contains("hint: make '/opt/bin' writable"), "{text}");
        assert_eq!(err.exit_code(), EXIT_FAILURE);
    }

    #[test]
    fn settings_errors_are_usage_errors() {
        let err = Error::InvalidSetting {
            var: "KUBE_VERSION".into(),
            value: "1.36".into(),
            origin: Origin::Env,
            expected: "a release".into(),
        };
        assert_eq!(err.exit_code(), EXIT_USAGE);
        assert_eq!(
            err.to_string(),
            "invalid KUBE_VERSION='1.36' (from the environment): expected a release"
        );
    }
}
