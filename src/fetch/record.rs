//! The install record (`/var/lib/kube-bootstrap/<binary>.json`): what was installed, and the
//! file identity that lets a warm start trust it without the network or a re-hash.

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

impl Record {
    /// Reads a record; a missing or unreadable one is `None` (the binary is fetched again).
    pub fn read(path: &Path) -> Option<Record> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read install record, fetching again");
                return None;
            }
        };
        match serde_json::from_slice(&text) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "invalid install record, fetching again");
                None
            }
        }
    }

    /// Writes the record atomically.
    pub fn write(&self, path: &Path) -> Result<(), fsutil::Error> {
        // Serializing plain strings and integers cannot fail.
        let mut json = serde_json::to_vec_pretty(self).unwrap_or_default();
        json.push(b'\n');
        fsutil::write_atomic(path, &json, 0o644)
    }
}

/// Why an installed binary cannot be trusted as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    NoRecord,
    OtherRelease { recorded: String },
    OtherPin,
    Missing,
    Changed,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::NoRecord => f.write_str("not installed yet"),
            Stale::OtherRelease { recorded } => write!(f, "installed release is {recorded}"),
            Stale::OtherPin => f.write_str("installed checksum differs from the pinned one"),
            Stale::Missing => f.write_str("installed binary is missing"),
            Stale::Changed => f.write_str("installed binary changed since it was fetched"),
        }
    }
}

/// Checks an installed binary against its record: the release, the pin, and either the file's
/// identity (`stamp`) or its content (`full`).
pub fn check(
    record: Option<Record>,
    target: &Path,
    version: &str,
    arch: &str,
    pin: Option<&str>,
    verify: Verify,
) -> Result<Record, Stale> {
    let record = record.ok_or(Stale::NoRecord)?;
    if record.version != version || record.arch != arch {
        return Err(Stale::OtherRelease {
            recorded: format!("{} {}", record.version, record.arch),
        });
    }
    if pin.is_some_and(|p| p != record.sha256) {
        return Err(Stale::OtherPin);
    }
    let identity = match Identity::of(target) {
        Ok(id) => id,
        Err(_) => return Err(Stale::Missing),
    };
    match verify {
        Verify::Stamp if identity == record.identity => Ok(record),
        Verify::Stamp => Err(Stale::Changed),
        Verify::Full => match checksum::hash_file(target) {
            Ok((sha, size)) if sha == record.sha256 && size == record.size => {
                Ok(Record { identity, ..record })
            }
            _ => Err(Stale::Changed),
        },
    }
}
