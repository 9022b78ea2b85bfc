//! One verified download, shared by `fetch` and `mirror`: the expected digest in, a fsynced
//! `.partial` file out whose bytes hash to it and are an ELF executable for the architecture.
//! What happens next (install over a binary, rename into a mirror directory) is the caller's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use super::failure::{ExpectedFrom, FetchError};
use super::partial::Partial;
use super::progress::Progress;
use super::retry::with_retries;
use super::transport::Transport;
use crate::arch::{self, Arch};

/// What to download, and what it must turn out to be.
#[derive(Debug)]
pub struct Want<'a> {
    pub url: &'a Url,
    pub binary: &'static str,
    pub arch: Arch,
    /// Lowercase hex sha256 the bytes must hash to.
    pub expected: &'a str,
    pub from: ExpectedFrom,
    /// The `.partial` file beside the destination; bytes already there are resumed from.
    pub partial: &'a Path,
    /// `KUBE_MAX_DOWNLOAD_BYTES`.
    pub limit: u64,
    /// `KUBE_FETCH_RETRIES`.
    pub retries: u32,
}

/// A download whose bytes checked out, still in its `.partial` file (mode 0600, fsynced).
#[derive(Debug)]
pub struct Verified {
    pub partial: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Bytes received from the network (less than `size` after a resume).
    pub transferred: u64,
    pub elapsed: Duration,
}

/// Streams `want.url` into its partial file through the hasher, with retries on transient
/// failures; checks the digest and the ELF header. A partial file is kept after a network
/// failure (the next run resumes) and deleted after a checksum, size or ELF failure.
pub async fn download(
    transport: &Transport,
    want: Want<'_>,
    progress: &mut Progress,
    attempts: &mut u32,
) -> Result<Verified, FetchError> {
    let mut partial = Partial::open(want.partial, want.limit)?;
    tracing::info!(
        binary = %want.binary,
        url = %want.url,
        sha256 = %want.expected,
        resume_from = partial.len(),
        "downloading"
    );
    let result = with_retries(want.retries, "download", attempts, async || {
        transport.download(want.url, &mut partial, progress).await
    })
    .await;
    progress.finish();
    if let Err(e) = result {
        if matches!(e, FetchError::TooLarge { .. }) {
            partial.discard();
        }
        return Err(e);
    }
    let actual = partial.finish()?;
    let size = partial.len();
    if actual != want.expected {
        partial.discard();
        return Err(FetchError::ChecksumMismatch {
            url: want.url.to_string(),
            expected: want.expected.to_string(),
            actual,
            from: want.from,
        });
    }
    let header = partial.header(20)?;
    if let Err(mismatch) = arch::check_elf(&header, want.arch) {
        partial.discard();
        return Err(FetchError::NotExecutable {
            url: want.url.to_string(),
            arch: want.arch.to_string(),
            mismatch,
        });
    }
    Ok(Verified {
        partial: partial.path().to_path_buf(),
        sha256: actual,
        size,
        transferred: progress.transferred(),
        elapsed: progress.elapsed(),
    })
}
