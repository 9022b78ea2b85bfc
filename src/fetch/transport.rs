//! Moving bytes: HTTP(S) with resume and `file://` mirrors, streamed into a [`Partial`].
//! Policy (which mirror, when to retry, what to trust) lives in `fetch/mod.rs`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::{Client, StatusCode, Url};
use tokio::time::timeout;

use super::checksum::{self, BUF_SIZE, MAX_SIDE_FILE};
use super::failure::FetchError;
use super::partial::{Partial, WriteError};
use super::progress::Progress;
use crate::http;
use crate::settings::{self, Settings};

/// Fetches URLs for the download policy.
#[derive(Debug)]
pub struct Transport {
    client: Option<Client>,
    root: PathBuf,
    stall: Duration,
}

impl Transport {
    /// Builds the transport; the HTTP client (TLS roots, DNS) only when a mirror needs it.
    pub fn new(settings: &Settings) -> Result<Transport, http::Error> {
        let needs_http = settings.mirrors.iter().any(|m| m.scheme() != "file");
        let client = if needs_http {
            Some(build_client(settings)?)
        } else {
            None
        };
        Ok(Transport {
            client,
            root: settings.root.clone(),
            stall: settings.stall_timeout,
        })
    }

    fn client(&self) -> &Client {
        // `new` builds a client whenever any mirror is not file://, and only those reach here.
        self.client
            .as_ref()
            .expect("HTTP client built for http(s) mirrors")
    }

    /// The local path of a `file://` URL, inside the root.
    fn local_path(&self, url: &Url) -> PathBuf {
        let path = url
            .to_file_path()
            .unwrap_or_else(|_| PathBuf::from(url.path()));
        settings::resolve(&self.root, &path)
    }

    /// Reads a checksum side file and returns the digest it names.
    pub async fn side_file(&self, url: &Url, binary: &str) -> Result<String, FetchError> {
        let content = if url.scheme() == "file" {
            let path = self.local_path(url);
            let mut local = LocalFile::open(url, path);
            local.size(self.stall).await?;
            let mut body = Vec::new();
            while let Some(chunk) = local.chunk(self.stall).await? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_SIDE_FILE {
                    break;
                }
            }
            body
        } else {
            let mut resp = self.send(url, None).await?;
            check_status(url, &resp)?;
            let mut body = Vec::new();
            while let Some(chunk) = self.chunk(url, &mut resp).await? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_SIDE_FILE {
                    break;
                }
            }
            body
        };
        checksum::parse_side_file(&content, binary).map_err(|detail| {
            FetchError::InvalidChecksumFile {
                url: http::redact(url),
                detail,
            }
        })
    }

    /// Downloads `url` into `partial`, resuming after the bytes already there when it can.
    /// Returns whether it resumed, that is whether bytes written before this call are kept.
    pub async fn download(
        &self,
        url: &Url,
        partial: &mut Partial,
        progress: &mut Progress,
    ) -> Result<bool, FetchError> {
        if url.scheme() == "file" {
            return self.copy_file(url, partial, progress).await.map(|()| false);
        }
        let offset = partial.len();
        let mut resumed = false;
        let resp = self.send(url, (offset > 0).then_some(offset)).await?;
        let status = resp.status();
        let body_len = resp.content_length();
        match status {
            StatusCode::PARTIAL_CONTENT if offset > 0 => {
                let range = resp
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if let Err(detail) = check_content_range(range, offset, body_len) {
                    partial.reset()?;
                    return Err(FetchError::BadRange {
                        url: http::redact(url),
                        detail,
                    });
                }
                resumed = true;
                tracing::info!(url = %http::redact(url), offset, "resuming download");
            }
            StatusCode::OK => {
                if offset > 0 {
                    // A 200 carries the whole file: appending it would corrupt the partial file.
                    tracing::info!(url = %http::redact(url), offset, "server ignored the range request, starting over");
                    partial.reset()?;
                }
            }
            StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
                partial.reset()?;
                return Err(FetchError::BadRange {
                    url: http::redact(url),
                    detail: "416 (range not satisfiable)".into(),
                });
            }
            _ => return Err(status_error(url, &resp)),
        }
        let expected_total = body_len.map(|n| n + partial.len());
        progress.restart(partial.len(), expected_total);
        let mut resp = resp;
        if let Some(total) = expected_total {
            // The per-chunk check in `Partial::write` covers servers that lie or send no length.
            check_size(url, partial, total)?;
        }
        while let Some(chunk) = self.chunk(url, &mut resp).await? {
            let n = chunk.len() as u64;
            write(url, partial, chunk)?;
            progress.advance(n);
        }
        if let Some(total) = expected_total
            && partial.len() != total
        {
            return Err(FetchError::Truncated {
                url: http::redact(url),
                got: partial.len(),
                expected: total,
            });
        }
        Ok(resumed)
    }

    async fn copy_file(
        &self,
        url: &Url,
        partial: &mut Partial,
        progress: &mut Progress,
    ) -> Result<(), FetchError> {
        let mut local = LocalFile::open(url, self.local_path(url));
        let size = local.size(self.stall).await?;
        partial.reset()?;
        check_size(url, partial, size)?;
        progress.restart(0, Some(size));
        while let Some(chunk) = local.chunk(self.stall).await? {
            let n = chunk.len() as u64;
            write(url, partial, chunk)?;
            progress.advance(n);
        }
        Ok(())
    }

    async fn send(
        &self,
        url: &Url,
        range_from: Option<u64>,
    ) -> Result<reqwest::Response, FetchError> {
        let mut req = self.client().get(url.clone());
        if let Some(offset) = range_from {
            req = req.header(RANGE, format!("bytes={offset}-"));
        }
        self.on_wire(url, req.send()).await
    }

    async fn chunk(
        &self,
        url: &Url,
        resp: &mut reqwest::Response,
    ) -> Result<Option<bytes::Bytes>, FetchError> {
        self.on_wire(url, resp.chunk()).await
    }

    /// Waits for a network step; no progress for the stall timeout is a stall.
    async fn on_wire<T>(
        &self,
        url: &Url,
        step: impl Future<Output = reqwest::Result<T>>,
    ) -> Result<T, FetchError> {
        match timeout(self.stall, step).await {
            Err(_) => Err(FetchError::Stalled {
                url: http::redact(url),
                secs: self.stall.as_secs(),
            }),
            Ok(Err(source)) => Err(FetchError::Request {
                url: http::redact(url),
                source: source.without_url(),
            }),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

/// Checks a `206`'s `Content-Range: bytes START-END/TOTAL` against a request for
/// `bytes=OFFSET-`: it must start at the offset and run to the end of a known total, and a
/// `Content-Length` must count exactly those bytes. Anything else would splice a wrong piece
/// into the partial file.
fn check_content_range(range: &str, offset: u64, body_len: Option<u64>) -> Result<(), String> {
    let wrong = |why: &str| {
        Err(format!(
            "206 with Content-Range '{}' ({why}; wanted bytes {offset}-END/TOTAL)",
            crate::shown::quote(range)
        ))
    };
    let Some(spec) = range.trim().strip_prefix("bytes ") else {
        return wrong("not a byte range");
    };
    let Some((span, total)) = spec.split_once('/') else {
        return wrong("no total");
    };
    let Some((start, end)) = span.split_once('-') else {
        return wrong("no range");
    };
    let (Ok(start), Ok(end), Ok(total)) = (
        start.trim().parse::<u64>(),
        end.trim().parse::<u64>(),
        total.trim().parse::<u64>(),
    ) else {
        return wrong("not numbers");
    };
    if start != offset {
        return wrong("wrong start");
    }
    if end < start || end.checked_add(1) != Some(total) {
        return wrong("does not run to the end of the file");
    }
    if body_len.is_some_and(|len| len != end - start + 1) {
        return wrong("Content-Length disagrees");
    }
    Ok(())
}

/// Refuses a body whose announced size is above the limit, before a byte is written.
/// Remembers the size for a disk-full error.
fn check_size(url: &Url, partial: &mut Partial, total: u64) -> Result<(), FetchError> {
    partial.set_total(total);
    if total > partial.limit() {
        return Err(FetchError::TooLarge {
            url: http::redact(url),
            limit: partial.limit(),
        });
    }
    Ok(())
}

fn write(url: &Url, partial: &mut Partial, chunk: bytes::Bytes) -> Result<(), FetchError> {
    partial.write(chunk).map_err(|e| match e {
        WriteError::TooLarge { limit } => FetchError::TooLarge {
            url: http::redact(url),
            limit,
        },
        WriteError::Io(e) => e.into(),
    })
}

fn check_status(url: &Url, resp: &reqwest::Response) -> Result<(), FetchError> {
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(status_error(url, resp))
    }
}

/// The error for an unwanted status. A redirect reaches here only when the client would not
/// follow it (the policy refuses https to http and too many hops with their own errors).
fn status_error(url: &Url, resp: &reqwest::Response) -> FetchError {
    let status = resp.status().as_u16();
    if resp.status().is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let why = match location.as_deref().map(|l| url.join(l)) {
            None => "it names no Location".to_string(),
            Some(Err(_)) => "its Location is not a URL".to_string(),
            Some(Ok(to)) if !matches!(to.scheme(), "http" | "https") => format!(
                "redirects are followed only to http and https URLs, not {}",
                to.scheme()
            ),
            Some(Ok(_)) => "the HTTP client did not follow it".to_string(),
        };
        return FetchError::Redirect {
            url: http::redact(url),
            status,
            location: location
                .as_deref()
                .map_or_else(String::new, crate::shown::quote),
            why,
        };
    }
    FetchError::Status {
        url: http::redact(url),
        status,
    }
}

/// What the reading thread of a `file://` mirror sends.
enum Local {
    Size(u64),
    Chunk(bytes::Bytes),
}

/// A `file://` mirror's file, read on its own thread: a hung mount (NFS) blocks that thread,
/// never the async one, so the stall timeout and `KUBE_FETCH_DEADLINE` still apply. Only a
/// regular file is read: a FIFO or device at the path is refused, opened without blocking.
struct LocalFile {
    url: Url,
    path: PathBuf,
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Local>>,
}

impl LocalFile {
    fn open(url: &Url, path: PathBuf) -> LocalFile {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let from = path.clone();
        // Detached: if the file hangs, the thread is left blocked and dies with the process.
        std::thread::spawn(move || {
            let file = match open_regular(&from) {
                Ok(f) => f,
                Err(e) => return drop(tx.blocking_send(Err(e))),
            };
            let size = file.metadata().map(|m| m.len());
            if tx.blocking_send(size.map(Local::Size)).is_err() {
                return;
            }
            let mut file = file;
            let mut buf = vec![0u8; BUF_SIZE];
            loop {
                let item = match file.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => Ok(Local::Chunk(bytes::Bytes::copy_from_slice(&buf[..n]))),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        LocalFile {
            url: url.clone(),
            path,
            rx,
        }
    }

    async fn next(&mut self, stall: Duration) -> Result<Option<Local>, FetchError> {
        match timeout(stall, self.rx.recv()).await {
            Err(_) => Err(FetchError::Stalled {
                url: http::redact(&self.url),
                secs: stall.as_secs(),
            }),
            Ok(None) => Ok(None),
            Ok(Some(Ok(item))) => Ok(Some(item)),
            Ok(Some(Err(source))) => Err(FetchError::FileMirror {
                url: http::redact(&self.url),
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// The file's size, once it is open.
    async fn size(&mut self, stall: Duration) -> Result<u64, FetchError> {
        match self.next(stall).await? {
            Some(Local::Size(n)) => Ok(n),
            _ => Err(FetchError::FileMirror {
                url: http::redact(&self.url),
                path: self.path.clone(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            }),
        }
    }

    /// The next chunk; `None` at the end of the file.
    async fn chunk(&mut self, stall: Duration) -> Result<Option<bytes::Bytes>, FetchError> {
        match self.next(stall).await? {
            Some(Local::Chunk(c)) => Ok(Some(c)),
            _ => Ok(None),
        }
    }
}

/// Opens a file without blocking on a FIFO, and only if it is a regular file.
fn open_regular(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or directory is never read)",
        ));
    }
    Ok(file)
}

fn build_client(settings: &Settings) -> Result<Client, http::Error> {
    let ca = match &settings.ca_file {
        Some(ca) => http::Ca::Required {
            path: settings.path(ca),
            var: crate::env_vars::KUBE_CA_FILE,
        },
        None => http::Ca::System,
    };
    http::client(&http::Options {
        ca,
        connect_timeout: settings.stall_timeout,
        timeout: None,
        follow_redirects: true,
        proxies: Some(settings.proxies.clone()),
        identity: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_must_cover_the_rest_of_the_file() {
        for (range, offset, len, ok) in [
            ("bytes 100-999/1000", 100, Some(900), true),
            ("bytes 100-999/1000", 100, None, true),
            ("bytes 100-998/1000", 100, Some(899), false),
            ("bytes 100-999/1001", 100, Some(900), false),
            ("bytes 101-999/1000", 100, Some(899), false),
            ("bytes 100-999/1000", 100, Some(899), false),
            ("bytes 100-999/*", 100, Some(900), false),
            ("bytes */1000", 100, None, false),
            ("items 100-999/1000", 100, Some(900), false),
            ("", 100, Some(900), false),
            ("bytes 100-99/100", 100, Some(0), false),
            ("bytes 100-18446744073709551615/0", 100, None, false),
        ] {
            assert_eq!(
                check_content_range(range, offset, len).is_ok(),
                ok,
                "{range} at {offset} with length {len:?}"
            );
        }
    }
}
