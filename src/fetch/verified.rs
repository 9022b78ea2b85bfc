//! One verified download, shared by `fetch` and `mirror`: the expected digest in, a fsynced
//! `.partial` file out whose bytes hash to it and are an ELF executable for the architecture.
//! What happens next (install over a binary, rename into a mirror directory) is the caller's.

use std::path::Path;
use std::time::Duration;

use reqwest::Url;

use super::failure::{ExpectedFrom, FetchError};
use super::install::{disk_full, is_disk_full, out_of_space};
use super::network::Network;
use super::partial::Partial;
use super::progress::Progress;
use super::retry::with_retries;
use super::transport::Transport;
use crate::arch::{self, Arch};
use crate::http;

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

/// A download whose bytes checked out, still in its `.partial` file (mode 0600, fsynced), with
/// the handle it was written through (`fetch` installs through it, never by path).
#[derive(Debug)]
pub struct Verified {
    pub partial: Partial,
    pub sha256: String,
    pub size: u64,
    /// Bytes received from the network (less than `size` after a resume).
    pub transferred: u64,
    pub elapsed: Duration,
}

/// Streams `want.url` into its partial file through the hasher, with retries on transient
/// failures; checks the digest and the ELF header. A partial file is kept after a network
/// failure (the next run resumes) and deleted after a checksum, size or ELF failure. Bytes
/// resumed from an earlier run or another mirror may be the wrong ones: a resumed download that
/// fails the checksum is fetched once more from zero before this URL is blamed. `net`, when a
/// fetch has one, hears what is being fetched and every failure (for its deadline error).
pub async fn download(
    transport: &Transport,
    want: Want<'_>,
    progress: &mut Progress,
    attempts: &mut u32,
    net: Option<&Network>,
) -> Result<Verified, FetchError> {
    let url = http::redact(want.url);
    let mut from_zero = false;
    let (partial, actual) = loop {
        let mut partial = Partial::open(want.partial, want.limit)?;
        if from_zero {
            partial.reset()?;
        }
        let complete = !from_zero && partial.is_complete(want.expected);
        let result = if complete {
            // A run killed between fsync and rename left the whole file: check it, use it.
            tracing::info!(binary = %want.binary, path = %want.partial.display(), bytes = partial.len(), "the partial file from an interrupted run is complete, installing it without a download");
            Ok(false)
        } else {
            tracing::info!(
                binary = %want.binary,
                url = %url,
                sha256 = %want.expected,
                resume_from = partial.len(),
                "downloading"
            );
            let failed = |e: &super::FetchError| {
                if let Some(net) = net {
                    net.failed(e);
                }
            };
            with_retries(want.retries, "download", attempts, &failed, async || {
                if let Some(net) = net {
                    net.fetching(want.url);
                }
                transport.download(want.url, &mut partial, progress).await
            })
            .await
        };
        progress.finish();
        let resumed = match result {
            Ok(resumed) => resumed,
            Err(e) => {
                if let Some(source) = disk_full(&e) {
                    return Err(out_of_space(want.binary, want.partial, partial, source).into());
                }
                if matches!(e, FetchError::TooLarge { .. }) {
                    partial.discard();
                }
                return Err(e);
            }
        };
        let actual = match partial.finish() {
            Ok(sha) => sha,
            Err(e) if is_disk_full(&e.source) => {
                let source = e.source;
                return Err(out_of_space(want.binary, want.partial, partial, source).into());
            }
            Err(e) => return Err(e.into()),
        };
        if actual == want.expected {
            break (partial, actual);
        }
        partial.discard();
        if resumed && !from_zero {
            tracing::warn!(binary = %want.binary, url = %url, expected = %want.expected, computed = %actual, "resumed download failed the checksum, downloading again from zero");
            from_zero = true;
            continue;
        }
        return Err(FetchError::ChecksumMismatch {
            url,
            expected: want.expected.to_string(),
            actual,
            from: want.from,
        });
    };
    let size = partial.len();
    let header = partial.header(20)?;
    if let Err(mismatch) = arch::check_elf(&header, want.arch) {
        partial.discard();
        return Err(FetchError::NotExecutable {
            url,
            arch: want.arch.to_string(),
            mismatch,
        });
    }
    Ok(Verified {
        partial,
        sha256: actual,
        size,
        transferred: progress.transferred(),
        elapsed: progress.elapsed(),
    })
}
