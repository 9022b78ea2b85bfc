//! `pki check`'s key material: each CA read back (a CA certificate, its key the certificate's
//! own) and the service-account key pair.

use std::path::Path;

use super::findings::{Findings, Level, check_expiry, key_mode_ok};
use super::leaves::Signer;
use super::{Error, ca_mismatch_hint, command_for, half_pair_hint, read_optional, unusable_hint};
use crate::settings::Settings;
use crate::x509::{self, CertInfo};

/// The CA `signer` of `dir` (its certificate read back, and its key when this node has it).
pub(super) fn check_ca(
    f: &mut Findings,
    settings: &Settings,
    dir: &Path,
    signer: Signer,
) -> Option<CertInfo> {
    let ca_path = dir.join(signer.files().0);
    let ca = match read_optional(&ca_path) {
        Ok(Some(bytes)) => match x509::parse_cert_pem(&bytes) {
            Ok(ca) => {
                check_expiry(f, &ca_path, &ca, settings, "CA");
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
            let key = dir.join(signer.files().1);
            let hint = if std::fs::symlink_metadata(&key).is_ok() {
                half_pair_hint(&key, &ca_path)
            } else {
                command_for(&ca_path)
            };
            f.push(Level::Fail, &ca_path, "is missing".into(), Some(hint));
            None
        }
        Err(e) => {
            f.unreadable(&ca_path, &e);
            None
        }
    };
    if let Some(ca) = &ca {
        check_ca_key(
            f,
            &dir.join(signer.files().1),
            &ca_path,
            signer.files().0,
            ca,
        );
    }
    ca
}

/// A CA's key, when this node has it: the CA certificate's own key, and private.
fn check_ca_key(f: &mut Findings, key: &Path, ca_path: &Path, ca_name: &str, ca: &CertInfo) {
    let key = key.to_path_buf();
    match read_optional(&key) {
        Ok(None) => {}
        Ok(Some(k)) => {
            match super::init::ca_key_matches(ca_path, ca, &key, &String::from_utf8_lossy(&k)) {
                Ok(()) => f.push(Level::Ok, &key, format!("is the key of {ca_name}"), None),
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
        Err(e) => f.unreadable(&key, &e),
    }
}

pub(super) fn check_sa(f: &mut Findings, dir: &Path) {
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
