//! `kube-bootstrap pki`: the cluster's certificates and keys, with the file names the flags
//! point at. `init` makes the leader's, `node` a worker's bundle, `install` unpacks a bundle,
//! `check` reads them all back. Identities and renewal decisions are pure (`leader_leaves`,
//! `renewal`); generation is in `issue`, bundles in `bundle`, checks in `check`.
//!
//! Never on the `exec` path. Private keys are written, never printed or logged.

mod bundle;
pub mod check;
mod check_keys;
mod files;
mod findings;
mod init;
mod issue;
mod join;
mod leaves;
mod rbac;
mod renew;
mod token;

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use bundle::{install, node};
pub(crate) use files::{lock_dir, read_optional, write_file};
pub(crate) use init::ensure_ca;
pub use init::init;
pub use join::join;
pub(crate) use leaves::identity;
pub use leaves::{
    APISERVER_KUBELET_CLIENT_USER, CLUSTER_ADMINS_GROUP, ETCD_CA_CRT, Leaf, Signer, Usage,
    apiserver_names, etcd_leaves, leader_leaves, node_leaves, renewal, valid_node_name,
};
pub use rbac::{bindings, rbac};
pub use renew::{renew, restarts};
pub use token::{Token, ca_cert_hash, token};

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
/// The break-glass kubeconfig (system:masters) `pki init` writes beside it, on the leader only.
pub const SUPER_ADMIN_CONF: &str = "super-admin.conf";

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
    #[error("'{}' is not a regular file (a FIFO, a device or a directory); refusing to read it", path.display())]
    NotRegular { path: PathBuf },
    #[error("'{}' is larger than {max} bytes; refusing to read it", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("'{}' does not match '{}': its public key is not the CA certificate's", key.display(), cert.display())]
    CaKeyMismatch { key: PathBuf, cert: PathBuf },
    #[error("'{}' was written but does not read back as {expected}", path.display())]
    NotVerified { path: PathBuf, expected: String },
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
        "invalid node name '{}': expected the name the kubelet registers as (its IP address, or a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)",
        crate::shown::quote(name)
    )]
    NodeName { name: String },
    #[error("'{}' is not a kube-bootstrap bundle (a tar file made by 'kube-bootstrap pki node'): {}", path.display(), crate::shown::one_line(reason))]
    Bundle { path: PathBuf, reason: String },
    #[error("'{}' was made for node '{}', but this node registers as '{node}' ({source_of})", path.display(), crate::shown::quote(bundle))]
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
    #[error(
        "'systemctl try-restart {unit}' failed ({status}); the units before it in the order were restarted"
    )]
    Restart { unit: String, status: String },
    #[error("pki init runs on the leader; this node joins the cluster with KUBE_BOOTSTRAP_TOKEN")]
    InitOnJoinedWorker,
    #[error("pki renew runs on the leader, which holds '{}'; this node has none", ca_key.display())]
    RenewNotLeader { ca_key: PathBuf },
    #[error("cannot run 'systemctl try-restart {unit}'")]
    Systemctl {
        unit: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{source_of} holds a CA whose public key is {have}, but KUBE_DISCOVERY_TOKEN_CA_CERT_HASH pins {want}; refusing to trust it"
    )]
    CaHashMismatch {
        source_of: String,
        have: String,
        want: String,
    },
    #[error(
        "no answer from {url} within {secs} s: {}",
        crate::shown::one_line(why)
    )]
    Discovery { url: String, secs: u64, why: String },
    #[error(
        "joining with a token needs Kubernetes 1.20 or later (the TLS topology); this leader runs {version}"
    )]
    TokenNeedsTls { version: String },
    #[error("a bootstrap token with id '{id}' exists already")]
    TokenExists { id: String },
    #[error("cannot make the RBAC bindings on the apiserver")]
    Api(#[source] crate::kubeapi::Error),
    #[error(
        "'{path}' exists but says {have}, not {want}; refusing to change an object kube-bootstrap did not make as it is"
    )]
    ObjectDiffers {
        path: String,
        have: String,
        want: String,
    },
}

/// A file's name, and whether it is in `KUBE_PKI_DIR`'s `etcd` directory.
fn name_and_place(file: &Path) -> (String, bool) {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let in_etcd_dir = file
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == leaves::ETCD_DIR);
    (name, in_etcd_dir)
}

/// The cluster CA's certificate (`ca.crt` of `KUBE_PKI_DIR`): its path and PEM, or an error
/// naming it when it is missing.
pub(crate) fn read_ca(settings: &crate::settings::Settings) -> Result<(PathBuf, Vec<u8>), Error> {
    let path = settings.path(settings.cluster.pki_dir.join("ca.crt"));
    let pem = read_optional(&path)?.ok_or_else(|| Error::Io {
        action: "read",
        path: path.clone(),
        source: io::ErrorKind::NotFound.into(),
    })?;
    Ok((path, pem))
}

/// Which `kube-bootstrap pki` command makes a file of `KUBE_PKI_DIR` (for hints).
pub fn command_for(file: &Path) -> String {
    // etcd's files (`etcd/ca.crt` among them) are the leader's alone.
    let (name, in_etcd_dir) = name_and_place(file);
    match name.as_str() {
        "kubelet.crt" | "kubelet.key" | "proxy.crt" | "proxy.key" | "ca.crt" if !in_etcd_dir => {
            "run 'kube-bootstrap pki init' on the leader; on a worker, 'kube-bootstrap pki install FILE' with the bundle from 'kube-bootstrap pki node <node> --out FILE' on the leader, or join with KUBE_BOOTSTRAP_TOKEN ('kube-bootstrap pki join', run by kube-kubelet.service, fetches ca.crt; the kubelet makes its own pair)".into()
        }
        "kubelet-client-current.pem" => {
            "the kubelet makes it when it joins with KUBE_BOOTSTRAP_TOKEN: start kube-kubelet.service and see 'journalctl -u kube-kubelet'".into()
        }
        _ => "run 'kube-bootstrap pki init' on the leader".into(),
    }
}

/// How many days before its end a certificate is warned about: 30, or `KUBE_PKI_RENEW_BEFORE`
/// when that is longer (a renewal that should have happened and did not).
pub fn expiry_warn_days(settings: &crate::settings::Settings) -> u32 {
    settings.pki.renew_before_days.max(30)
}

/// What renews a certificate of `KUBE_PKI_DIR` (for warnings before it expires): nothing for a
/// CA, the renewal timer on the leader, the kubelet itself or a new bundle on a worker.
pub fn renewed_by(file: &Path) -> String {
    let (name, in_etcd_dir) = name_and_place(file);
    let dir = if in_etcd_dir {
        file.parent().and_then(Path::parent)
    } else {
        file.parent()
    };
    let leader = dir.is_some_and(|d| d.join("ca.key").exists());
    match name.as_str() {
        "ca.crt" => "nothing renews a CA: kube-bootstrap never replaces one; make a new CA and re-issue every leaf and bundle with it before this date (README: Certificates)".into(),
        "kubelet-client-current.pem" => "the kubelet renews it itself (rotateCertificates) at 70-90% of its life, through a CSR the controller-manager approves".into(),
        "kubelet.crt" if !leader => "the kubelet renews its client certificate itself (rotateCertificates) into /var/lib/kubelet/pki; this file is only its first one. A new one: on the leader, 'kube-bootstrap pki node <node> --out FILE', then 'kube-bootstrap pki install FILE' here".into(),
        "proxy.crt" if !leader => "nothing renews it on a worker: on the leader, 'kube-bootstrap pki node <node> --out FILE', then 'kube-bootstrap pki install FILE' here".into(),
        _ => "kube-bootstrap-pki-renew.timer on the leader re-issues it KUBE_PKI_RENEW_BEFORE days before its end and restarts what reads it; 'kube-bootstrap pki renew' does it now".into(),
    }
}

/// Whether a file of `KUBE_PKI_DIR` is one that is never re-made (the CA and the
/// service-account key): a broken one is restored, not replaced.
fn irreplaceable(name: &str) -> bool {
    matches!(name, "ca.crt" | "ca.key" | "sa.key" | "sa.pub")
}

/// The one way out for a file of `KUBE_PKI_DIR` that is there but unusable (not a regular
/// file, too large, garbage, truncated): shared by the errors of `pki` and by `pki check`.
pub fn unusable_hint(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if irreplaceable(&name) {
        format!(
            "restore '{}' from a backup; kube-bootstrap never replaces the cluster CA or the service-account key",
            path.display()
        )
    } else {
        format!("remove '{}', then {}", path.display(), command_for(path))
    }
}

/// The hint for a file that could not be read: permissions, or a file that is not one.
pub(crate) fn read_error_hint(e: &Error, path: &Path) -> String {
    match e {
        Error::Io { .. } => format!(
            "run as a user that can read '{}' (root), or check its permissions",
            path.display()
        ),
        _ => unusable_hint(path),
    }
}

/// The way out for one half of a pair without the other.
pub fn half_pair_hint(present: &Path, missing: &Path) -> String {
    format!(
        "restore '{}' from a backup; if nothing was ever issued with '{}' (an interrupted first 'kube-bootstrap pki init'), remove it and run 'kube-bootstrap pki init' again",
        missing.display(),
        present.display()
    )
}

/// The way out for a CA key that is not the CA certificate's.
pub fn ca_mismatch_hint(key: &Path, cert: &Path) -> String {
    format!(
        "restore the key that belongs to '{}' from a backup (compare 'openssl pkey -pubout -in {}' with 'openssl x509 -pubkey -noout -in {}'); nothing is signed until they match",
        cert.display(),
        key.display(),
        cert.display()
    )
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
    /// A unit restarted to read re-issued certificates (`pki renew`).
    Restarted,
    /// A unit `pki renew --no-restart` leaves for the operator to restart.
    WouldRestart,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Made => "made",
            Action::Kept => "kept",
            Action::Reissued => "re-issued",
            Action::KeptOperator => "kept",
            Action::Restarted => "restarted",
            Action::WouldRestart => "restart",
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
                crate::shown::one_line(&o.path.display().to_string()),
                crate::shown::one_line(&o.why)
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
        assert!(command_for(Path::new("/p/ca.crt")).contains("kube-bootstrap pki node"));
        assert!(!command_for(Path::new("/p/etcd/ca.crt")).contains("kube-bootstrap pki node"));
    }
}
