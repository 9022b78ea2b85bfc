//! `kube-bootstrap pki`: the cluster's certificates and keys, with the file names the flags
//! point at. `init` makes the leader's, `node` a worker's bundle, `install` unpacks a bundle,
//! `check` reads them all back. Identities and renewal decisions are pure (`leader_leaves`,
//! `renewal`); generation is in `issue`, bundles in `bundle`, checks in `check`.
//!
//! Never on the `exec` path. Private keys are written, never printed or logged.

mod bundle;
pub mod check;
mod issue;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use bundle::{install, node};

use crate::node::{FactError, NodeFacts};
use crate::settings::Settings;
use crate::x509::{self, CertInfo};

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
    #[error("'{}' is not a node bundle: {reason}", path.display())]
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

impl Error {
    /// A next step for the operator, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Io { source, path, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(nix::libc::EROFS)
                        | Some(nix::libc::EACCES)
                        | Some(nix::libc::EPERM)
                        | Some(nix::libc::ENOSPC)
                ) =>
            {
                Some(format!(
                    "make room in or make '{}' writable (KUBE_PKI_DIR, --root); files already there were left as they were",
                    crate::fsutil::parent(path).display()
                ))
            }
            Error::MissingFact { .. } => Some(
                "pki init puts the leader's address (LEADER_ENDPOINT in /etc/leader) and this node's address (DEFAULT_IPV4 or KUBE_NODE_IP) into the apiserver certificate".into(),
            ),
            Error::NoCaKey { .. } => Some(
                "run 'kube-bootstrap pki init' on the leader, or issue the file with the CA that made ca.crt".into(),
            ),
            Error::WrongNode { bundle, node, .. } => Some(format!(
                "on the leader, run 'kube-bootstrap pki node {node} --out FILE' and install that bundle (this one is for '{bundle}')"
            )),
            Error::CheckFailed { .. } => {
                Some("the lines marked 'fail' above say what is wrong and what to do".into())
            }
            _ => None,
        }
    }
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

/// A leaf certificate the cluster needs: `<name>.crt`/`<name>.key` with this identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// File stem in `KUBE_PKI_DIR`.
    pub name: &'static str,
    pub common_name: String,
    pub organizations: Vec<String>,
    /// serverAuth (the apiserver) or clientAuth (everything else).
    pub server: bool,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
}

impl Leaf {
    fn client(name: &'static str, cn: &str, orgs: &[&str]) -> Leaf {
        Leaf {
            name,
            common_name: cn.to_string(),
            organizations: orgs.iter().map(|o| o.to_string()).collect(),
            server: false,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
        }
    }

    /// `CN=..., O=...`.
    pub fn identity(&self) -> String {
        identity(Some(&self.common_name), &self.organizations)
    }
}

fn identity(cn: Option<&str>, orgs: &[String]) -> String {
    let mut s = format!("CN={}", cn.unwrap_or("(none)"));
    for o in orgs {
        s.push_str(&format!(", O={o}"));
    }
    s
}

/// The kubelet's and kube-proxy's client certificates for the node that registers as `node`.
pub fn node_leaves(node: &str) -> Vec<Leaf> {
    vec![
        Leaf::client("kubelet", &format!("system:node:{node}"), &["system:nodes"]),
        Leaf::client("proxy", "system:kube-proxy", &[]),
    ]
}

/// The names the apiserver is reached at, as `pki init` puts them into `apiserver.crt`.
pub fn apiserver_names(
    settings: &Settings,
    leader_host: &str,
    node_ip: IpAddr,
    hostname: Option<&str>,
) -> (Vec<String>, Vec<IpAddr>) {
    let domain = &settings.cluster.domain;
    let mut dns = vec![
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        format!("kubernetes.default.svc.{domain}"),
    ];
    let mut ips = vec![node_ip, IpAddr::from([127, 0, 0, 1])];
    if let Some(first) = settings.cluster.service_range.nth(1) {
        ips.push(first);
    }
    let mut add = |name: &str| match name.parse::<IpAddr>() {
        Ok(ip) => ips.push(ip),
        Err(_) => dns.push(name.to_ascii_lowercase()),
    };
    add(leader_host.trim_start_matches('[').trim_end_matches(']'));
    if let Some(h) = hostname.filter(|h| !h.is_empty() && *h != "localhost") {
        add(h);
    }
    for extra in &settings.pki.apiserver_sans {
        add(extra);
    }
    dns.sort();
    dns.dedup();
    ips.sort();
    ips.dedup();
    (dns, ips)
}

/// Every leaf `pki init` makes on the leader (which also runs a kubelet and kube-proxy).
pub fn leader_leaves(
    settings: &Settings,
    leader_host: &str,
    node_ip: IpAddr,
    hostname: Option<&str>,
) -> Vec<Leaf> {
    let (dns_names, ip_addresses) = apiserver_names(settings, leader_host, node_ip, hostname);
    let mut leaves = vec![
        Leaf {
            name: "apiserver",
            common_name: "kube-apiserver".into(),
            organizations: Vec::new(),
            server: true,
            dns_names,
            ip_addresses,
        },
        // system:masters may reach every kubelet API (the kubelet authorizes through the
        // apiserver, where that group holds cluster-admin).
        Leaf::client(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            &["system:masters"],
        ),
        Leaf::client("controller-manager", "system:kube-controller-manager", &[]),
        Leaf::client("scheduler", "system:kube-scheduler", &[]),
        Leaf::client("admin", "kubernetes-admin", &["system:masters"]),
    ];
    leaves.extend(node_leaves(&node_ip.to_string()));
    leaves
}

/// Why an existing leaf must be re-issued, or `None` to keep it. Pure.
pub fn renewal(
    existing: &CertInfo,
    want: &Leaf,
    signed_by_ca: bool,
    key_matches: bool,
    now: i64,
    renew_before_days: u32,
) -> Option<String> {
    if !signed_by_ca {
        return Some("not signed by ca.crt".into());
    }
    if !key_matches {
        return Some("the key file does not match the certificate".into());
    }
    let have = identity(existing.common_name.as_deref(), &existing.organizations);
    if have != want.identity() {
        return Some(format!("identity changed: {have} -> {}", want.identity()));
    }
    if existing.server_auth != want.server || existing.client_auth == want.server {
        return Some("extended key usage changed".into());
    }
    let mut have_dns = existing.dns_names.clone();
    have_dns.sort();
    have_dns.dedup();
    let mut have_ips = existing.ip_addresses.clone();
    have_ips.sort();
    have_ips.dedup();
    if have_dns != want.dns_names || have_ips != want.ip_addresses {
        let mut diff = Vec::new();
        for d in want.dns_names.iter().filter(|d| !have_dns.contains(d)) {
            diff.push(format!("adds {d}"));
        }
        for ip in want.ip_addresses.iter().filter(|i| !have_ips.contains(i)) {
            diff.push(format!("adds {ip}"));
        }
        for d in have_dns.iter().filter(|d| !want.dns_names.contains(d)) {
            diff.push(format!("drops {d}"));
        }
        for ip in have_ips.iter().filter(|i| !want.ip_addresses.contains(i)) {
            diff.push(format!("drops {ip}"));
        }
        return Some(format!("names changed: {}", diff.join(", ")));
    }
    let left = existing.not_after - now;
    if left < i64::from(renew_before_days) * 86_400 {
        return Some(format!(
            "expires {} (within KUBE_PKI_RENEW_BEFORE={renew_before_days} days)",
            x509::format_time(existing.not_after)
        ));
    }
    None
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

/// Reads a file of `KUBE_PKI_DIR`; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Writes `bytes` to `path` whole or not at all, with `mode`: a new temporary file in the same
/// directory (`O_EXCL`, `O_NOFOLLOW`), write, fsync, rename over `path`, fsync the directory.
/// On any failure the temporary file is removed and `path` is as it was.
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let dir = crate::fsutil::parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        f.write_all(bytes).map_err(io_err("write", &tmp))?;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err("set permissions on", &tmp))?;
        f.sync_all().map_err(io_err("fsync", &tmp))?;
        fs::rename(&tmp, path).map_err(io_err("rename into place", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Writes only when content or mode differ; returns whether it wrote.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, Error> {
    if let Some(existing) = read_optional(path)? {
        let current = fs::symlink_metadata(path)
            .map_err(io_err("stat", path))?
            .permissions()
            .mode()
            & 0o7777;
        if existing == bytes && current == mode {
            return Ok(false);
        }
    }
    write_file(path, bytes, mode)?;
    Ok(true)
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

fn parse_cert(path: &Path, bytes: &[u8]) -> Result<CertInfo, Error> {
    x509::parse_cert_pem(bytes).map_err(|source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// The CA that signs leaves: its certificate, and its key when this node has it.
struct Ca {
    cert_pem: String,
    info: CertInfo,
    key_pem: Option<String>,
    ours: bool,
}

/// The CA of `dir`, made first when neither `ca.crt` nor `ca.key` exists.
fn ensure_ca(
    settings: &Settings,
    dir: &Path,
    out: &mut Vec<Outcome>,
    make: bool,
) -> Result<Ca, Error> {
    let (crt, key) = (dir.join("ca.crt"), dir.join("ca.key"));
    let cert = read_optional(&crt)?;
    let key_pem = read_optional(&key)?;
    let (cert_pem, key_pem) = match (cert, key_pem) {
        (Some(c), k) => {
            out.push(Outcome {
                action: Action::Kept,
                path: crt.clone(),
                why: "the cluster CA is never replaced".into(),
            });
            if k.is_some() {
                out.push(Outcome {
                    action: Action::Kept,
                    path: key.clone(),
                    why: "the cluster CA is never replaced".into(),
                });
            }
            (
                String::from_utf8_lossy(&c).into_owned(),
                k.map(|k| String::from_utf8_lossy(&k).into_owned()),
            )
        }
        (None, Some(_)) => {
            return Err(Error::HalfPair {
                present: key,
                missing: crt,
            });
        }
        (None, None) if make => {
            let (cert_pem, key_pem) = issue::ca(settings.pki.ca_days)?;
            // The key first: a crash between the two leaves a key without a certificate,
            // which the next run refuses instead of silently making a second CA.
            write_file(&key, key_pem.as_bytes(), KEY_MODE)?;
            write_file(&crt, cert_pem.as_bytes(), CERT_MODE)?;
            for p in [&crt, &key] {
                out.push(Outcome {
                    action: Action::Made,
                    path: p.clone(),
                    why: "missing".into(),
                });
            }
            (cert_pem, Some(key_pem))
        }
        (None, None) => {
            return Err(Error::Io {
                action: "read",
                path: crt,
                source: io::ErrorKind::NotFound.into(),
            });
        }
    };
    let info = parse_cert(&crt, cert_pem.as_bytes())?;
    let ours = info.organizations.iter().any(|o| o == CA_ORGANIZATION);
    Ok(Ca {
        cert_pem,
        info,
        key_pem,
        ours,
    })
}

/// Makes or keeps `sa.key`/`sa.pub`: never replaces the key.
fn ensure_sa(dir: &Path, out: &mut Vec<Outcome>) -> Result<(), Error> {
    let (key, public) = (dir.join("sa.key"), dir.join("sa.pub"));
    match (read_optional(&key)?, read_optional(&public)?) {
        (Some(_), Some(_)) => {
            for p in [key, public] {
                out.push(Outcome {
                    action: Action::Kept,
                    path: p,
                    why: "the service-account key is never replaced".into(),
                });
            }
        }
        (Some(k), None) => {
            let spki =
                x509::private_key_public_half(&String::from_utf8_lossy(&k)).map_err(|source| {
                    Error::Unreadable {
                        path: key.clone(),
                        source,
                    }
                })?;
            write_file(&public, issue::public_key_pem(&spki).as_bytes(), CERT_MODE)?;
            out.push(Outcome {
                action: Action::Kept,
                path: key,
                why: "the service-account key is never replaced".into(),
            });
            out.push(Outcome {
                action: Action::Made,
                path: public,
                why: "missing; derived from sa.key".into(),
            });
        }
        (None, Some(_)) => {
            return Err(Error::HalfPair {
                present: public,
                missing: key,
            });
        }
        (None, None) => {
            let (private, public_pem) = issue::service_account_key()?;
            write_file(&key, private.as_bytes(), KEY_MODE)?;
            write_file(&public, public_pem.as_bytes(), CERT_MODE)?;
            for p in [key, public] {
                out.push(Outcome {
                    action: Action::Made,
                    path: p,
                    why: "missing".into(),
                });
            }
        }
    }
    Ok(())
}

/// Makes, keeps or re-issues `<leaf>.crt`/`.key` in `dir`.
fn ensure_leaf(
    settings: &Settings,
    dir: &Path,
    ca: &Ca,
    leaf: &Leaf,
    out: &mut Vec<Outcome>,
) -> Result<(), Error> {
    let crt = dir.join(format!("{}.crt", leaf.name));
    let key = dir.join(format!("{}.key", leaf.name));
    let cert = read_optional(&crt)?;
    let key_pem = read_optional(&key)?.map(|k| String::from_utf8_lossy(&k).into_owned());
    let reason = match &cert {
        None => None,
        Some(bytes) => {
            let info = parse_cert(&crt, bytes)?;
            let matches = key_pem
                .as_deref()
                .is_some_and(|k| x509::key_matches(&info, k).unwrap_or(false));
            match renewal(
                &info,
                leaf,
                x509::signed_by(&info, &ca.info),
                matches,
                now(),
                settings.pki.renew_before_days,
            ) {
                None => {
                    out.push(Outcome {
                        action: Action::Kept,
                        path: crt,
                        why: format!(
                            "{}, valid until {}",
                            leaf.identity(),
                            x509::format_time(info.not_after)
                        ),
                    });
                    return Ok(());
                }
                Some(why) if !ca.ours => {
                    out.push(Outcome {
                        action: Action::KeptOperator,
                        path: crt,
                        why: format!(
                            "the operator's certificate (its CA was not made by kube-bootstrap) is never overwritten, although: {why}"
                        ),
                    });
                    return Ok(());
                }
                Some(why) => Some(why),
            }
        }
    };
    let Some(ca_key) = &ca.key_pem else {
        return Err(Error::NoCaKey {
            file: format!("{}.crt", leaf.name),
            ca_key: dir.join("ca.key"),
        });
    };
    // A renewal keeps a key that still fits; a new certificate gets a new key.
    let reuse = match (&reason, &key_pem) {
        (Some(_), Some(k)) => issue::load_key(k).ok(),
        _ => None,
    };
    let reused = reuse.is_some();
    let (cert_pem, new_key) =
        issue::leaf(leaf, &ca.cert_pem, ca_key, reuse, settings.pki.cert_days)?;
    if let Some(k) = new_key {
        write_file(&key, k.as_bytes(), KEY_MODE)?;
    }
    write_file(&crt, cert_pem.as_bytes(), CERT_MODE)?;
    let (action, why) = match reason {
        None => (Action::Made, format!("missing; {}", leaf.identity())),
        Some(why) => (Action::Reissued, why),
    };
    out.push(Outcome {
        action,
        path: crt,
        why,
    });
    if !reused {
        out.push(Outcome {
            action: Action::Made,
            path: key,
            why: format!("new key for {}.crt", leaf.name),
        });
    }
    Ok(())
}

/// The host name, for the apiserver certificate.
fn hostname() -> Option<String> {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| crate::settings::parse::sans(h).is_some_and(|v| v.len() == 1))
}

/// `pki init`: makes whatever is missing of the leader's files, re-issues leaves that expire
/// soon or whose names changed, and writes the admin kubeconfig.
pub fn init(settings: &Settings) -> Result<Vec<Outcome>, Error> {
    let facts = NodeFacts::load(settings);
    let leader = facts.leader.map_err(|source| Error::MissingFact {
        command: "init",
        source,
    })?;
    let node_ip = facts.node_ip.map_err(|source| Error::MissingFact {
        command: "init",
        source,
    })?;
    let dir = settings.path(&settings.cluster.pki_dir);
    create_dir(&dir)?;
    let mut out = Vec::new();
    let ca = ensure_ca(settings, &dir, &mut out, true)?;
    ensure_sa(&dir, &mut out)?;
    let host = hostname();
    for leaf in leader_leaves(settings, &leader.value.host, node_ip.value, host.as_deref()) {
        ensure_leaf(settings, &dir, &ca, &leaf, &mut out)?;
    }
    let conf = settings.path(settings.cluster.config_dir.join(ADMIN_CONF));
    let port = settings.cluster.apiserver_port.unwrap_or(6443);
    let text = crate::flags::kubeconfig(
        "kubernetes-admin",
        &format!("https://127.0.0.1:{port}"),
        Some(&dir.join("ca.crt")),
        Some(crate::flags::ClientCert {
            cert: &dir.join("admin.crt"),
            key: &dir.join("admin.key"),
        }),
    );
    create_dir(crate::fsutil::parent(&conf))?;
    let wrote = write_if_changed(&conf, crate::flags::render(&text).as_bytes(), KEY_MODE)?;
    out.push(Outcome {
        action: if wrote { Action::Made } else { Action::Kept },
        path: conf,
        why: "kubectl on the leader: KUBECONFIG=<this file>".into(),
    });
    for o in &out {
        tracing::debug!(path = %o.path.display(), action = o.action.as_str(), why = %o.why, "pki");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(leaf: &Leaf, not_after: i64) -> CertInfo {
        CertInfo {
            der: Vec::new(),
            subject: String::new(),
            issuer: String::new(),
            common_name: Some(leaf.common_name.clone()),
            organizations: leaf.organizations.clone(),
            dns_names: leaf.dns_names.clone(),
            ip_addresses: leaf.ip_addresses.clone(),
            is_ca: false,
            key_cert_sign: false,
            digital_signature: true,
            server_auth: leaf.server,
            client_auth: !leaf.server,
            not_before: 0,
            not_after,
            public_key: Vec::new(),
        }
    }

    fn apiserver(ips: &[&str]) -> Leaf {
        Leaf {
            name: "apiserver",
            common_name: "kube-apiserver".into(),
            organizations: vec![],
            server: true,
            dns_names: vec!["kubernetes".into()],
            ip_addresses: ips.iter().map(|i| i.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn renewal_keeps_fitting_leaves_and_says_why_it_reissues() {
        let day = 86_400;
        let want = apiserver(&["10.0.0.1", "127.0.0.1"]);
        let fresh = info(&want, 100 * day);
        assert_eq!(renewal(&fresh, &want, true, true, 0, 30), None);
        let soon = info(&want, 10 * day);
        assert!(
            renewal(&soon, &want, true, true, 0, 30)
                .unwrap()
                .contains("within KUBE_PKI_RENEW_BEFORE=30 days")
        );
        let moved = apiserver(&["10.0.0.2", "127.0.0.1"]);
        assert_eq!(
            renewal(&fresh, &moved, true, true, 0, 30).unwrap(),
            "names changed: adds 10.0.0.2, drops 10.0.0.1"
        );
        assert_eq!(
            renewal(&fresh, &want, false, true, 0, 30).unwrap(),
            "not signed by ca.crt"
        );
        assert!(
            renewal(&fresh, &want, true, false, 0, 30)
                .unwrap()
                .contains("key file")
        );
        let node = &node_leaves("10.0.0.5")[0];
        let other = &node_leaves("10.0.0.6")[0];
        assert!(
            renewal(&info(node, 100 * day), other, true, true, 0, 30)
                .unwrap()
                .starts_with("identity changed")
        );
    }

    #[test]
    fn node_identities_are_what_the_node_authorizer_expects() {
        let leaves = node_leaves("10.0.0.5");
        assert_eq!(
            leaves[0].identity(),
            "CN=system:node:10.0.0.5, O=system:nodes"
        );
        assert_eq!(leaves[1].identity(), "CN=system:kube-proxy");
    }

    #[test]
    fn hints_name_the_pki_command() {
        assert!(command_for(Path::new("/p/apiserver.crt")).contains("kube-bootstrap pki init"));
        assert!(command_for(Path::new("/p/kubelet.key")).contains("kube-bootstrap pki node"));
    }
}
