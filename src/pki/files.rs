//! Reading and writing the files of `KUBE_PKI_DIR`: whole or not at all, with final modes.

use std::fs;
use std::io;
use std::path::Path;

use super::{Error, io_err};
use crate::x509::{self, CertInfo};

/// Largest file of `KUBE_PKI_DIR` read (an operator's CA bundle is a few KiB).
pub(crate) const MAX_PKI_FILE: u64 = 1 << 20;

/// Reads a file of `KUBE_PKI_DIR`; `None` when it does not exist. Bounded and non-blocking,
/// like every file others could plant: a FIFO, a device or a huge file is an error naming it.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    read_bounded(path, MAX_PKI_FILE)
}

/// [`read_optional`] with its own limit (a bundle).
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Option<Vec<u8>>, Error> {
    use crate::fsutil::BoundedReadError;
    match crate::fsutil::read_bounded(path, max) {
        Ok(b) => Ok(Some(b)),
        Err(BoundedReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(BoundedReadError::Io(e)) => Err(io_err("read", path)(e)),
        Err(BoundedReadError::NotRegular) => Err(Error::NotRegular {
            path: path.to_path_buf(),
        }),
        Err(BoundedReadError::TooLarge) => Err(Error::TooLarge {
            path: path.to_path_buf(),
            max,
        }),
    }
}

/// An exclusive lock on `KUBE_PKI_DIR`, held while a command reads and writes it, so two
/// `pki init`, `pki node` or `pki install` runs never mix their files.
pub(crate) struct DirLock(#[allow(dead_code)] nix::fcntl::Flock<fs::File>);

/// Takes the lock of `dir`, waiting for another pki command to finish. The `flock` is on the
/// directory itself: no lock file to publish or clean up, and a read-only directory still
/// locks (its commands then fail only if they need to write).
pub(crate) fn lock_dir(dir: &Path) -> Result<DirLock, Error> {
    use nix::fcntl::{Flock, FlockArg};
    use std::os::unix::fs::OpenOptionsExt;
    create_dir(dir)?;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC)
        .open(dir)
        .map_err(io_err("open", dir))?;
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => return Ok(DirLock(lock)),
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => file,
        Err((_, errno)) => return Err(io_err("lock", dir)(errno.into())),
    };
    tracing::info!(dir = %dir.display(), "another pki command is using this directory, waiting for it");
    // pki is run by hand or by a oneshot unit: waiting for the other run is what is wanted.
    Flock::lock(file, FlockArg::LockExclusive)
        .map(DirLock)
        .map_err(|(_, errno)| io_err("lock", dir)(errno.into()))
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

/// Stages a file (written and fsynced beside `path`, renamed over it by `commit`).
pub(crate) fn stage(path: &Path, bytes: &[u8], mode: u32) -> Result<crate::fsutil::Staged, Error> {
    crate::fsutil::stage(path, bytes, mode).map_err(from_fsutil)
}

/// Stages a file only when its content or mode differ.
pub(crate) fn stage_if_changed(
    path: &Path,
    bytes: &[u8],
    mode: u32,
) -> Result<Option<crate::fsutil::Staged>, Error> {
    crate::fsutil::stage_if_changed(path, bytes, mode).map_err(from_fsutil)
}

/// Renames staged files into place, in order.
pub(crate) fn commit(staged: Vec<crate::fsutil::Staged>) -> Result<(), Error> {
    for s in staged {
        s.commit().map_err(from_fsutil)?;
    }
    Ok(())
}

fn from_fsutil(e: crate::fsutil::Error) -> Error {
    Error::Io {
        action: e.action,
        path: e.path,
        source: e.source,
    }
}

/// The pki directory: 0700 when this creates it, whatever the umask (it holds private keys).
pub(super) fn create_private_dir(dir: &Path) -> Result<(), Error> {
    crate::fsutil::create_dir_mode(dir, 0o700).map_err(from_fsutil)
}

/// What `pki check` says of a pki directory that group or others may read or enter, and the fix.
pub(super) fn open_dir_mode(dir: &Path) -> Option<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(dir).ok().filter(|m| m.is_dir())?;
    let mode = meta.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then(|| {
        (
            format!(
                "pki directory open to group or others (mode {mode:04o}); it holds private keys"
            ),
            format!("chmod 700 '{}'", dir.display()),
        )
    })
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

/// Reads back a pair just written: the certificate parses, the key is its private half and,
/// when a CA is given, the CA signed it. A file that does not read back as written (another
/// writer, a failing disk) is an error, never a silent success.
pub(crate) fn verify_pair(crt: &Path, key: &Path, ca: Option<&CertInfo>) -> Result<(), Error> {
    let not_verified = |path: &Path, expected: &str| Error::NotVerified {
        path: path.to_path_buf(),
        expected: expected.into(),
    };
    let cert = read_optional(crt)?.ok_or_else(|| not_verified(crt, "a certificate"))?;
    let info = parse_cert(crt, &cert)?;
    let key_pem = read_optional(key)?.ok_or_else(|| not_verified(key, "a private key"))?;
    if !x509::key_matches(&info, &String::from_utf8_lossy(&key_pem)).unwrap_or(false) {
        return Err(not_verified(
            key,
            "the private key of the certificate beside it",
        ));
    }
    if ca.is_some_and(|ca| !x509::signed_by(&info, ca)) {
        return Err(not_verified(crt, "a certificate signed by ca.crt"));
    }
    Ok(())
}

#[cfg(test)]
mod dir_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn pki_dir_is_made_0700_and_an_open_one_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/pki");
        create_private_dir(&dir).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(open_dir_mode(&dir), None);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        // An existing directory keeps the operator's mode; check names it.
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750);
        let (what, hint) = open_dir_mode(&dir).unwrap();
        assert!(what.contains("mode 0750"), "{what}");
        assert!(hint.starts_with("chmod 700 "), "{hint}");
    }
}
