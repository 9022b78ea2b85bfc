//! Reading and writing the files of `KUBE_PKI_DIR`: whole or not at all, with final modes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// Writes `bytes` to `path` whole or not at all, with `mode`: a new temporary file in the same
/// directory (`O_EXCL`, `O_NOFOLLOW`), write, fsync, rename over `path`, fsync the directory.
/// On any failure the temporary file is removed and `path` is as it was.
pub(crate) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let dir = crate::fsutil::parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        f.write_all(bytes).map_err(io_err("write", &tmp))?;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_err("set permissions on", &tmp))?;
        f.sync_all().map_err(io_err("fsync", &tmp))?;
        fs::rename(&tmp, path).map_err(io_err("rename into place", path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Writes only when content or mode differ; returns whether it wrote.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, Error> {
    if let Some(existing) = read_optional(path)? {
        let current = fs::symlink_metadata(path)
            .map_err(io_err("stat", path))?
            .permissions()
            .mode()
            & 0o7777;
        if existing == bytes && current == mode {
            return Ok(false);
        }
    }
    write_file(path, bytes, mode)?;
    Ok(true)
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
