//! The `.partial` file beside the target: every byte hashed as it is written, resumable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::checksum::{BUF_SIZE, hex};
use crate::error::Error;
use crate::fsutil::io_err;

/// Why a write into the partial file was refused.
#[derive(Debug)]
pub enum WriteError {
    /// The body grew past the size limit.
    TooLarge { limit: u64 },
    /// The local disk failed.
    Io(Error),
}

/// A download in progress. Unverified bytes live only here, never at the target path, and the
/// file is not executable until it is installed.
#[derive(Debug)]
pub struct Partial {
    path: PathBuf,
    file: File,
    hasher: Sha256,
    len: u64,
    limit: u64,
}

impl Partial {
    /// Opens (or creates) the partial file. Bytes already there from an interrupted download
    /// are re-hashed so the download can resume after them.
    pub fn open(path: &Path, limit: u64) -> Result<Partial, Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err("create partial file", path))?;
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
        let mut partial = Partial {
            path: path.to_path_buf(),
            file,
            hasher,
            len,
            limit,
        };
        if len > limit {
            partial.reset()?;
        }
        Ok(partial)
    }

    /// Bytes already written.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The largest size accepted.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts over from zero bytes.
    pub fn reset(&mut self) -> Result<(), Error> {
        self.file
            .set_len(0)
            .map_err(io_err("truncate partial file", &self.path))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_err("seek partial file", &self.path))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(())
    }

    /// Hashes and appends a chunk.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), WriteError> {
        if self.len + chunk.len() as u64 > self.limit {
            return Err(WriteError::TooLarge { limit: self.limit });
        }
        self.file.write_all(chunk).map_err(|source| {
            WriteError::Io(Error::Io {
                action: "write partial file",
                path: self.path.clone(),
                source,
            })
        })?;
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }

    /// fsyncs the bytes and returns the sha256 of everything written.
    pub fn finish(&mut self) -> Result<String, Error> {
        self.file
            .sync_all()
            .map_err(io_err("fsync partial file", &self.path))?;
        Ok(hex(&self.hasher.clone().finalize()))
    }

    /// Reads the first bytes, for the ELF check.
    pub fn header(&self, n: usize) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; n];
        let mut f = File::open(&self.path).map_err(io_err("read partial file", &self.path))?;
        let mut got = 0;
        while got < n {
            match f.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_hash_equals_one_shot_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kubelet.partial");
        let mut p = Partial::open(&path, 1 << 20).unwrap();
        p.write(b"hello ").unwrap();
        drop(p);
        let mut p = Partial::open(&path, 1 << 20).unwrap();
        assert_eq!(p.len(), 6);
        p.write(b"world").unwrap();
        assert_eq!(p.finish().unwrap(), hex(&Sha256::digest(b"hello world")));
    }

    #[test]
    fn limit_is_enforced_and_reset_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        let mut p = Partial::open(&path, 8).unwrap();
        p.write(b"12345678").unwrap();
        assert!(matches!(
            p.write(b"9"),
            Err(WriteError::TooLarge { limit: 8 })
        ));
        p.reset().unwrap();
        p.write(b"abc").unwrap();
        assert_eq!(p.finish().unwrap(), hex(&Sha256::digest(b"abc")));
        assert_eq!(fs::read(&path).unwrap(), b"abc");
    }
}
