//! Certificates: the earliest expiry in a PEM file, read through [`crate::x509`], and the
//! verdict on it. The warning starts where `pki init` would re-issue (`KUBE_PKI_RENEW_BEFORE`).

use crate::x509;

use super::report::Status;

/// When every PEM certificate in `bytes` is valid: the latest `notBefore` and the earliest
/// `notAfter` (Unix seconds); `None` when it holds none.
pub fn certificate_validity(bytes: &[u8]) -> Result<Option<(i64, i64)>, x509::Error> {
    let certs = x509::parse_certs_pem(bytes)?;
    let from = certs.iter().map(|c| c.not_before).max();
    let until = certs.iter().map(|c| c.not_after).min();
    Ok(from.zip(until))
}

/// The verdict on a certificate valid from `not_before` until `not_after`, at `now` (Unix
/// seconds): a failure before its start or after its end, a warning from `warn_days` before
/// the end.
pub fn expiry(not_before: i64, not_after: i64, now: i64, warn_days: u32) -> (Status, String) {
    let date = x509::format_time(not_after);
    let left = not_after - now;
    if not_before > now {
        (
            Status::Fail,
            format!(
                "is not valid before {} (a certificate from the future: check this node's clock)",
                x509::format_time(not_before)
            ),
        )
    } else if left <= 0 {
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
        assert_eq!(expiry(0, now + 365 * day, now, 30).0, Status::Ok);
        assert_eq!(expiry(0, now + 31 * day, now, 30).0, Status::Ok);
        let (s, text) = expiry(0, now + 29 * day, now, 30);
        assert_eq!(s, Status::Warn);
        assert!(text.contains("in 29 days"), "{text}");
        assert_eq!(expiry(0, now + 29 * day, now, 10).0, Status::Ok);
        let (s, text) = expiry(0, now - 2 * day, now, 30);
        assert_eq!(s, Status::Fail);
        assert!(text.contains("expired on"), "{text}");
        assert_eq!(expiry(0, now, now, 30).0, Status::Fail);
    }

    #[test]
    fn certificates_not_valid_yet_fail() {
        let now = 1_800_000_000;
        let (s, text) = expiry(now + 3600, now + 365 * 86_400, now, 30);
        assert_eq!(s, Status::Fail);
        assert!(text.contains("not valid before"), "{text}");
    }

    #[test]
    fn files_without_certificates_have_no_expiry() {
        assert_eq!(
            certificate_validity(b"not a certificate\n").ok(),
            Some(None)
        );
        assert_eq!(
            certificate_validity(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .ok(),
            Some(None)
        );
        assert!(
            certificate_validity(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
