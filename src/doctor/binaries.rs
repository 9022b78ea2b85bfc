//! Binaries: the bin directory and each installed binary are writable by their owner only, and
//! each binary still hashes to its install record.

use std::os::unix::fs::PermissionsExt;

use crate::component::Component;
use crate::fetch::{self, Paths};
use crate::settings::{Settings, Verify};

use super::report::Findings;

/// Whether a mode lets group or others write.
fn writable_by_others(mode: u32) -> bool {
    mode & 0o022 != 0
}

pub fn check(settings: &Settings, components: &[Component], f: &mut Findings) {
    let bin_dir = settings.path(&settings.bin_dir);
    match std::fs::metadata(&bin_dir) {
        Ok(m) if writable_by_others(m.permissions().mode()) => f.fail(
            "bin-dir",
            format!(
                "'{}' is writable by group or others (mode {:04o}): they can replace what exec runs",
                bin_dir.display(),
                m.permissions().mode() & 0o7777
            ),
            format!("chmod go-w '{}'", bin_dir.display()),
        ),
        Ok(m) => f.ok(
            "bin-dir",
            format!(
                "'{}' is writable by its owner only (mode {:04o})",
                bin_dir.display(),
                m.permissions().mode() & 0o7777
            ),
        ),
        Err(e) => f.warn(
            "bin-dir",
            format!("cannot inspect '{}': {e}", bin_dir.display()),
            format!(
                "create it with 'kube-bootstrap fetch', or set {} to where the binaries are",
                crate::env_vars::KUBE_BIN_DIR
            ),
        ),
    }
    let mut full = settings.clone();
    full.verify = Verify::Full;
    for &c in components {
        let target = Paths::new(settings, c).target;
        match fetch::verify_installed(&full, c) {
            Ok(fetch::Checked { record, refreshed }) => {
                let mode = std::fs::metadata(&target)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                if writable_by_others(mode) {
                    f.fail(
                        "binary",
                        format!(
                            "'{}' is writable by group or others (mode {:04o})",
                            target.display(),
                            mode & 0o7777
                        ),
                        format!("chmod go-w '{}'", target.display()),
                    );
                } else {
                    // Same verdict as exec and fetch: new metadata over the recorded content is
                    // fine, and they refresh the record.
                    let note = match refreshed {
                        Some(_) => "; its identity changed, exec and fetch will refresh the record",
                        None => "",
                    };
                    f.ok(
                        "binary",
                        format!(
                            "'{}' is {} {} as recorded (sha256 {}, re-hashed{note})",
                            target.display(),
                            c.binary(),
                            record.version,
                            record.sha256
                        ),
                    );
                }
            }
            Err(stale) => f.fail(
                "binary",
                format!("'{}': {stale}", target.display()),
                format!("run 'kube-bootstrap fetch {}'", c.name()),
            ),
        }
    }
}
