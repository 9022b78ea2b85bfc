//! `pki token` on the leader: a bootstrap token a worker joins with (TLS bootstrap), stored as
//! the apiserver's bootstrap token authenticator reads it (a Secret in kube-system), and the
//! hash of the cluster CA the worker pins. Prints both as the two lines of the worker's
//! `/etc/kube-bootstrap.env`; the token is data on stdout, never logged.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::rbac::{BOOTSTRAPPERS_GROUP, ensure_all, leader_client};
use super::{Error, Outcome};
use crate::env_vars as var;
use crate::kubeapi::Created;
use crate::kubeapi::objects::{NamespacedMeta, Secret};
use crate::settings::{BootstrapToken, Settings};
use crate::x509;

/// What `pki token` made: the token, the CA's hash, when it ends, and the objects it checked.
pub struct Token {
    pub token: BootstrapToken,
    pub ca_cert_hash: String,
    pub expires: String,
    pub objects: Vec<Outcome>,
}

impl Token {
    /// The worker's two settings, for its `/etc/kube-bootstrap.env`.
    pub fn env_lines(&self) -> String {
        format!(
            "{}={}\n{}={}\n",
            var::KUBE_BOOTSTRAP_TOKEN,
            self.token.reveal(),
            var::KUBE_DISCOVERY_TOKEN_CA_CERT_HASH,
            self.ca_cert_hash
        )
    }
}

/// `sha256:<hex>` of a certificate's SubjectPublicKeyInfo (kubeadm's CA pin). Pure.
pub fn ca_cert_hash(cert: &x509::CertInfo) -> String {
    let digest = Sha256::digest(&cert.public_key);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `n` characters of `a-z0-9` from the OS's random source, without modulo bias.
fn random_chars(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut byte = [0u8; 1];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut byte);
        // 252 = 7 * 36: bytes above it would favour the first letters.
        if byte[0] < 252 {
            out.push(ALPHABET[usize::from(byte[0] % 36)] as char);
        }
    }
    out
}

/// The Secret the apiserver's bootstrap token authenticator and the token cleaner read. Pure.
pub fn secret(token: &BootstrapToken, expiration: &str, description: &str) -> Secret {
    let data = [
        ("token-id", token.id.as_str()),
        ("token-secret", token.secret.as_str()),
        ("expiration", expiration),
        ("usage-bootstrap-authentication", "true"),
        ("usage-bootstrap-signing", "true"),
        ("auth-extra-groups", BOOTSTRAPPERS_GROUP),
        ("description", description),
    ];
    Secret {
        api_version: "v1",
        kind: "Secret",
        metadata: NamespacedMeta::managed("kube-system", &format!("bootstrap-token-{}", token.id)),
        type_: "bootstrap.kubernetes.io/token".into(),
        string_data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// `pki token`: makes sure the joining objects exist (`pki rbac`), then a new token valid for
/// `ttl`.
pub fn token(settings: &Settings, ttl: Duration, wait: Duration) -> Result<Token, Error> {
    let minor = crate::flags::rules_minor(&settings.version);
    if minor < 20 {
        return Err(Error::TokenNeedsTls {
            version: settings.version.to_string(),
        });
    }
    let (ca_path, ca_pem) = super::read_ca(settings)?;
    let ca = super::files::parse_cert(&ca_path, &ca_pem)?;
    let client = leader_client(settings, wait)?;
    let objects = ensure_all(settings, &client)?;
    let token = BootstrapToken {
        id: random_chars(6),
        secret: random_chars(16),
    };
    let end = time::OffsetDateTime::now_utc() + time::Duration::seconds(ttl.as_secs() as i64);
    let expires = end
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let description = "made by kube-bootstrap pki token for joining a worker";
    let secret = secret(&token, &expires, description);
    match client
        .create("/api/v1/namespaces/kube-system/secrets", &secret)
        .map_err(Error::Api)?
    {
        Created::Made => {}
        // Six random characters taken already: the caller runs it again.
        Created::Exists => return Err(Error::TokenExists { id: token.id }),
    }
    tracing::info!(token_id = %token.id, expires = %expires, "bootstrap token made");
    Ok(Token {
        token,
        ca_cert_hash: ca_cert_hash(&ca),
        expires,
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_what_the_authenticator_accepts() {
        for _ in 0..50 {
            let t = format!("{}.{}", random_chars(6), random_chars(16));
            assert!(crate::settings::parse_bootstrap_token(&t).is_some(), "{t}");
        }
        let token = BootstrapToken {
            id: "abcdef".into(),
            secret: "0123456789abcdef".into(),
        };
        let s = serde_json::to_value(secret(&token, "2026-12-09T00:00:00Z", "d")).unwrap();
        assert_eq!(s["type"], "bootstrap.kubernetes.io/token");
        assert_eq!(s["metadata"]["name"], "bootstrap-token-abcdef");
        assert_eq!(s["metadata"]["namespace"], "kube-system");
        assert_eq!(s["stringData"]["token-secret"], "0123456789abcdef");
        assert_eq!(s["stringData"]["usage-bootstrap-authentication"], "true");
        assert_eq!(
            s["stringData"]["auth-extra-groups"],
            "system:bootstrappers:kube-bootstrap:default-node-token"
        );
        assert_eq!(s["stringData"]["expiration"], "2026-12-09T00:00:00Z");
    }
}
