//! `pki join` on a worker joining with a token (kube-kubelet.service's first step): the
//! cluster CA, read without credentials from the leader's `kube-public` and trusted only when
//! its public key has the hash pinned in `KUBE_DISCOVERY_TOKEN_CA_CERT_HASH`, written as
//! `ca.crt`. Nothing is sent to the leader before that check, and no private key moves: the
//! kubelet makes its own and asks for its certificate with the bootstrap token (TLS bootstrap).

use std::path::Path;
use std::time::{Duration, Instant};

use super::rbac::{CLUSTER_INFO, CLUSTER_INFO_NAMESPACE};
use super::token::ca_cert_hash;
use super::{Action, CERT_MODE, Error, Outcome};
use crate::kubeapi::Client;
use crate::kubeapi::objects::ConfigMap;
use crate::node::NodeFacts;
use crate::settings::Settings;
use crate::x509;

/// `pki join`: nothing without `KUBE_BOOTSTRAP_TOKEN` (the leader, or a worker with a bundle);
/// a `ca.crt` in place is checked against the pinned hash; else the CA is discovered, waiting at
/// most `wait` for the leader to answer.
pub fn join(settings: &Settings, wait: Duration) -> Result<Vec<Outcome>, Error> {
    let Some(join) = &settings.pki.join else {
        tracing::info!(
            "nothing to join with: no KUBE_BOOTSTRAP_TOKEN (this is the leader, or a worker whose pairs came in a bundle)"
        );
        return Ok(Vec::new());
    };
    let dir = settings.path(&settings.cluster.pki_dir);
    let path = dir.join("ca.crt");
    if let Some(kept) = kept_if_pinned(&path, &join.ca_cert_hash)? {
        return Ok(vec![kept]);
    }
    let facts = NodeFacts::load(settings);
    let leader = facts.leader.map_err(|source| Error::MissingFact {
        command: "join",
        source,
    })?;
    let base = crate::flags::node_apiserver_url(settings, &leader.value);
    let client = Client::unverified(&base).map_err(Error::Api)?;
    let url = format!("/api/v1/namespaces/{CLUSTER_INFO_NAMESPACE}/configmaps/{CLUSTER_INFO}");
    let deadline = Instant::now() + wait;
    let served: ConfigMap = loop {
        match client.get::<ConfigMap>(&url) {
            Ok(Some(cm)) => break cm,
            result => {
                let why = match result {
                    Ok(_) => {
                        "not found (has 'kube-bootstrap pki rbac' run on the leader?)".to_string()
                    }
                    Err(e) => crate::causes::chain(&e),
                };
                if Instant::now() >= deadline {
                    return Err(Error::Discovery {
                        url: format!("{base}{url}"),
                        secs: wait.as_secs(),
                        why,
                    });
                }
                tracing::debug!(url = %url, why = %crate::shown::one_line(&why), "waiting for the leader");
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    };
    let pem = served.data.get("ca.crt").cloned().unwrap_or_default();
    let cert = x509::parse_cert_pem(pem.as_bytes()).map_err(|source| Error::Unreadable {
        path: format!("{base}{url}").into(),
        source,
    })?;
    let have = ca_cert_hash(&cert);
    if have != join.ca_cert_hash || !cert.is_ca {
        return Err(Error::CaHashMismatch {
            source_of: format!("the leader at {base}"),
            have,
            want: join.ca_cert_hash.clone(),
        });
    }
    super::files::create_private_dir(&dir)?;
    let _lock = super::lock_dir(&dir)?;
    // Another run may have written it meanwhile: judged as any ca.crt in place.
    if let Some(kept) = kept_if_pinned(&path, &join.ca_cert_hash)? {
        return Ok(vec![kept]);
    }
    super::write_file(&path, pem.as_bytes(), CERT_MODE)?;
    tracing::info!(path = %path.display(), hash = %have, "cluster CA discovered and checked");
    Ok(vec![Outcome {
        action: Action::Made,
        path,
        why: format!("from {base}, its public key {have} as pinned"),
    }])
}

/// A `ca.crt` in place: kept when its public key has the pinned hash, refused naming both when
/// not; `None` when there is none.
fn kept_if_pinned(path: &Path, pinned: &str) -> Result<Option<Outcome>, Error> {
    let Some(bytes) = super::read_optional(path)? else {
        return Ok(None);
    };
    let have = ca_cert_hash(&super::files::parse_cert(path, &bytes)?);
    if have != pinned {
        return Err(Error::CaHashMismatch {
            source_of: format!("'{}'", path.display()),
            have,
            want: pinned.to_string(),
        });
    }
    Ok(Some(Outcome {
        action: Action::Kept,
        path: path.to_path_buf(),
        why: format!("its public key is {have}, as KUBE_DISCOVERY_TOKEN_CA_CERT_HASH says"),
    }))
}
