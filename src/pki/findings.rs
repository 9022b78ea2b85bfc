//! The verdicts of `pki check` and the checks every file shares: expiry (notBefore too), the
//! mode of a private key, and how a certificate's subject is shown.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Error, command_for, expiry_warn_days, now, read_error_hint, renewed_by};
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

pub(super) struct Findings(pub(super) Vec<Finding>);

impl Findings {
    pub(super) fn push(&mut self, level: Level, path: &Path, text: String, hint: Option<String>) {
        self.0.push(Finding {
            level,
            path: path.to_path_buf(),
            text,
            hint,
            expiry: false,
        });
    }

    /// `path` could not be read: the error's causes, and the way out for that kind of failure.
    pub(super) fn unreadable(&mut self, path: &Path, e: &Error) {
        let hint = read_error_hint(e, path);
        self.push(Level::Fail, path, crate::causes::chain(e), Some(hint));
    }

    fn push_expiry(&mut self, level: Level, path: &Path, text: String, hint: Option<String>) {
        self.push(level, path, text, hint);
        if let Some(last) = self.0.last_mut() {
            last.expiry = true;
        }
    }
}

pub(super) fn check_expiry(
    f: &mut Findings,
    path: &Path,
    cert: &CertInfo,
    settings: &Settings,
    what: &str,
) {
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
    } else if left < i64::from(expiry_warn_days(settings)) * 86_400 {
        f.push_expiry(
            Level::Warn,
            path,
            format!("{what} {who} expires on {until}, in {} days", left / 86_400),
            Some(renewed_by(path)),
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

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The subject as shown: escaped, since a certificate's names are anyone's text.
pub(super) fn x509_identity(cert: &CertInfo) -> String {
    crate::shown::quote(&super::identity(
        cert.common_name.as_deref(),
        &cert.organizations,
    ))
}

pub(super) fn key_mode_ok(f: &mut Findings, key: &Path) {
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
