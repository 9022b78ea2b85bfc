//! `pki check` (and `doctor`): every certificate and key this node's flags use, read back:
//! identity, names, issuer, expiry, chain to `ca.crt`, key-pair match and key file modes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{
    Error, Leaf, ca_mismatch_hint, command_for, half_pair_hint, leader_leaves, node_leaves, now,
    read_error_hint, read_optional, unusable_hint,
};
use crate::node::NodeFacts;
use crate::settings::Settings;
use crate::x509::{self, CertInfo};

/// How a finding counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One file's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub path: PathBuf,
    pub text: String,
    pub hint: Option<String>,
    /// A verdict on expiry alone (`doctor` has its own line for files the flags name).
    pub expiry: bool,
}

struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, level: Level, path: &Path, text: String, hint: Option<String>) {
        self.0.push(Finding {
            level,
            path: path.to_path_buf(),
            text,
            hint,
            expiry: false,
        });
    }

    fn push_expiry(&mut self, level: Level, path: &Path, text: String, hint: Option<String>) {
        self.push(level, path, text, hint);
        if let Some(last) = self.0.last_mut() {
            last.expiry = true;
        }
    }
}

/// Whether this node is the leader (it has the CA key or an apiserver certificate).
fn is_leader(dir: &Path) -> bool {
    dir.join("ca.key").exists() || dir.join("apiserver.crt").exists()
}

/// The checks of every file this node needs: the leader's from `pki init`, or a worker's from
/// its bundle.
pub fn findings(settings: &Settings) -> Vec<Finding> {
    let dir = settings.path(&settings.cluster.pki_dir);
    let facts = NodeFacts::load(settings);
    let mut f = Findings(Vec::new());
    if let Some((what, hint)) = super::files::open_dir_mode(&dir) {
        f.push(Level::Warn, &dir, what, Some(hint));
    }
    let ca_path = dir.join("ca.crt");
    let ca = match read_optional(&ca_path) {
        Ok(Some(bytes)) => match x509::parse_cert_pem(&bytes) {
            Ok(ca) => {
                check_expiry(&mut f, &ca_path, &ca, settings, "CA");
                if !ca.is_ca {
                    f.push(
                        Level::Fail,
                        &ca_path,
                        "is not a CA certificate".into(),
                        Some(command_for(&ca_path)),
                    );
                }
                Some(ca)
            }
            Err(e) => {
                f.push(
                    Level::Fail,
                    &ca_path,
                    crate::causes::chain(&e),
                    Some(unusable_hint(&ca_path)),
                );
                None
            }
        },
        Ok(None) => {
            let key = dir.join("ca.key");
            let hint = if std::fs::symlink_metadata(&key).is_ok() {
                half_pair_hint(&key, &ca_path)
            } else {
                command_for(&ca_path)
            };
            f.push(Level::Fail, &ca_path, "is missing".into(), Some(hint));
            None
        }
        Err(e) => {
            f.push(
                Level::Fail,
                &ca_path,
                crate::causes::chain(&e),
                Some(read_error_hint(&e, &ca_path)),
            );
            None
        }
    };
    if let Some(ca) = &ca {
        check_ca_key(&mut f, &dir, &ca_path, ca);
    }
    let node_ip = facts.node_ip.as_ref().ok().map(|k| k.value);
    let leader = is_leader(&dir);
    let leaves: Vec<Leaf> = match (leader, node_ip, facts.leader.as_ref()) {
        (true, Some(ip), Ok(l)) => leader_leaves(settings, &l.value.host, ip, None),
        (false, Some(ip), _) => node_leaves(&ip.to_string()),
        (_, None, _) | (true, _, Err(_)) => {
            let why = match (&facts.node_ip, &facts.leader) {
                (Err(e), _) | (_, Err(e)) => e.to_string(),
                _ => String::new(),
            };
            f.push(
                Level::Warn,
                &dir,
                format!("names and identities not checked against this node: {why}"),
                Some("write LEADER_ENDPOINT to /etc/leader and the node's address to /etc/network-environment (or set KUBE_NODE_IP)".into()),
            );
            Vec::new()
        }
    };
    if leader {
        check_sa(&mut f, &dir);
    }
    for leaf in &leaves {
        check_leaf(&mut f, settings, &dir, leaf, ca.as_ref(), leader);
    }
    f.0
}

/// `ca.key`, when this node has it: the CA certificate's own key, and private.
fn check_ca_key(f: &mut Findings, dir: &Path, ca_path: &Path, ca: &CertInfo) {
    let key = dir.join("ca.key");
    match read_optional(&key) {
        Ok(None) => {}
        Ok(Some(k)) => {
            match super::init::ca_key_matches(ca_path, ca, &key, &String::from_utf8_lossy(&k)) {
                Ok(()) => f.push(Level::Ok, &key, "is the key of ca.crt".into(), None),
                Err(Error::CaKeyMismatch { key, cert }) => f.push(
                    Level::Fail,
                    &key,
                    format!(
                        "does not match '{}': nothing can be signed with it",
                        cert.display()
                    ),
                    Some(ca_mismatch_hint(&key, &cert)),
                ),
                Err(e) => f.push(
                    Level::Fail,
                    &key,
                    crate::causes::chain(&e),
                    Some(unusable_hint(&key)),
                ),
            }
            key_mode_ok(f, &key);
        }
        Err(e) => f.push(
            Level::Fail,
            &key,
            crate::causes::chain(&e),
            Some(read_error_hint(&e, &key)),
        ),
    }
}

fn check_expiry(f: &mut Findings, path: &Path, cert: &CertInfo, settings: &Settings, what: &str) {
    let left = cert.not_after - now();
    let until = x509::format_time(cert.not_after);
    let who = x509_identity(cert);
    if cert.not_before > now() {
        f.push_expiry(
            Level::Fail,
            path,
            format!(
                "{what} {who} is not valid before {} (check this node's clock)",
                x509::format_time(cert.not_before)
            ),
            Some(format!("{} to re-issue it", command_for(path))),
        );
    } else if left <= 0 {
        f.push_expiry(
            Level::Fail,
            path,
            format!("{what} {who} expired on {until}"),
            Some(format!("{} to re-issue it", command_for(path))),
        );
    } else if left < i64::from(settings.pki.renew_before_days) * 86_400 {
        f.push_expiry(
            Level::Warn,
            path,
            format!("{what} {who} expires on {until}, within KUBE_PKI_RENEW_BEFORE"),
            Some(format!("{} to re-issue it", command_for(path))),
        );
    } else if what == "CA" {
        f.push_expiry(
            Level::Ok,
            path,
            format!("CA {who}, valid until {until}"),
            None,
        );
    }
}

/// The subject as shown: escaped, since a certificate's names are anyone's text.
fn x509_identity(cert: &CertInfo) -> String {
    crate::shown::quote(&super::identity(
        cert.common_name.as_deref(),
        &cert.organizations,
    ))
}

fn key_mode_ok(f: &mut Findings, key: &Path) {
    if let Ok(meta) = std::fs::metadata(key) {
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            f.push(
                Level::Warn,
                key,
                format!("private key readable by group or others (mode {mode:04o})"),
                Some(format!("chmod 600 '{}'", key.display())),
            );
        }
    }
}

fn check_sa(f: &mut Findings, dir: &Path) {
    let (key, public) = (dir.join("sa.key"), dir.join("sa.pub"));
    let read = |p: &Path| read_optional(p).ok().flatten();
    match (read(&key), read(&public)) {
        (Some(k), Some(p)) => {
            let a = x509::private_key_public_half(&String::from_utf8_lossy(&k));
            let b = x509::parse_public_key_pem(&p);
            match (a, b) {
                (Ok(a), Ok(b)) if a == b => {
                    f.push(
                        Level::Ok,
                        &key,
                        "service-account key pair (sa.key, sa.pub) match".into(),
                        None,
                    );
                }
                (Ok(_), Ok(_)) => f.push(
                    Level::Fail,
                    &public,
                    "does not match sa.key: tokens the controller-manager signs would be refused"
                        .into(),
                    Some(format!(
                        "remove '{}' and run 'kube-bootstrap pki init' to derive it from sa.key",
                        public.display()
                    )),
                ),
                (Err(e), _) => f.push(
                    Level::Fail,
                    &key,
                    crate::causes::chain(&e),
                    Some(command_for(&key)),
                ),
                (_, Err(e)) => f.push(
                    Level::Fail,
                    &public,
                    crate::causes::chain(&e),
                    Some(command_for(&public)),
                ),
            }
            key_mode_ok(f, &key);
        }
        (k, _) => {
            let missing = if k.is_none() { key } else { public };
            f.push(
                Level::Fail,
                &missing,
                "is missing".into(),
                Some(command_for(&missing)),
            );
        }
    }
}

fn check_leaf(
    f: &mut Findings,
    settings: &Settings,
    dir: &Path,
    leaf: &Leaf,
    ca: Option<&CertInfo>,
    leader: bool,
) {
    let crt = dir.join(format!("{}.crt", leaf.name));
    let key = dir.join(format!("{}.key", leaf.name));
    let cert = match read_optional(&crt).map(|b| b.map(|b| x509::parse_cert_pem(&b))) {
        Ok(Some(Ok(c))) => c,
        Ok(None) => {
            f.push(
                Level::Fail,
                &crt,
                "is missing".into(),
                Some(command_for(&crt)),
            );
            return;
        }
        Ok(Some(Err(e))) => {
            f.push(
                Level::Fail,
                &crt,
                crate::causes::chain(&e),
                Some(unusable_hint(&crt)),
            );
            return;
        }
        Err(e) => {
            f.push(
                Level::Fail,
                &crt,
                crate::causes::chain(&e),
                Some(read_error_hint(&e, &crt)),
            );
            return;
        }
    };
    let before = f.0.len();
    let have = x509_identity(&cert);
    if have != leaf.identity() {
        let text = match leaf.name {
            "kubelet" => format!(
                "was made for another node name ({have}), but this node registers as {}",
                leaf.common_name.trim_start_matches("system:node:")
            ),
            _ => format!("identity {have}, the flags expect {}", leaf.identity()),
        };
        let hint = if leader {
            command_for(&crt)
        } else {
            format!(
                "on the leader, run 'kube-bootstrap pki node {} --out FILE', then 'kube-bootstrap pki install FILE' here",
                leaf.common_name.trim_start_matches("system:node:")
            )
        };
        f.push(Level::Fail, &crt, text, Some(hint));
    }
    if let Some(ca) = ca {
        if !x509::signed_by(&cert, ca) {
            f.push(
                Level::Fail,
                &crt,
                format!(
                    "is not signed by ca.crt (issuer {})",
                    crate::shown::quote(&cert.issuer)
                ),
                Some(command_for(&crt)),
            );
        }
        if cert.not_after > ca.not_after {
            f.push(
                Level::Warn,
                &crt,
                format!(
                    "outlives its CA: valid until {}, ca.crt until {}",
                    x509::format_time(cert.not_after),
                    x509::format_time(ca.not_after)
                ),
                Some(command_for(&crt)),
            );
        }
    }
    match read_optional(&key) {
        Ok(Some(k)) => {
            if !x509::key_matches(&cert, &String::from_utf8_lossy(&k)).unwrap_or(false) {
                f.push(
                    Level::Fail,
                    &key,
                    format!("does not match {}.crt", leaf.name),
                    Some(command_for(&crt)),
                );
            }
            key_mode_ok(f, &key);
        }
        Ok(None) => f.push(
            Level::Fail,
            &key,
            "is missing".into(),
            Some(command_for(&key)),
        ),
        Err(e) => f.push(
            Level::Fail,
            &key,
            crate::causes::chain(&e),
            Some(read_error_hint(&e, &key)),
        ),
    }
    if leaf.server && !cert.server_auth || !leaf.server && !cert.client_auth {
        let usage = if leaf.server {
            "serverAuth"
        } else {
            "clientAuth"
        };
        f.push(
            Level::Fail,
            &crt,
            format!("lacks the {usage} extended key usage"),
            Some(command_for(&crt)),
        );
    }
    let missing: Vec<String> = leaf
        .dns_names
        .iter()
        .filter(|d| !cert.dns_names.contains(d))
        .cloned()
        .chain(
            leaf.ip_addresses
                .iter()
                .filter(|i| !cert.ip_addresses.contains(i))
                .map(|i| i.to_string()),
        )
        .collect();
    if !missing.is_empty() {
        f.push(
            Level::Fail,
            &crt,
            format!(
                "lacks names the apiserver is reached at: {}",
                missing.join(", ")
            ),
            Some(command_for(&crt)),
        );
    }
    check_expiry(f, &crt, &cert, settings, "certificate");
    if f.0.len() == before {
        let mut names: Vec<String> = cert.dns_names.clone();
        names.extend(cert.ip_addresses.iter().map(|i| i.to_string()));
        let names = if names.is_empty() {
            String::new()
        } else {
            format!(", names {}", names.join(" "))
        };
        f.push(
            Level::Ok,
            &crt,
            format!(
                "{have}{names}, issuer {}, valid until {}, key matches",
                cert.issuer,
                x509::format_time(cert.not_after)
            ),
            None,
        );
    }
}

/// `pki check`: prints one line per finding; fails when any finding fails.
pub fn run(settings: &Settings) -> Result<(), Error> {
    let all = findings(settings);
    let mut text = String::new();
    for f in &all {
        let level = match f.level {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        // One finding, one line: a certificate's subject cannot start another.
        let one = crate::shown::one_line;
        text.push_str(&format!(
            "{level:<5} {}: {}\n",
            one(&f.path.display().to_string()),
            one(&f.text)
        ));
        if let Some(h) = &f.hint {
            text.push_str(&format!("      hint: {}\n", one(h)));
        }
    }
    print!("{text}");
    let failed = all.iter().filter(|f| f.level == Level::Fail).count();
    if failed > 0 {
        return Err(Error::CheckFailed {
            failed,
            total: all.len(),
        });
    }
    Ok(())
}
