//! `kube-bootstrap pki`: the cluster's certificates and keys, with the file names the flags
//! point at. `init` makes the leader's, `node` a worker's bundle, `install` unpacks a bundle,
//! `check` reads them all back. Identities and renewal decisions are pure (`leader_leaves`,
//! `renewal`); generation is in `issue`, bundles in `bundle`, checks in `check`.
//!
//! Never on the `exec` path. Private keys are written, never printed or logged.

mod bundle;
pub mod check;
mod files;
mod init;
mod issue;
mod leaves;

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use bundle::{install, node};
pub(crate) use files::{read_optional, write_file, write_if_changed};
pub(crate) use init::ensure_ca;
pub use init::init;
pub(crate) use leaves::identity;
pub use leaves::{Leaf, apiserver_names, leader_leaves, node_leaves, renewal};

use crate::node::FactError;
use crate::x509;

/// Mode of private keys and of files that name them.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificates and public keys.
pub const CERT_MODE: u32 = 0o644;
/// The organization in the subject of a CA made by kube-bootstrap: leaves signed by any other
/// CA are the operator's and are never re-issued.
pub const CA_ORGANIZATION: &str = "kube-bootstrap";
/// The admin kubeconfig `pki init` writes into `KUBE_CONFIG_DIR`.
pub const ADMIN_CONF: &str = "admin.conf";

/// Why a `pki` command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {action} '{}'", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read '{}'", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: x509::Error,
    },
    #[error("pki {command} needs {}", source.wanted())]
    MissingFact {
        command: &'static str,
        #[source]
        source: FactError,
    },
    #[error("cannot generate {what}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot generate the service-account key")]
    Rsa(#[source] rsa::Error),
    #[error("cannot issue {file}: the CA key '{}' is missing", ca_key.display())]
    NoCaKey { file: String, ca_key: PathBuf },
    #[error("'{}' exists without '{}'; refusing to replace it", present.display(), missing.display())]
    HalfPair { present: PathBuf, missing: PathBuf },
    #[error(
        "invalid node name '{name}': expected the name the kubelet registers as (its IPv4 address with this topology, or a DNS name)"
    )]
    NodeName { name: String },
    #[error("'{}' is not a kube-bootstrap bundle (a tar file made by 'kube-bootstrap pki node'): {reason}", path.display())]
    Bundle { path: PathBuf, reason: String },
    #[error("'{}' was made for node '{bundle}', but this node registers as '{node}' ({source_of})", path.display())]
    WrongNode {
        path: PathBuf,
        bundle: String,
        node: String,
        source_of: String,
    },
    #[error("'{}' holds a different ca.crt than this node's '{}', and this node has the CA key; refusing to replace the cluster CA", bundle.display(), ca.display())]
    ForeignCa { bundle: PathBuf, ca: PathBuf },
    #[error("{failed} of {total} certificate checks failed")]
    CheckFailed { failed: usize, total: usize },
}

/// Which `kube-bootstrap pki` command makes a file of `KUBE_PKI_DIR` (for hints).
pub fn command_for(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "kubelet.crt" | "kubelet.key" | "proxy.crt" | "proxy.key" | "ca.crt" => {
            "run 'kube-bootstrap pki init' on the leader; on a worker, 'kube-bootstrap pki install FILE' with the bundle from 'kube-bootstrap pki node <node> --out FILE' on the leader".into()
        }
        _ => "run 'kube-bootstrap pki init' on the leader".into(),
    }
}

/// What `pki init` or `pki install` did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub action: Action,
    pub path: PathBuf,
    pub why: String,
}

/// Made, kept or re-issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Made,
    Kept,
    Reissued,
    /// Kept although it would be re-issued, because it is the operator's.
    KeptOperator,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Made => "made",
            Action::Kept => "kept",
            Action::Reissued => "re-issued",
            Action::KeptOperator => "kept",
        }
    }
}

/// One line per file: `made      /etc/kubernetes/pki/ca.crt  (missing)`.
pub fn render(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| {
            format!(
                "{:<10}{}  ({})\n",
                o.action.as_str(),
                o.path.display(),
                o.why
            )
        })
        .collect()
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_pki_command() {
        assert!(command_for(Path::new("/p/apiserver.crt")).contains("kube-bootstrap pki init"));
        assert!(command_for(Path::new("/p/kubelet.key")).contains("kube-bootstrap pki node"));
    }
}
