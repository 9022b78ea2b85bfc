//! `pki init`: the cluster CA, the service-account key pair and the leader's leaves, made when
//! missing and re-issued when they expire soon or their names changed; never the CA or `sa.key`.

use std::io;
use std::path::Path;

use super::files::{
    create_dir, parse_cert, read_optional, verify_pair, write_file, write_if_changed,
};
use super::leaves::{ETCD_DIR, Signer};
use super::{
    ADMIN_CONF, Action, CA_ORGANIZATION, CERT_MODE, Error, KEY_MODE, Leaf, Outcome,
    SUPER_ADMIN_CONF, issue, leader_leaves, now, renewal,
};
use crate::node::NodeFacts;
use crate::settings::Settings;
use crate::x509::{self, CertInfo};

/// The CA that signs leaves: its certificate, and its key when this node has it.
pub(crate) struct Ca {
    pub(crate) cert_pem: String,
    pub(crate) info: CertInfo,
    pub(crate) key_pem: Option<String>,
    pub(crate) ours: bool,
}

/// The cluster CA of `dir`, made first when neither `ca.crt` nor `ca.key` exists.
pub(crate) fn ensure_ca(
    settings: &Settings,
    dir: &Path,
    out: &mut Vec<Outcome>,
    make: bool,
) -> Result<Ca, Error> {
    ensure_ca_of(settings, dir, Signer::Cluster, out, make)
}

/// The CA `signer` of `dir` (the cluster's or etcd's), made first when neither of its files
/// exists.
fn ensure_ca_of(
    settings: &Settings,
    dir: &Path,
    signer: Signer,
    out: &mut Vec<Outcome>,
    make: bool,
) -> Result<Ca, Error> {
    let (crt, key) = (dir.join(signer.files().0), dir.join(signer.files().1));
    let cert = read_optional(&crt)?;
    let key_pem = read_optional(&key)?;
    let (cert_pem, key_pem) = match (cert, key_pem) {
        (Some(c), k) => {
            out.push(Outcome {
                action: Action::Kept,
                path: crt.clone(),
                why: format!("the {} is never replaced", ca_name(signer)),
            });
            if k.is_some() {
                out.push(Outcome {
                    action: Action::Kept,
                    path: key.clone(),
                    why: format!("the {} is never replaced", ca_name(signer)),
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
            let (cert_pem, key_pem) = issue::ca(signer.common_name(), settings.pki.ca_days)?;
            // The key first: a crash between the two leaves a key without a certificate,
            // which the next run refuses instead of silently making a second CA.
            write_file(&key, key_pem.as_bytes(), KEY_MODE)?;
            write_file(&crt, cert_pem.as_bytes(), CERT_MODE)?;
            verify_pair(&crt, &key, None)?;
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
    // Nothing is signed with a key that is not ca.crt's: leaves it signed would be refused by
    // every component, and re-issued on every run.
    if let Some(k) = &key_pem {
        ca_key_matches(&crt, &info, &key, k)?;
    }
    let ours = info.organizations.iter().any(|o| o == CA_ORGANIZATION);
    Ok(Ca {
        cert_pem,
        info,
        key_pem,
        ours,
    })
}

fn ca_name(signer: Signer) -> &'static str {
    match signer {
        Signer::Cluster => "cluster CA",
        Signer::Etcd => "etcd CA",
    }
}

/// Whether `key` (the text of `key_path`) is the private half of the CA certificate `info`.
pub(crate) fn ca_key_matches(
    crt: &Path,
    info: &CertInfo,
    key_path: &Path,
    key: &str,
) -> Result<(), Error> {
    match x509::key_matches(info, key) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::CaKeyMismatch {
            key: key_path.to_path_buf(),
            cert: crt.to_path_buf(),
        }),
        Err(source) => Err(Error::Unreadable {
            path: key_path.to_path_buf(),
            source,
        }),
    }
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

/// What `pki init` does with one leaf, decided from what is on disk before anything is written.
enum LeafPlan<'ca> {
    /// Kept as it is (the outcome says why).
    Keep(Outcome),
    /// Issued with `ca_key`: made when `reason` is None, re-issued for `reason` otherwise; the
    /// leaf's current key, when there is one.
    Issue {
        reason: Option<String>,
        key_pem: Option<String>,
        ca_key: &'ca str,
    },
}

/// Decides whether `<leaf>.crt`/`.key` in `dir` is kept, made or re-issued.
fn plan_leaf<'ca>(
    settings: &Settings,
    dir: &Path,
    ca: &'ca Ca,
    leaf: &Leaf,
) -> Result<LeafPlan<'ca>, Error> {
    let crt = dir.join(format!("{}.crt", leaf.name));
    let key = dir.join(format!("{}.key", leaf.name));
    let cert = read_optional(&crt)?;
    let key_pem = read_optional(&key)?.map(|k| String::from_utf8_lossy(&k).into_owned());
    let reason = match &cert {
        None => None,
        // A leaf is derived data: one that does not parse (truncated, garbage) is made again
        // with the CA that made it, never left for `pki check` to report for ever.
        Some(bytes) if ca.ours && x509::parse_cert_pem(bytes).is_err() => {
            let why = x509::parse_cert_pem(bytes)
                .err()
                .map(|e| crate::causes::chain(&e))
                .unwrap_or_default();
            Some(format!("unreadable: {why}"))
        }
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
                ca.info.not_after,
            ) {
                None => {
                    return Ok(LeafPlan::Keep(Outcome {
                        action: Action::Kept,
                        path: crt,
                        why: format!(
                            "{}, valid until {}",
                            leaf.identity(),
                            x509::format_time(info.not_after)
                        ),
                    }));
                }
                Some(why) if !ca.ours => {
                    return Ok(LeafPlan::Keep(Outcome {
                        action: Action::KeptOperator,
                        path: crt,
                        why: format!(
                            "the operator's certificate (its CA was not made by kube-bootstrap) is never overwritten, although: {why}"
                        ),
                    }));
                }
                Some(why) => Some(why),
            }
        }
    };
    match &ca.key_pem {
        Some(ca_key) => Ok(LeafPlan::Issue {
            reason,
            key_pem,
            ca_key,
        }),
        None => Err(Error::NoCaKey {
            file: format!("{}.crt", leaf.name),
            ca_key: dir.join(leaf.signer.files().1),
        }),
    }
}

/// Makes, keeps or re-issues `<leaf>.crt`/`.key` in `dir`; whether it wrote a new certificate.
fn ensure_leaf(
    settings: &Settings,
    dir: &Path,
    ca: &Ca,
    leaf: &Leaf,
    out: &mut Vec<Outcome>,
) -> Result<bool, Error> {
    let (reason, key_pem, ca_key) = match plan_leaf(settings, dir, ca, leaf)? {
        LeafPlan::Keep(kept) => {
            out.push(kept);
            return Ok(false);
        }
        LeafPlan::Issue {
            reason,
            key_pem,
            ca_key,
        } => (reason, key_pem, ca_key),
    };
    let crt = dir.join(format!("{}.crt", leaf.name));
    let key = dir.join(format!("{}.key", leaf.name));
    // A renewal keeps a key that still fits; a new certificate gets a new key.
    let reuse = match (&reason, &key_pem) {
        (Some(_), Some(k)) => issue::load_key(k).ok(),
        _ => None,
    };
    let reused = reuse.is_some();
    let (cert_pem, new_key) = issue::leaf(
        leaf,
        &ca.cert_pem,
        ca_key,
        reuse,
        settings.pki.cert_days,
        ca.info.not_after,
    )?;
    // Both written before either is renamed: a full disk leaves the old pair, never a new key
    // beside the old certificate.
    let mut staged = Vec::new();
    if let Some(k) = new_key {
        staged.push(super::files::stage(&key, k.as_bytes(), KEY_MODE)?);
    }
    staged.push(super::files::stage(&crt, cert_pem.as_bytes(), CERT_MODE)?);
    super::files::commit(staged)?;
    verify_pair(&crt, &key, Some(&ca.info))?;
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
    Ok(true)
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
    // A worker joining with a token has the cluster's ca.crt and must never start a CA, a
    // service-account key or etcd's files of its own.
    if settings.pki.join.is_some() {
        return Err(Error::InitOnJoinedWorker);
    }
    init_leaves(settings).map(|(out, _)| out)
}

/// `pki init`, and the leaves whose certificate it wrote (made or re-issued).
pub(crate) fn init_leaves(settings: &Settings) -> Result<(Vec<Outcome>, Vec<&'static str>), Error> {
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
    super::files::create_private_dir(&dir)?;
    // Everything below is decided from what is on disk once the lock is held: a concurrent
    // first run makes the CA, this one keeps it.
    let _lock = super::lock_dir(&dir)?;
    let mut out = Vec::new();
    let ca = ensure_ca(settings, &dir, &mut out, true)?;
    let host = hostname();
    let leaves = leader_leaves(settings, &leader.value.host, node_ip.value, host.as_deref());
    // Without the cluster CA's key (a worker given a bundle, or a leader whose CA the operator
    // keeps elsewhere), a leaf it would have to sign is refused before anything is written:
    // never a service-account key or an etcd CA beside a cluster this node cannot issue for.
    if ca.key_pem.is_none() {
        for leaf in leaves.iter().filter(|l| l.signer == Signer::Cluster) {
            plan_leaf(settings, &dir, &ca, leaf)?;
        }
    }
    ensure_sa(&dir, &mut out)?;
    super::files::create_private_dir(&dir.join(ETCD_DIR))?;
    let etcd_ca = ensure_ca_of(settings, &dir, Signer::Etcd, &mut out, true)?;
    let mut written = Vec::new();
    for leaf in leaves {
        let signer = match leaf.signer {
            Signer::Cluster => &ca,
            Signer::Etcd => &etcd_ca,
        };
        if ensure_leaf(settings, &dir, signer, &leaf, &mut out)? {
            written.push(leaf.name);
        }
    }
    let port = settings.cluster.apiserver_port.unwrap_or(6443);
    for (file, user, pair, why) in [
        (
            ADMIN_CONF,
            "kubernetes-admin",
            "admin",
            "kubectl on the leader: KUBECONFIG=<this file> (cluster-admin through 'kube-bootstrap pki rbac')",
        ),
        (
            SUPER_ADMIN_CONF,
            "kubernetes-super-admin",
            "super-admin",
            "break-glass (system:masters, which RBAC cannot restrict): keep it on the leader",
        ),
    ] {
        let conf = settings.path(settings.cluster.config_dir.join(file));
        let text = crate::flags::kubeconfig(
            user,
            &format!("https://127.0.0.1:{port}"),
            Some(&dir.join("ca.crt")),
            Some(crate::flags::ClientCert {
                cert: &dir.join(format!("{pair}.crt")),
                key: &dir.join(format!("{pair}.key")),
            }),
        );
        create_dir(crate::fsutil::parent(&conf))?;
        let wrote = write_if_changed(&conf, crate::flags::render(&text).as_bytes(), KEY_MODE)?;
        out.push(Outcome {
            action: if wrote { Action::Made } else { Action::Kept },
            path: conf,
            why: why.into(),
        });
    }
    for o in &out {
        tracing::debug!(path = %o.path.display(), action = o.action.as_str(), why = %o.why, "pki");
    }
    Ok((out, written))
}
