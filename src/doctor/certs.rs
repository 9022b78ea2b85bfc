//! Certificates: the earliest expiry in a PEM file and the verdict on it. Self-contained so
//! that it can move onto the shared X.509 module.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use super::report::Status;

/// Certificates that expire sooner than this are a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

const UTC: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// The earliest `notAfter` (Unix seconds) of the PEM certificates in `bytes`; `None` when it
/// holds none.
pub fn certificate_expiry(bytes: &[u8]) -> Result<Option<i64>, String> {
    let mut earliest: Option<i64> = None;
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| format!("invalid PEM: {e}"))?;
        if pem.label != "CERTIFICATE" {
            continue;
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("invalid X.509 certificate: {e}"))?;
        let t = cert.validity().not_after.timestamp();
        earliest = Some(earliest.map_or(t, |e| e.min(t)));
    }
    Ok(earliest)
}

/// The verdict on a certificate that is valid until `not_after`, at `now` (Unix seconds).
pub fn expiry(not_after: i64, now: i64) -> (Status, String) {
    let date = format_utc(not_after);
    let left = not_after - now;
    if left <= 0 {
        (
            Status::Fail,
            format!("expired on {date} ({} days ago)", (-left) / 86_400),
        )
    } else if left < EXPIRY_WARNING_DAYS * 86_400 {
        (
            Status::Warn,
            format!("expires on {date}, in {} days", left / 86_400),
        )
    } else {
        (Status::Ok, format!("is valid until {date}"))
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds (civil-from-days, proleptic Gregorian).
/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds.
pub fn format_utc(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(UTC).ok())
        // Only timestamps beyond year 9999 have no date here; say what they are.
        .unwrap_or_else(|| format!("{secs} seconds after 1970-01-01 UTC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_expire_in_three_steps() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert_eq!(expiry(now + 365 * day, now).0, Status::Ok);
        assert_eq!(expiry(now + 31 * day, now).0, Status::Ok);
        let (s, text) = expiry(now + 29 * day, now);
        assert_eq!(s, Status::Warn);
        assert!(text.contains("in 29 days"), "{text}");
        let (s, text) = expiry(now - 2 * day, now);
        assert_eq!(s, Status::Fail);
        assert!(text.contains("expired on"), "{text}");
        assert_eq!(expiry(now, now).0, Status::Fail);
    }

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(-86_400), "1969-12-31 00:00:00 UTC");
    }

    #[test]
    fn files_without_certificates_have_no_expiry() {
        assert_eq!(certificate_expiry(b"not a certificate\n"), Ok(None));
        assert_eq!(
            certificate_expiry(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Ok(None)
        );
        assert!(
            certificate_expiry(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
