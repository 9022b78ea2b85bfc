//! Making a verified partial file the installed binary, and what a full disk leaves behind.

use reqwest::Url;

use super::partial::Partial;
use super::record::{Identity, Record};
use super::{Error, FetchError, Paths};
use crate::fsutil::{self, io_err};
use crate::settings::Settings;

pub(super) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::ENOSPC | nix::libc::EDQUOT)
    )
}

/// The `ENOSPC`/`EDQUOT` behind a failed download, if that is what stopped it.
pub(super) fn disk_full(e: &FetchError) -> Option<std::io::Error> {
    match e {
        FetchError::Local(local) => match local.as_ref() {
            Error::Io(io) if is_disk_full(&io.source) => {
                Some(std::io::Error::from_raw_os_error(io.source.raw_os_error()?))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A full disk: the partial file goes (it would keep the filesystem full for everyone), and
/// the error says where, how much was needed and how much is free.
pub(super) fn out_of_space(
    binary: &'static str,
    partial_path: &std::path::Path,
    partial: Partial,
    source: std::io::Error,
) -> Error {
    let needed = partial.total();
    partial.discard();
    let dir = fsutil::parent(partial_path).to_path_buf();
    let available = nix::sys::statvfs::statvfs(&dir)
        .ok()
        .map(|s| s.blocks_available().saturating_mul(s.fragment_size()));
    Error::DiskFull {
        binary,
        dir,
        needed,
        available,
        source,
    }
}

/// Makes a verified partial file the installed binary: mode 0755, the new record staged
/// beside the old one, rename over the target, fsync the directory, then the record renamed
/// into place. A failure before the binary's rename (a full state directory) leaves the
/// previous release and its record; after it, only renames are left, so the node keeps the
/// new release with its record. Mode and identity are taken from the open file we wrote,
/// never through the path, and the target must then be that very file.
pub(super) fn install(
    settings: &Settings,
    paths: &Paths,
    partial: Partial,
    url: &Url,
    sha256: &str,
    size: u64,
) -> Result<Record, Error> {
    use std::os::unix::fs::PermissionsExt;
    let (file, partial) = partial.into_read_only()?;
    file.set_permissions(std::fs::Permissions::from_mode(0o755))
        .map_err(io_err("set permissions on", &partial))?;
    let mut record = Record {
        binary: paths.binary.to_string(),
        version: settings.version.to_string(),
        arch: settings.arch.to_string(),
        url: crate::http::redact(url),
        sha256: sha256.to_string(),
        size,
        identity: Identity::of_file(&file).map_err(io_err("stat", &partial))?,
    };
    // The record first, while the previous release is still in place: this is the write
    // that needs space in the state directory.
    let staged = match record.stage(&paths.record) {
        Ok(staged) => staged,
        Err(e) => {
            if is_disk_full(&e.source) {
                // Verified bytes no one can install: they would only keep the disk full.
                let _ = std::fs::remove_file(&partial);
            }
            return Err(e.into());
        }
    };
    std::fs::rename(&partial, &paths.target).map_err(io_err("install", &paths.target))?;
    fsutil::sync_dir(&paths.bin_dir)?;
    remove_stale_partials(paths);
    let identity = Identity::of_file(&file).map_err(io_err("stat", &paths.target))?;
    let at_target = Identity::of(&paths.target).map_err(io_err("stat", &paths.target))?;
    if (at_target.dev, at_target.ino) != (identity.dev, identity.ino) {
        return Err(fsutil::Error {
            action: "install (another file took its place during the rename)",
            path: paths.target.clone(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        }
        .into());
    }
    staged.commit()?;
    // The rename changed the file's ctime: record the identity it has now, so warm starts
    // trust it without a re-hash. Best effort: the staged record already speaks for these
    // bytes, and a differing identity only means one re-hash by content.
    if identity != record.identity {
        record.identity = identity;
        if let Err(e) = record.write(&paths.record) {
            tracing::debug!(path = %paths.record.display(), error = %crate::causes::chain(&e), "install record keeps the identity from before the rename");
        }
    }
    Ok(record)
}

/// Partial files of other releases of this binary are dead weight once it is installed.
fn remove_stale_partials(paths: &Paths) {
    let prefix = format!(".{}.", paths.binary);
    let Ok(entries) = std::fs::read_dir(&paths.bin_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
