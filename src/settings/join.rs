//! Joining with a bootstrap token: the token (whose secret is never shown) and the hash of the
//! CA the worker must find, parsed and checked together.

use std::fmt;

use super::{Error, Origin};
use crate::env_vars as var;

/// A bootstrap token: its id is public, its secret never shown (`Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapToken {
    pub id: String,
    pub secret: String,
}

impl BootstrapToken {
    /// `<id>.<secret>`, for the one place that sends it (the bootstrap kubeconfig).
    pub fn reveal(&self) -> String {
        format!("{}.{}", self.id, self.secret)
    }
}

impl fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.<secret>", self.id)
    }
}

/// How a worker joins with a token: the token, and the hash its CA must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub token: BootstrapToken,
    /// `sha256:<hex>` of the CA's SubjectPublicKeyInfo.
    pub ca_cert_hash: String,
}

/// A bootstrap token `<id>.<secret>`: 6 and 16 characters of `a-z0-9`, as the apiserver's
/// bootstrap token authenticator accepts them.
pub fn bootstrap_token(text: &str) -> Option<BootstrapToken> {
    let (id, secret) = text.split_once('.')?;
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (ok(id, 6) && ok(secret, 16)).then(|| BootstrapToken {
        id: id.to_string(),
        secret: secret.to_string(),
    })
}

/// `sha256:<64 hex>`, lowercased.
pub fn ca_cert_hash(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// `KUBE_BOOTSTRAP_TOKEN` with `KUBE_DISCOVERY_TOKEN_CA_CERT_HASH` (each its value and origin,
/// when set): both or neither. The token's secret never reaches an error.
pub(super) fn resolve(
    token: Option<(String, Origin)>,
    hash: Option<(String, Origin)>,
) -> Result<Option<Join>, Error> {
    let token = match token {
        None => None,
        Some((value, origin)) => Some(bootstrap_token(value.trim()).ok_or_else(|| {
            let shown = match value.trim().split_once('.') {
                Some((id, _)) => format!("{id}.<secret>"),
                None => "<secret>".to_string(),
            };
            Error::invalid(
                var::KUBE_BOOTSTRAP_TOKEN,
                &shown,
                origin,
                "a bootstrap token <id>.<secret>: 6 and 16 characters of a-z and 0-9, as 'kube-bootstrap pki token' prints it on the leader",
            )
        })?),
    };
    let hash = match hash {
        None => None,
        Some((value, origin)) => Some(ca_cert_hash(value.trim()).ok_or_else(|| {
            Error::invalid(
                var::KUBE_DISCOVERY_TOKEN_CA_CERT_HASH,
                &value,
                origin,
                "sha256:<64 hex digits> of the cluster CA's public key, as 'kube-bootstrap pki token' prints it",
            )
        })?),
    };
    match (token, hash) {
        (None, None) => Ok(None),
        (Some(token), Some(ca_cert_hash)) => Ok(Some(Join {
            token,
            ca_cert_hash,
        })),
        (Some(token), None) => Err(Error::invalid(
            var::KUBE_DISCOVERY_TOKEN_CA_CERT_HASH,
            "",
            Origin::Default,
            &format!(
                "the CA's hash beside {}={token:?}: a worker never trusts a CA it cannot check (both lines come from 'kube-bootstrap pki token' on the leader)",
                var::KUBE_BOOTSTRAP_TOKEN
            ),
        )),
        (None, Some(hash)) => Err(Error::invalid(
            var::KUBE_BOOTSTRAP_TOKEN,
            "",
            Origin::Default,
            &format!(
                "a bootstrap token beside {}={hash} (both lines come from 'kube-bootstrap pki token' on the leader)",
                var::KUBE_DISCOVERY_TOKEN_CA_CERT_HASH
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_tokens_and_ca_hashes() {
        for (text, ok) in [
            ("abcdef.0123456789abcdef", true),
            ("abcdef.0123456789ABCDEF", false),
            ("abcde.0123456789abcdef", false),
            ("abcdef.0123456789abcde", false),
            ("abcdef0123456789abcdef", false),
            ("abcdef.0123456789abcdef\n", false),
            ("", false),
        ] {
            assert_eq!(bootstrap_token(text).is_some(), ok, "{text:?}");
        }
        let t = bootstrap_token("abcdef.0123456789abcdef").unwrap();
        assert_eq!(t.reveal(), "abcdef.0123456789abcdef");
        assert!(!format!("{t:?}").contains("0123456789abcdef"), "{t:?}");
        let hex = "A".repeat(64);
        assert_eq!(
            ca_cert_hash(&format!("sha256:{hex}")),
            Some(format!("sha256:{}", "a".repeat(64)))
        );
        for bad in [
            "sha256:abc",
            &"a".repeat(64),
            &format!("sha1:{}", "a".repeat(64)),
        ] {
            assert_eq!(ca_cert_hash(bad), None, "{bad}");
        }
    }

    #[test]
    fn token_and_hash_come_together_and_errors_never_show_the_secret() {
        let t = || Some(("abcdef.0123456789abcdef".to_string(), Origin::Default));
        let h = || Some((format!("sha256:{}", "b".repeat(64)), Origin::Default));
        assert!(resolve(None, None).unwrap().is_none());
        assert_eq!(resolve(t(), h()).unwrap().unwrap().token.id, "abcdef");
        let e = resolve(t(), None).unwrap_err().to_string();
        assert!(
            e.contains("KUBE_DISCOVERY_TOKEN_CA_CERT_HASH") && !e.contains("0123456789abcdef"),
            "{e}"
        );
        let e = resolve(None, h()).unwrap_err().to_string();
        assert!(e.contains("KUBE_BOOTSTRAP_TOKEN"), "{e}");
        let bad = Some(("abcdef.0123456789ABCDEF".to_string(), Origin::Default));
        let e = resolve(bad, h()).unwrap_err().to_string();
        assert!(
            e.contains("abcdef.<secret>") && !e.contains("0123456789ABCDEF"),
            "{e}"
        );
    }
}
