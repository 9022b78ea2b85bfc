//! Certificates: the earliest expiry in a PEM file, read through [`crate::x509`], and the
//! verdict on it. The warning starts where `pki init` would re-issue (`KUBE_PKI_RENEW_BEFORE`).

use crate::x509;

use super::report::Status;

/// The earliest `notAfter` (Unix seconds) of the PEM certificates in `bytes`; `None` when it
/// holds none.
pub fn certificate_expiry(bytes: &[u8]) -> Result<Option<i64>, x509::Error> {
    Ok(x509::parse_certs_pem(bytes)?
        .iter()
        .map(|c| c.not_after)
        .min())
}

/// The verdict on a certificate that is valid until `not_after`, at `now` (Unix seconds): a
/// warning from `warn_days` before.
pub fn expiry(not_after: i64, now: i64, warn_days: u32) -> (Status, String) {
    let date = x509::format_time(not_after);
    let left = not_after - now;
    if left <= 0 {
        (
            Status::Fail,
            format!("expired on {date} ({} days ago)", (-left) / 86_400),
        )
    } else if left < i64::from(warn_days) * 86_400 {
        (
            Status::Warn,
            format!("expires on {date}, in {} days", left / 86_400),
        )
    } else {
        (Status::Ok, format!("is valid until {date}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_expire_in_three_steps() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert_eq!(expiry(now + 365 * day, now, 30).0, Status::Ok);
        assert_eq!(expiry(now + 31 * day, now, 30).0, Status::Ok);
        let (s, text) = expiry(now + 29 * day, now, 30);
        assert_eq!(s, Status::Warn);
        assert!(text.contains("in 29 days"), "{text}");
        assert_eq!(expiry(now + 29 * day, now, 10).0, Status::Ok);
        let (s, text) = expiry(now - 2 * day, now, 30);
        assert_eq!(s, Status::Fail);
        assert!(text.contains("expired on"), "{text}");
        assert_eq!(expiry(now, now, 30).0, Status::Fail);
    }

    #[test]
    fn files_without_certificates_have_no_expiry() {
        assert_eq!(certificate_expiry(b"not a certificate\n").ok(), Some(None));
        assert_eq!(
            certificate_expiry(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .ok(),
            Some(None)
        );
        assert!(
            certificate_expiry(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
