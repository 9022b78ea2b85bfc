//! `pki check` (and `doctor`): every certificate and key this node's flags use, read back:
//! identity, names, issuer, expiry, chain to `ca.crt`, key-pair match and key file modes.

use std::net::IpAddr;
use std::path::Path;

use super::check_keys::{check_ca, check_sa};
pub use super::findings::{Finding, Level};
use super::findings::{Findings, check_expiry, file_name, key_mode_ok, x509_identity};
use super::leaves::{ETCD_DIR, Signer};
use super::{Error, Leaf, command_for, leader_leaves, node_leaves, read_optional, unusable_hint};
use crate::node::NodeFacts;
use crate::settings::Settings;
use crate::x509::{self, CertInfo};

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
    let ca = check_ca(&mut f, settings, &dir, Signer::Cluster);
    let node_ip = facts.node_ip.as_ref().ok().map(|k| k.value);
    let leader = is_leader(&dir);
    let leaves: Vec<Leaf> = match (leader, node_ip, facts.leader.as_ref()) {
        (true, Some(ip), Ok(l)) => leader_leaves(settings, &l.value.host, ip, None),
        (false, Some(ip), _) if settings.pki.join.is_some() => {
            check_joined(&mut f, settings, &dir, ca.as_ref(), ip);
            Vec::new()
        }
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
    let etcd_ca = if leader {
        check_sa(&mut f, &dir);
        if let Some((what, hint)) = super::files::open_dir_mode(&dir.join(ETCD_DIR)) {
            f.push(Level::Warn, &dir.join(ETCD_DIR), what, Some(hint));
        }
        check_ca(&mut f, settings, &dir, Signer::Etcd)
    } else {
        None
    };
    for leaf in &leaves {
        let signer = match leaf.signer {
            Signer::Cluster => ca.as_ref(),
            Signer::Etcd => etcd_ca.as_ref(),
        };
        check_leaf(&mut f, settings, &dir, leaf, signer, leader);
    }
    f.0
}

/// A worker that joined with a token: `ca.crt` is the pinned CA, and the kubelet's own pair
/// (made by its CSR, renewed by itself) is its node identity, signed by it.
fn check_joined(
    f: &mut Findings,
    settings: &Settings,
    dir: &Path,
    ca: Option<&CertInfo>,
    ip: IpAddr,
) {
    let Some(join) = &settings.pki.join else {
        return;
    };
    let ca_path = dir.join("ca.crt");
    if let Some(ca) = ca {
        let have = super::ca_cert_hash(ca);
        if have == join.ca_cert_hash {
            f.push(
                Level::Ok,
                &ca_path,
                format!("public key {have}, as KUBE_DISCOVERY_TOKEN_CA_CERT_HASH pins"),
                None,
            );
        } else {
            f.push(
                Level::Fail,
                &ca_path,
                format!("public key {have}, but KUBE_DISCOVERY_TOKEN_CA_CERT_HASH pins {}", join.ca_cert_hash),
                Some("check the hash against 'kube-bootstrap pki token' on the leader, or remove this ca.crt so 'kube-bootstrap pki join' fetches the leader's".into()),
            );
        }
    }
    let pem = settings
        .path(Path::new(crate::flags::KUBELET_CERT_DIR).join(crate::flags::KUBELET_CLIENT_CURRENT));
    let cert = match read_optional(&pem).map(|b| b.map(|b| x509::parse_cert_pem(&b))) {
        Ok(None) => {
            f.push(
                Level::Warn,
                &pem,
                "is not there yet: the kubelet has not joined".into(),
                Some("start kube-kubelet.service: it asks for its certificate with KUBE_BOOTSTRAP_TOKEN ('journalctl -u kube-kubelet' says why it cannot)".into()),
            );
            return;
        }
        Ok(Some(Ok(c))) => c,
        Ok(Some(Err(e))) => {
            f.push(
                Level::Fail,
                &pem,
                crate::causes::chain(&e),
                Some(format!(
                    "remove '{}' and restart kube-kubelet.service to join again",
                    pem.display()
                )),
            );
            return;
        }
        Err(e) => {
            f.unreadable(&pem, &e);
            return;
        }
    };
    let want = &node_leaves(&ip.to_string())[0];
    let have = x509_identity(&cert);
    let signed = ca.is_some_and(|ca| x509::signed_by(&cert, ca));
    if have != want.identity() || !signed {
        f.push(
            Level::Fail,
            &pem,
            format!(
                "identity {have}{}, the node registers as {}",
                if signed { "" } else { ", not signed by ca.crt" },
                want.identity()
            ),
            Some(format!(
                "remove '{}' and restart kube-kubelet.service to join again",
                pem.display()
            )),
        );
        return;
    }
    let before = f.0.len();
    check_expiry(f, &pem, &cert, settings, "certificate");
    if f.0.len() == before {
        f.push(
            Level::Ok,
            &pem,
            format!(
                "{have}, the kubelet's own (it joined with a token), valid until {}",
                x509::format_time(cert.not_after)
            ),
            None,
        );
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
            f.unreadable(&crt, &e);
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
    let ca_file = leaf.signer.files().0;
    if let Some(ca) = ca {
        if !x509::signed_by(&cert, ca) {
            f.push(
                Level::Fail,
                &crt,
                format!(
                    "is not signed by {ca_file} (issuer {})",
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
                    "outlives its CA: valid until {}, {ca_file} until {}",
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
                    format!("does not match {}", file_name(&crt)),
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
        Err(e) => f.unreadable(&key, &e),
    }
    if leaf.usage.server() && !cert.server_auth || leaf.usage.client() && !cert.client_auth {
        f.push(
            Level::Fail,
            &crt,
            format!("lacks the {} extended key usage", leaf.usage.as_str()),
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
                "lacks names {} is reached at: {}",
                if leaf.signer == Signer::Etcd {
                    "etcd"
                } else {
                    "the apiserver"
                },
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
