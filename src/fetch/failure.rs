//! Why one attempt at one mirror failed, and whether trying again can help.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::arch::ElfMismatch;
use crate::causes::chain;
use crate::{fsutil, http};

/// Why `fetch` failed for a binary (or, with `Several`, for several).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] fsutil::Error),

    #[error(transparent)]
    Http(#[from] http::Error),

    #[error(transparent)]
    Skew(#[from] crate::skew::Refused),

    #[error(
        "cannot fetch {binary} {version} from any mirror:{}",
        MirrorList(failures)
    )]
    AllMirrorsFailed {
        binary: &'static str,
        version: String,
        failures: Vec<MirrorFailure>,
    },

    #[error("fetch of {binary} did not finish within {secs}s ({var}); {doing}")]
    Deadline {
        binary: &'static str,
        secs: u64,
        var: &'static str,
        /// What was failing or still running when time ran out.
        doing: String,
        /// The lock it was still waiting for, when another fetch held it all along.
        lock: Option<PathBuf>,
    },

    #[error("cannot write KUBE_ARGS for {binary} into '{}' (left out of it)", path.display())]
    UnitArgs {
        binary: &'static str,
        path: PathBuf,
        #[source]
        source: crate::cmdline::Unrepresentable,
    },

    #[error(
        "the disk is full: {binary} needs {} in '{}' and {}; the partial download was removed",
        needed.map_or_else(|| "an unknown size (no Content-Length)".to_string(), size),
        dir.display(),
        available.map_or_else(|| "the free space there is unknown".to_string(), |a| format!("the filesystem there has {} free", size(a)))
    )]
    DiskFull {
        binary: &'static str,
        dir: PathBuf,
        /// The artifact's size (Content-Length, or the file mirror's size).
        needed: Option<u64>,
        /// Free space for unprivileged users on that filesystem, after the partial was removed.
        available: Option<u64>,
        #[source]
        source: io::Error,
    },

    /// A pin left over from another release: it would make fetch pass over the kept copy of
    /// the wanted one and blame the mirror.
    #[error(transparent)]
    StalePin(Box<StalePin>),

    #[error("{} of {} fetches failed", failed.len(), total)]
    Several { failed: Vec<Error>, total: usize },
}

/// A pin that disagrees with the kept copy of the wanted release.
#[derive(Debug, thiserror::Error)]
#[error(
    "{var} (from {origin}) pins {pinned}, but the kept {binary} {version} has sha256 {kept}: the pin is for another release"
)]
pub struct StalePin {
    pub binary: &'static str,
    pub var: String,
    pub origin: crate::settings::Origin,
    pub version: String,
    pub pinned: String,
    pub kept: String,
}

/// `4194304 bytes (4.0 MiB)`.
fn size(bytes: u64) -> String {
    format!("{bytes} bytes ({})", super::progress::human(bytes))
}

struct MirrorList<'a>(&'a [MirrorFailure]);

impl fmt::Display for MirrorList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in self.0 {
            let attempts = match failure.attempts {
                1 => String::new(),
                n => format!(" (after {n} requests)"),
            };
            write!(
                f,
                "\n  - {}{attempts}: {}",
                failure.mirror,
                chain(&failure.reason)
            )?;
        }
        Ok(())
    }
}

/// Where the expected checksum came from.
#[derive(Debug, Clone)]
pub enum ExpectedFrom {
    /// A `KUBE_SHA256_*` variable, and where its value came from (a stale pin is the usual
    /// cause of a mismatch after `KUBE_VERSION` changed: the operator needs the file to edit).
    Pin {
        var: String,
        origin: crate::settings::Origin,
    },
    /// The mirror's `<url>.sha256`.
    SideFile(String),
}

impl ExpectedFrom {
    /// The pin `var` of `settings`, with where it was set.
    pub fn pin(settings: &crate::settings::Settings, var: String) -> ExpectedFrom {
        let origin = settings
            .origins
            .get(&var)
            .cloned()
            .unwrap_or(crate::settings::Origin::Default);
        ExpectedFrom::Pin { var, origin }
    }
}

impl std::fmt::Display for ExpectedFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedFrom::Pin { var, origin } => write!(f, "pinned by {var} ({origin})"),
            ExpectedFrom::SideFile(url) => write!(f, "from {url}"),
        }
    }
}

/// The failure of one attempt.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "refused plain http mirror {url}: the checksum is not pinned ({pin_var}) and KUBE_ALLOW_HTTP is off"
    )]
    InsecureHttp { url: String, pin_var: String },

    #[error("HTTP {status} from {url}")]
    Status { url: String, status: u16 },

    #[error("refused the redirect (HTTP {status}) from {url} to '{location}': {why}")]
    Redirect {
        url: String,
        status: u16,
        location: String,
        why: String,
    },

    #[error("request to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("no data from {url} for {secs}s (KUBE_FETCH_STALL_TIMEOUT)")]
    Stalled { url: String, secs: u64 },

    #[error("{url} ended after {got} of {expected} bytes")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
    },

    #[error("{url} answered a range request with {detail}")]
    BadRange { url: String, detail: String },

    #[error("checksum mismatch for {url}: expected sha256 {expected} ({from}), computed {actual}")]
    ChecksumMismatch {
        url: String,
        expected: String,
        actual: String,
        from: ExpectedFrom,
    },

    #[error("invalid checksum file {url}: {detail}")]
    InvalidChecksumFile { url: String, detail: String },

    #[error("{url} is {mismatch}, not a linux/{arch} binary; refusing to install it")]
    NotExecutable {
        url: String,
        arch: String,
        mismatch: ElfMismatch,
    },

    #[error("{url} is larger than KUBE_MAX_DOWNLOAD_BYTES ({limit} bytes)")]
    TooLarge { url: String, limit: u64 },

    #[error("cannot read {url} ('{}')", path.display())]
    FileMirror {
        url: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A local failure (disk, permissions): no other mirror can help.
    #[error(transparent)]
    Local(Box<Error>),
}

impl FetchError {
    /// Whether the same mirror may succeed if asked again.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => transient_status(*status),
            // Builder, redirect-policy and TLS errors (an untrusted certificate, a failed
            // handshake) repeat identically; everything else on the wire (connect, reset,
            // timeout, broken body) can heal.
            FetchError::Request { source, .. } => {
                !source.is_builder() && !source.is_redirect() && !is_tls_rejection(source)
            }
            FetchError::Stalled { .. }
            | FetchError::Truncated { .. }
            | FetchError::BadRange { .. } => true,
            _ => false,
        }
    }
}

/// Whether a rustls error is anywhere in the source chain. An `io::Error`'s `source()` skips
/// the error it wraps, so wrapped errors are followed with `get_ref()` (they nest).
fn is_tls_rejection(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        next = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

impl From<Error> for FetchError {
    fn from(e: Error) -> Self {
        FetchError::Local(Box::new(e))
    }
}

impl From<fsutil::Error> for FetchError {
    fn from(e: fsutil::Error) -> Self {
        FetchError::Local(Box::new(Error::Io(e)))
    }
}

/// One mirror that could not provide the binary, for the final error.
#[derive(Debug)]
pub struct MirrorFailure {
    /// The mirror's base URL.
    pub mirror: String,
    /// Requests made to this mirror (checksum and binary, retries included).
    pub attempts: u32,
    pub reason: FetchError,
}

/// HTTP statuses worth retrying (curl's list): timeouts, rate limits and server errors.
pub fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..=599).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses_are_curls() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(transient_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 416] {
            assert!(!transient_status(s), "{s}");
        }
    }
}
