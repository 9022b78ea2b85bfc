//! The install record (`/var/lib/kube-bootstrap/<installed path>.json`): what was installed, and the
//! file identity that lets a warm start trust it without the network or a re-hash.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::checksum;
use crate::fsutil;
use crate::settings::Verify;

/// A file's identity: if any of these change, the file was replaced or modified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub ctime_sec: i64,
    pub ctime_nsec: i64,
}

impl Identity {
    /// The identity of the file at `path` (not following a symlink).
    pub fn of(path: &Path) -> io::Result<Identity> {
        Ok(Identity::from_metadata(&std::fs::symlink_metadata(path)?))
    }

    /// The identity of an open file.
    pub fn of_file(file: &std::fs::File) -> io::Result<Identity> {
        Ok(Identity::from_metadata(&file.metadata()?))
    }

    fn from_metadata(m: &std::fs::Metadata) -> Identity {
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_sec: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime_sec: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
        }
    }
}

/// What `fetch` installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub binary: String,
    pub version: String,
    pub arch: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
    pub identity: Identity,
}

/// Largest install record read.
const MAX_RECORD: u64 = 64 * 1024;

impl Record {
    /// Reads a record: `Ok(None)` only when there is none, an error when it is there but
    /// cannot be read or is not one of ours (too many open files is not a missing record).
    pub fn load(path: &Path) -> Result<Option<Record>, String> {
        // A record is a few hundred bytes: anything much larger, or not a regular file, was
        // not written by us.
        let text = match fsutil::read_bounded(path, MAX_RECORD) {
            Ok(t) => t,
            Err(fsutil::BoundedReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(format!("cannot read it: {e}")),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| format!("not an install record: {e}"))
    }

    /// [`Record::load`] for callers to whom an unusable record is no record; why is logged.
    pub fn read(path: &Path) -> Option<Record> {
        Record::load(path).unwrap_or_else(|reason| {
            tracing::warn!(path = %path.display(), error = %reason, "install record unusable");
            None
        })
    }

    /// Reads a record that may not exist, without a word when it does not.
    pub fn read_if_exists(path: &Path) -> Option<Record> {
        std::fs::symlink_metadata(path).ok()?;
        Record::read(path)
    }

    /// Writes the record atomically.
    pub fn write(&self, path: &Path) -> Result<(), fsutil::Error> {
        self.stage(path)?.commit()
    }

    /// Writes the record beside `path`, to be renamed over it by [`fsutil::Staged::commit`].
    pub fn stage(&self, path: &Path) -> Result<fsutil::Staged, fsutil::Error> {
        // Serializing plain strings and integers cannot fail.
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        fsutil::stage(path, &json, 0o644)
    }
}

/// The file-name key of an installed path, escaped as systemd escapes paths
/// (`/opt/bin/kubelet` gives `opt-bin-kubelet`): `/` becomes `-`, and every byte other than
/// ASCII letters, digits, `_` and a `.` that does not lead becomes `\xNN`.
pub fn path_key(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let parts: Vec<&[u8]> = path
        .as_os_str()
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect();
    let joined = parts.join(&b'/');
    let mut out = String::with_capacity(joined.len());
    for (i, &b) in joined.iter().enumerate() {
        match b {
            b'/' => out.push('-'),
            b'.' if i > 0 => out.push('.'),
            b if b.is_ascii_alphanumeric() || b == b'_' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if out.is_empty() { "-".to_string() } else { out }
}

/// Why an installed binary cannot be trusted as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    NoRecord {
        binary_exists: bool,
    },
    OtherRelease {
        recorded: String,
        wanted: String,
        from: String,
    },
    OtherPin,
    Missing,
    NotRegular,
    Changed,
    /// The record is there but could not be read, or is not one (not the same as missing).
    BadRecord {
        path: String,
        reason: String,
    },
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::NoRecord {
                binary_exists: false,
            } => f.write_str("not installed yet"),
            Stale::NoRecord {
                binary_exists: true,
            } => f.write_str(
                "the binary is there but its install record is missing, so nothing says which bytes it should hold; 'kube-bootstrap fetch' verifies the release against its checksum and records it",
            ),
            Stale::OtherRelease {
                recorded,
                wanted,
                from,
            } => write!(
                f,
                "installed release is {recorded}, wanted {wanted} (KUBE_VERSION from {from})"
            ),
            Stale::OtherPin => f.write_str("installed checksum differs from the pinned one"),
            Stale::Missing => f.write_str("installed binary is missing"),
            Stale::NotRegular => f.write_str("installed binary is not a regular file"),
            Stale::Changed => f.write_str("installed binary changed since it was fetched"),
            Stale::BadRecord { path, reason } => {
                write!(f, "install record '{path}' is unusable: {reason}")
            }
        }
    }
}

/// What the binary must be.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub version: &'a str,
    /// Where the version came from, for messages.
    pub version_from: &'a str,
    pub arch: &'a str,
    pub pin: Option<&'a str>,
    pub verify: Verify,
}

/// A record that can be trusted for the open binary.
#[derive(Debug, Clone)]
pub struct Checked {
    pub record: Record,
    /// Set when the file's identity changed but its content still matches: the record must
    /// be rewritten with the new identity, and this says why.
    pub refreshed: Option<&'static str>,
}

/// Why a record is refreshed when only the file's metadata changed.
pub const SAME_CONTENT: &str = "the file's identity changed (touch, chmod, a hard link or a copy) but it still hashes to the recorded sha256";

/// Checks an open installed binary against its record: the release, the pin, then the file's
/// identity. A differing identity (or `KUBE_VERIFY=full`) means a re-hash of the open file: the
/// same content is trusted, anything else refused.
pub fn check(
    record: Option<Record>,
    file: Result<&File, Stale>,
    wanted: Wanted<'_>,
) -> Result<Checked, Stale> {
    let Some(record) = record else {
        return Err(Stale::NoRecord {
            binary_exists: file.is_ok(),
        });
    };
    if record.version != wanted.version || record.arch != wanted.arch {
        return Err(Stale::OtherRelease {
            recorded: format!("{} {}", record.version, record.arch),
            wanted: format!("{} {}", wanted.version, wanted.arch),
            from: wanted.version_from.to_string(),
        });
    }
    if wanted.pin.is_some_and(|p| p != record.sha256) {
        return Err(Stale::OtherPin);
    }
    let file = file?;
    let identity = Identity::of_file(file).map_err(|_| Stale::Missing)?;
    if wanted.verify == Verify::Stamp && identity == record.identity {
        return Ok(Checked {
            record,
            refreshed: None,
        });
    }
    match checksum::hash_reader(file) {
        Ok((sha, size)) if sha == record.sha256 && size == record.size => {
            let refreshed = (identity != record.identity).then_some(SAME_CONTENT);
            Ok(Checked {
                record: Record { identity, ..record },
                refreshed,
            })
        }
        _ => Err(Stale::Changed),
    }
}

/// Opens an installed binary for checking and running: read-only, never through a symlink,
/// and only a regular file (a FIFO at the path must not block the open).
pub fn open_installed(path: &Path) -> Result<File, Stale> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => Stale::NotRegular,
            _ => Stale::Missing,
        })?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(Stale::NotRegular),
        Err(_) => Err(Stale::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_are_systemd_escaped_paths() {
        for (path, want) in [
            ("/opt/bin/kubelet", "opt-bin-kubelet"),
            ("/opt/other/kubelet", "opt-other-kubelet"),
            ("/opt//bin/./kube-proxy", "opt-bin-kube\\x2dproxy"),
            ("/usr/local/bin/.hidden", "usr-local-bin-.hidden"),
            ("/.x/a b", "\\x2ex-a\\x20b"),
            ("/", "-"),
        ] {
            assert_eq!(path_key(Path::new(path)), want, "{path}");
        }
    }
}
