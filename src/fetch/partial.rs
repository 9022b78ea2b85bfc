//! The `.partial` file beside the target: every byte hashed as it is written, resumable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::checksum::{BUF_SIZE, hex};
use crate::fsutil::{Error, io_err};

/// Chunks queued for the hashing thread; bounds memory to this many chunks in flight.
const HASH_QUEUE: usize = 4;
/// Dirty bytes after which writeback is started, so the final fsync has little left to do.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// Why a write into the partial file was refused.
#[derive(Debug)]
pub enum WriteError {
    /// The body grew past the size limit.
    TooLarge { limit: u64 },
    /// The local disk failed.
    Io(Error),
}

enum Msg {
    Data(Bytes),
    Reset,
}

/// SHA-256 on its own thread, so hashing overlaps the network and the disk.
#[derive(Debug)]
struct HashThread {
    tx: SyncSender<Msg>,
    handle: JoinHandle<Sha256>,
}

impl HashThread {
    fn spawn(mut hasher: Sha256) -> HashThread {
        let (tx, rx) = mpsc::sync_channel::<Msg>(HASH_QUEUE);
        let handle = std::thread::spawn(move || {
            for msg in rx {
                match msg {
                    Msg::Data(chunk) => hasher.update(&chunk),
                    Msg::Reset => hasher = Sha256::new(),
                }
            }
            hasher
        });
        HashThread { tx, handle }
    }

    fn send(&self, msg: Msg) {
        // The thread only stops when `tx` is dropped, in `finish`.
        let _ = self.tx.send(msg);
    }

    fn finish(self) -> String {
        drop(self.tx);
        // The hashing loop cannot panic; a join error would be an invariant broken in sha2.
        hex(&self.handle.join().expect("hashing thread").finalize())
    }
}

/// A download in progress. Unverified bytes live only here, never at the target path, and the
/// file is not executable until it is installed.
#[derive(Debug)]
pub struct Partial {
    /// The whole file's size, when the source announced it.
    total: Option<u64>,
    /// The sha256 of the bytes found on disk when it was opened, if there were any.
    existing: Option<String>,
    path: PathBuf,
    file: File,
    hasher: Option<HashThread>,
    len: u64,
    limit: u64,
    unsynced: u64,
}

impl Partial {
    /// Opens (or creates) the partial file. Bytes already there from an interrupted download
    /// are re-hashed so the download can resume after them. Only a regular file with one link
    /// is resumed: a symlink, FIFO, device or hard link planted at `path` is removed (the entry,
    /// never what it points at) and a new file is created exclusively in its place.
    pub fn open(path: &Path, limit: u64) -> Result<Partial, Error> {
        let mut file = match open_existing(path)? {
            Some(file) => file,
            None => crate::fsutil::create_new(path, 0o600)
                .map_err(io_err("create partial file", path))?,
        };
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(io_err("read partial file", path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            len += n as u64;
        }
        // What is already there may be the whole file (a run killed between fsync and rename).
        let existing = (len > 0).then(|| hex(&hasher.clone().finalize()));
        let mut partial = Partial {
            total: None,
            existing,
            path: path.to_path_buf(),
            file,
            hasher: Some(HashThread::spawn(hasher)),
            len,
            limit,
            unsynced: 0,
        };
        if len > limit {
            partial.reset()?;
        }
        Ok(partial)
    }

    /// Closes the writable descriptor and returns the same file opened read-only, for installing
    /// it by descriptor: a binary still open for writing cannot be executed (`ETXTBSY`), so an
    /// `exec` right after the rename must not find our write handle.
    pub fn into_read_only(self) -> Result<(File, PathBuf), Error> {
        let written = self
            .file
            .metadata()
            .map_err(io_err("stat partial file", &self.path))?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&self.path)
            .map_err(io_err("reopen partial file", &self.path))?;
        let reopened = file
            .metadata()
            .map_err(io_err("stat partial file", &self.path))?;
        if (reopened.dev(), reopened.ino()) != (written.dev(), written.ino()) {
            return Err(Error {
                action: "reopen partial file (it was replaced meanwhile)",
                path: self.path.clone(),
                source: io::ErrorKind::AlreadyExists.into(),
            });
        }
        Ok((file, self.path))
    }

    /// Where the partial file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the bytes found on disk at open already hash to `sha256`: nothing is left to
    /// download.
    pub fn is_complete(&self, sha256: &str) -> bool {
        self.existing.as_deref() == Some(sha256)
    }

    /// Bytes already written.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Records the whole file's size, as the source announced it.
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
    }

    /// The whole file's size, if the source announced it.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// The largest size accepted.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Starts over from zero bytes.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.file
            .set_len(0)
            .map_err(io_err("truncate partial file", &self.path))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_err("seek partial file", &self.path))?;
        if let Some(h) = &self.hasher {
            h.send(Msg::Reset);
        }
        self.len = 0;
        self.unsynced = 0;
        self.existing = None;
        Ok(())
    }

    /// Appends a chunk; the hashing thread sees the same bytes in the same order.
    pub fn write(&mut self, chunk: Bytes) -> Result<(), WriteError> {
        if self.len + chunk.len() as u64 > self.limit {
            return Err(WriteError::TooLarge { limit: self.limit });
        }
        self.file.write_all(&chunk).map_err(|source| {
            WriteError::Io(Error {
                action: "write partial file",
                path: self.path.clone(),
                source,
            })
        })?;
        self.len += chunk.len() as u64;
        self.unsynced += chunk.len() as u64;
        if self.unsynced >= WRITEBACK_EVERY {
            self.start_writeback();
        }
        if let Some(h) = &self.hasher {
            h.send(Msg::Data(chunk));
        }
        Ok(())
    }

    /// Asks the kernel to start writing dirty pages now instead of at the final fsync.
    fn start_writeback(&mut self) {
        self.unsynced = 0;
        // SAFETY: sync_file_range only reads its integer arguments; the descriptor is owned by
        // `self.file` and open for the duration of the call.
        let rc = unsafe {
            nix::libc::sync_file_range(
                self.file.as_raw_fd(),
                0,
                0,
                nix::libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        if rc != 0 {
            tracing::debug!(path = %self.path.display(), error = %io::Error::last_os_error(), "sync_file_range failed");
        }
    }

    /// fsyncs the bytes and returns the sha256 of everything written. Call once.
    pub fn finish(&mut self) -> Result<String, Error> {
        self.file
            .sync_all()
            .map_err(io_err("fsync partial file", &self.path))?;
        Ok(self
            .hasher
            .take()
            .map(HashThread::finish)
            .unwrap_or_default())
    }

    /// Reads the first bytes, for the ELF check (from the open file, not the path).
    pub fn header(&self, n: usize) -> Result<Vec<u8>, Error> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.file.read_at(&mut buf[got..], got as u64) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error {
                        action: "read partial file",
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    /// Deletes the file (after a checksum failure: its bytes must not be resumed from).
    pub fn discard(self) {
        if let Err(e) = fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove partial file");
        }
    }
}

/// Opens a partial file left by an earlier run, if it is one we can have written: a regular
/// file with a single link. Anything else at the path is unlinked and `None` returned.
fn open_existing(path: &Path) -> Result<Option<File>, Error> {
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        // Non-blocking: opening a FIFO must not wait for a writer.
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path);
    let why = match opened {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Ok(file) => match file.metadata() {
            Ok(m) if m.is_file() && m.nlink() == 1 => {
                // Back to blocking I/O for a regular file.
                nix::fcntl::fcntl(
                    &file,
                    nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::empty()),
                )
                .map_err(|e| io_err("open partial file", path)(e.into()))?;
                return Ok(Some(file));
            }
            Ok(m) if m.is_file() => "a file with other hard links",
            Ok(_) => "not a regular file",
            Err(source) => return Err(io_err("stat partial file", path)(source)),
        },
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => "a symbolic link",
        Err(_) => "not a file that can be opened",
    };
    tracing::warn!(path = %path.display(), reason = why, "removing what is at the partial file's path and starting over");
    fs::remove_file(path).map_err(io_err("remove unexpected partial file", path))?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_hash_equals_one_shot_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kubelet.partial");
        let mut p = Partial::open(&path, 1 << 20).unwrap();
        p.write(Bytes::from_static(b"hello ")).unwrap();
        drop(p);
        let mut p = Partial::open(&path, 1 << 20).unwrap();
        assert_eq!(p.len(), 6);
        p.write(Bytes::from_static(b"world")).unwrap();
        assert_eq!(p.finish().unwrap(), hex(&Sha256::digest(b"hello world")));
    }

    #[test]
    fn limit_is_enforced_and_reset_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        let mut p = Partial::open(&path, 8).unwrap();
        p.write(Bytes::from_static(b"12345678")).unwrap();
        assert!(matches!(
            p.write(Bytes::from_static(b"9")),
            Err(WriteError::TooLarge { limit: 8 })
        ));
        p.reset().unwrap();
        p.write(Bytes::from_static(b"abc")).unwrap();
        assert_eq!(p.finish().unwrap(), hex(&Sha256::digest(b"abc")));
        assert_eq!(fs::read(&path).unwrap(), b"abc");
    }
}
