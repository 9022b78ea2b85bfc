//! Whether the installed binary can be trusted as it is: opened once, checked against its
//! record, the record refreshed when only the file's metadata changed.

use super::record::{self, Checked, Identity, Record, Stale};
use super::{Error, Paths};
use crate::component::Component;
use crate::env_vars;
use crate::fsutil;
use crate::settings::Settings;

/// An installed binary, opened, and the record it was checked against: `exec` runs this very
/// open file, so what runs is what was verified.
#[derive(Debug)]
pub struct Installed {
    pub file: std::fs::File,
    pub record: Record,
}

/// Opens a component's installed binary and checks it against its record (release, pin, and
/// identity or content per `KUBE_VERSION` and `KUBE_VERIFY`). When only the file's metadata
/// changed and the content still matches, the record is refreshed (best effort) and logged.
pub fn open_verified(settings: &Settings, component: Component) -> Result<Installed, Stale> {
    let paths = Paths::new(settings, component);
    let (file, checked) = check_installed(settings, &paths)?;
    if let Err(e) = refresh(&paths, &checked) {
        tracing::warn!(component = %component, path = %paths.record.display(), error = %crate::causes::chain(&e), "cannot refresh the install record; the binary was verified by its content");
    }
    Ok(Installed {
        file,
        record: checked.record,
    })
}

/// Checks a component's installed binary without changing anything (for `doctor`).
pub fn verify_installed(settings: &Settings, component: Component) -> Result<Checked, Stale> {
    check_installed(settings, &Paths::new(settings, component)).map(|(_, checked)| checked)
}

/// Opens the installed binary and checks it against the stored record.
fn check_installed(settings: &Settings, paths: &Paths) -> Result<(std::fs::File, Checked), Stale> {
    let file = record::open_installed(&paths.target);
    let previous = Record::load(&paths.record).map_err(|reason| Stale::BadRecord {
        path: paths.record.display().to_string(),
        reason,
    })?;
    let previous = previous.or_else(|| {
        // A node upgraded from a release that named records after the binary: that record
        // speaks for this file only if it describes this very file.
        let legacy = Record::read_if_exists(&paths.legacy_record)?;
        let identity = Identity::of_file(file.as_ref().ok()?).ok()?;
        (legacy.identity == identity).then(|| {
            tracing::info!(binary = %paths.binary, from = %paths.legacy_record.display(), to = %paths.record.display(), "moving the install record to its per-path name");
            if let Err(e) = legacy.write(&paths.record) {
                tracing::warn!(path = %paths.record.display(), error = %crate::causes::chain(&e), "cannot write the install record");
            }
            legacy
        })
    });
    let version = settings.version.to_string();
    let version_from = settings
        .origins
        .get(env_vars::KUBE_VERSION)
        .map_or_else(|| "the built-in default".to_string(), ToString::to_string);
    let wanted = record::Wanted {
        version: &version,
        version_from: &version_from,
        arch: settings.arch.as_str(),
        pin: settings.pins.get(paths.binary).map(String::as_str),
        verify: settings.verify,
    };
    let checked = record::check(previous, file.as_ref().map_err(Clone::clone), wanted)?;
    file.map(|f| (f, checked))
}

/// Rewrites the record when the check found the same content under a new identity.
fn refresh(paths: &Paths, checked: &Checked) -> Result<(), fsutil::Error> {
    if let Some(why) = checked.refreshed {
        tracing::info!(component = %paths.component, binary = %paths.binary, path = %paths.target.display(), sha256 = %checked.record.sha256, reason = why, "install record refreshed, no download needed");
        checked.record.write(&paths.record)?;
    }
    Ok(())
}

/// The record of the installed binary if it can be trusted as it is; `log_reason` logs why not.
pub(super) fn installed(
    settings: &Settings,
    paths: &Paths,
    log_reason: bool,
) -> Result<Option<Record>, Error> {
    match check_installed(settings, paths) {
        Ok((_, checked)) => {
            // The binary was verified by its content: a record that cannot be refreshed (a
            // full or read-only state directory) costs a re-hash next time, not the start.
            if let Err(e) = refresh(paths, &checked) {
                tracing::warn!(component = %paths.component, path = %paths.record.display(), error = %crate::causes::chain(&e), "cannot refresh the install record; the binary was verified by its content");
            }
            Ok(Some(checked.record))
        }
        Err(stale) => {
            if log_reason {
                tracing::info!(component = %paths.component, binary = %paths.binary, version = %settings.version, reason = %stale, "fetching");
            }
            Ok(None)
        }
    }
}
