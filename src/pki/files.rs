//! Reading and writing the files of `KUBE_PKI_DIR`: whole or not at all, with final modes.

use std::fs;
use std::io;
use std::path::Path;

use super::{Error, io_err};
use crate::x509::{self, CertInfo};

/// Reads a file of `KUBE_PKI_DIR`; `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

/// Writes `bytes` to `path` whole or not at all, with `mode`, through `fsutil::write_atomic`
/// (a new temporary file in the same directory opened with `O_EXCL|O_NOFOLLOW`, write, fsync,
/// rename over `path`, fsync the directory). On any failure `path` is as it was.
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    crate::fsutil::write_atomic(path, bytes, mode).map_err(from_fsutil)
}

/// Writes only when content or mode differ; returns whether it wrote.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, Error> {
    crate::fsutil::write_if_changed(path, bytes, mode).map_err(from_fsutil)
}

fn from_fsutil(e: crate::fsutil::Error) -> Error {
    Error::Io {
        action: e.action,
        path: e.path,
        source: e.source,
    }
}

pub(super) fn create_dir(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

pub(super) fn parse_cert(path: &Path, bytes: &[u8]) -> Result<CertInfo, Error> {
    x509::parse_cert_pem(bytes).map_err(|source| Error::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}
