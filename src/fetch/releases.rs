//! Kept releases: verified copies of binaries that were installed before, under
//! `<state>/releases/<binary>/<version>-<arch>-<sha256>` with a `.json` beside each, so that
//! switching `KUBE_VERSION` back needs no network. At most `KUBE_KEEP_RELEASES` per binary.
//!
//! A copy is kept when a release is about to be replaced, hashed as it is copied and kept only
//! when it matches its install record. Going back copies the kept file, hashed again, into the
//! same `.partial` file a download would use and installs it the same way: nothing unverified
//! and nothing but a regular file ever lands at `<bin_dir>/<binary>`. Kept copies are not
//! executable.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::checksum::BUF_SIZE;
use super::partial::{Partial, WriteError};
use super::{Error, Paths, Record, STATE_DIR, install};
use crate::fsutil::{self, io_err};
use crate::settings::Settings;

/// What is known about a kept copy (the `.json` beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub binary: String,
    pub version: String,
    pub arch: String,
    pub sha256: String,
    pub size: u64,
    /// Where the release was first downloaded from.
    pub url: String,
    /// Nanoseconds since the epoch when it was last kept or restored; the oldest go first.
    pub kept_at: u64,
    /// Nanoseconds since the epoch when it was installed (its install record written), for
    /// `releases`; absent in copies kept by older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<u64>,
}

/// A kept copy and its file.
#[derive(Debug, Clone)]
pub struct KeptFile {
    pub meta: Kept,
    pub path: PathBuf,
}

/// The store of one binary.
pub fn store(settings: &Settings, binary: &str) -> PathBuf {
    settings.path(STATE_DIR).join("releases").join(binary)
}

/// The kept copies of `binary`, most recently kept first. Unreadable entries are skipped.
pub fn list(settings: &Settings, binary: &str) -> Vec<KeptFile> {
    let dir = store(settings, binary);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<KeptFile> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json")?;
            let bytes = fsutil::read_bounded(&e.path(), 64 * 1024).ok()?;
            let meta: Kept = serde_json::from_slice(&bytes).ok()?;
            let path = dir.join(stem);
            std::fs::symlink_metadata(&path)
                .is_ok_and(|m| m.is_file())
                .then_some(KeptFile { meta, path })
        })
        .collect();
    out.sort_by_key(|k| std::cmp::Reverse(k.meta.kept_at));
    out
}

/// `v1.35.3 (110.2 MiB), v1.36.4 (112.0 MiB)` and the bytes they take, for logs and doctor.
pub fn summary(kept: &[KeptFile]) -> (String, u64) {
    let total = kept.iter().map(|k| k.meta.size).sum();
    let text = kept
        .iter()
        .map(|k| format!("{} ({})", k.meta.version, super::human(k.meta.size)))
        .collect::<Vec<_>>()
        .join(", ");
    (text, total)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Copies `src` into the partial file at `partial`, hashing every byte; the partial is
/// fsynced, and its digest and size returned. `src` is opened without following a symlink.
/// On any failure the partial file is removed: a copy that failed (a full disk above all)
/// must not stay behind and keep the disk full.
fn copy_hashed(src: &Path, partial: &Path, limit: u64) -> Result<(Partial, String), Error> {
    let copied = copy_hashed_into(src, partial, limit);
    if copied.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    copied
}

fn copy_hashed_into(src: &Path, partial: &Path, limit: u64) -> Result<(Partial, String), Error> {
    let mut from = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(src)
        .map_err(io_err("open", src))?;
    let meta = from.metadata().map_err(io_err("stat", src))?;
    if !meta.is_file() {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        return Err(io_err("copy", src)(e).into());
    }
    let mut out = Partial::open(partial, limit)?;
    out.reset()?;
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = from.read(&mut buf).map_err(io_err("read", src))?;
        if n == 0 {
            break;
        }
        out.write(bytes::Bytes::copy_from_slice(&buf[..n]))
            .map_err(|e| match e {
                WriteError::Io(e) => e,
                WriteError::TooLarge { .. } => io_err("copy", src)(std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    "larger than KUBE_MAX_DOWNLOAD_BYTES",
                )),
            })?;
    }
    let sha = out.finish()?;
    Ok((out, sha))
}

/// Keeps a verified copy of the installed binary before another release replaces it. Best
/// effort: a failure is logged, never fatal (the new release still installs).
pub fn keep_installed(settings: &Settings, paths: &Paths) {
    if settings.keep_releases == 0 {
        // Copies kept under an earlier setting go too: 0 means none kept.
        prune(settings, paths.binary);
        return;
    }
    let Some(record) = Record::read(&paths.record) else {
        return;
    };
    if let Err(e) = keep(settings, paths, &record) {
        tracing::warn!(binary = %paths.binary, version = %record.version, error = %crate::causes::chain(&e), "cannot keep the installed release for a rollback");
    }
}

fn keep(settings: &Settings, paths: &Paths, record: &Record) -> Result<(), Error> {
    let dir = store(settings, paths.binary);
    let name = format!("{}-{}-{}", record.version, record.arch, record.sha256);
    let file = dir.join(&name);
    let json = meta_path(&file);
    let mut meta = Kept {
        binary: paths.binary.to_string(),
        version: record.version.clone(),
        arch: record.arch.clone(),
        sha256: record.sha256.clone(),
        size: record.size,
        url: record.url.clone(),
        kept_at: now(),
        installed_at: std::fs::metadata(&paths.record)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_nanos()).ok()),
    };
    let already = list(settings, paths.binary)
        .into_iter()
        .any(|k| k.path == file && k.meta.sha256 == record.sha256);
    if !already {
        fsutil::create_dir_all(&dir)?;
        let partial = dir.join(format!(".{name}.partial"));
        let (out, sha) = copy_hashed(&paths.target, &partial, settings.max_download_bytes)?;
        if sha != record.sha256 {
            out.discard();
            tracing::warn!(binary = %paths.binary, version = %record.version, expected = %record.sha256, computed = %sha, "the installed binary does not match its record; not keeping it");
            return Ok(());
        }
        meta.size = out.len();
        let kept = std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("set permissions on", out.path()))
            .and_then(|()| std::fs::rename(out.path(), &file).map_err(io_err("keep", &file)));
        if let Err(e) = kept {
            out.discard();
            return Err(e.into());
        }
        // A copy without its `.json` is invisible to `list` and would never be pruned.
        if let Err(e) = write_meta(&json, &meta) {
            let _ = std::fs::remove_file(&file);
            return Err(e.into());
        }
    } else {
        write_meta(&json, &meta)?;
    }
    fsutil::sync_dir(&dir)?;
    tracing::info!(binary = %paths.binary, version = %record.version, sha256 = %record.sha256, path = %file.display(), "kept for a rollback");
    prune(settings, paths.binary);
    Ok(())
}

fn write_meta(path: &Path, meta: &Kept) -> Result<(), fsutil::Error> {
    // Serializing plain strings and integers cannot fail.
    let mut json = serde_json::to_vec_pretty(meta).unwrap_or_default();
    json.push(b'\n');
    fsutil::write_atomic(path, &json, 0o644)
}

/// Removes the least recently kept copies beyond `KUBE_KEEP_RELEASES`, and what interrupted
/// keeps left in the store: partial copies, and copies without their `.json`.
pub(super) fn prune(settings: &Settings, binary: &str) {
    let dir = store(settings, binary);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let orphan = !name.starts_with('.')
                && !name.ends_with(".json")
                && std::fs::symlink_metadata(meta_path(&entry.path())).is_err();
            if (name.starts_with('.') && name.ends_with(".partial")) || orphan {
                tracing::info!(binary, path = %entry.path().display(), "removing what an interrupted keep left");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for old in list(settings, binary)
        .into_iter()
        .skip(settings.keep_releases as usize)
    {
        tracing::info!(binary, version = %old.meta.version, path = %old.path.display(), "dropping a kept release (KUBE_KEEP_RELEASES)");
        let _ = std::fs::remove_file(&old.path);
        let _ = std::fs::remove_file(meta_path(&old.path));
    }
}

/// Installs the release `settings` asks for from a kept copy, without the network: the copy
/// is hashed again into the partial file and must match its recorded digest and the pin.
/// `None` when no usable copy is kept.
pub fn restore(
    settings: &Settings,
    paths: &Paths,
    pin: Option<&str>,
) -> Result<Option<Record>, Error> {
    let version = settings.version.to_string();
    let wanted: Vec<KeptFile> = list(settings, paths.binary)
        .into_iter()
        .filter(|k| k.meta.version == version && k.meta.arch == settings.arch.as_str())
        .collect();
    let Some(kept) = wanted
        .iter()
        .find(|k| pin.is_none_or(|p| p == k.meta.sha256))
        .cloned()
    else {
        // The release is kept, but the pin names other bytes: say so, with where the pin came
        // from, rather than download and blame the mirror.
        if let (Some(pinned), Some(k)) = (pin, wanted.first()) {
            let var = crate::env_vars::sha256_pin(paths.binary);
            return Err(Error::StalePin(Box::new(super::StalePin {
                binary: paths.binary,
                origin: settings
                    .origins
                    .get(&var)
                    .cloned()
                    .unwrap_or(crate::settings::Origin::Default),
                var,
                version,
                pinned: pinned.to_string(),
                kept: k.meta.sha256.clone(),
            })));
        }
        return Ok(None);
    };
    fsutil::create_dir_all(&paths.bin_dir)?;
    let partial_path = paths.partial(&kept.meta.sha256);
    let (out, sha) = match copy_hashed(&kept.path, &partial_path, settings.max_download_bytes) {
        Ok(copied) => copied,
        // Said as a download says it: the partial is gone, and where and how much is named.
        Err(Error::Io(e)) if super::install::is_disk_full(&e.source) => {
            return Err(Error::DiskFull {
                binary: paths.binary,
                dir: paths.bin_dir.clone(),
                needed: Some(kept.meta.size),
                available: nix::sys::statvfs::statvfs(&paths.bin_dir)
                    .ok()
                    .map(|s| s.blocks_available().saturating_mul(s.fragment_size())),
                source: e.source,
            });
        }
        Err(e) => return Err(e),
    };
    let header = super::read_header(out.path()).map_err(io_err("read", out.path()))?;
    if sha != kept.meta.sha256 || crate::arch::check_elf(&header, settings.arch).is_err() {
        out.discard();
        tracing::warn!(binary = %paths.binary, version = %version, path = %kept.path.display(), expected = %kept.meta.sha256, computed = %sha, "kept copy is corrupt; dropping it and downloading");
        let _ = std::fs::remove_file(&kept.path);
        return Ok(None);
    }
    let size = out.len();
    keep_installed(settings, paths);
    let url = Url::parse(&kept.meta.url)
        .or_else(|_| Url::from_file_path(&kept.path))
        .map_err(|()| {
            io_err("use", &kept.path)(std::io::Error::from(std::io::ErrorKind::InvalidData))
        })?;
    let record = install(settings, paths, out, &url, &sha, size)?;
    // Only the order of pruning depends on it: the release is installed either way.
    let touched = Kept {
        kept_at: now(),
        ..kept.meta
    };
    if let Err(e) = write_meta(&meta_path(&kept.path), &touched) {
        tracing::warn!(binary = %paths.binary, error = %crate::causes::chain(&e), "cannot update when the kept release was last used");
    }
    tracing::info!(binary = %paths.binary, version = %version, sha256 = %sha, path = %paths.target.display(), "restored a kept release, no network used");
    Ok(Some(record))
}

/// Logs which releases of `binary` are kept and the disk they use.
pub fn log_kept(settings: &Settings, binary: &str) {
    let kept = list(settings, binary);
    if kept.is_empty() {
        return;
    }
    let (text, bytes) = summary(&kept);
    tracing::info!(binary, kept = %text, bytes, limit = settings.keep_releases, "kept releases");
}

/// The `.json` beside a kept file.
fn meta_path(file: &Path) -> PathBuf {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!("{name}.json"))
}
