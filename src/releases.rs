//! The `releases` subcommand: for each binary, the installed release, the kept ones (for an
//! offline rollback) and the pin in force, so a rollback on a pinned node can be planned.

use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::component::Fetchable;
use crate::env_vars;
use crate::fetch::{self, Paths, Record};
use crate::fsutil;
use crate::settings::{Origin, Settings};

/// `kube-bootstrap releases [COMPONENT...]`: prints the inventory of each binary.
pub fn run(settings: &Settings, binaries: &[Fetchable]) -> Result<(), fsutil::Error> {
    let text: String = binaries.iter().map(|&b| render(settings, b)).collect();
    fsutil::print(&text)
}

/// One binary's block: a heading line, then `installed`, `kept` and `pin` lines.
pub fn render(settings: &Settings, binary: Fetchable) -> String {
    let paths = Paths::new(settings, binary);
    let mut out = format!("{}\n", paths.binary);
    match Record::read_if_exists(&paths.record) {
        Some(r) => out.push_str(&format!(
            "  installed  {} {} sha256 {} (installed {}, {})\n",
            r.version,
            r.arch,
            r.sha256,
            modified(&paths.record).unwrap_or_else(|| "at an unknown time".into()),
            paths.target.display()
        )),
        None => out.push_str("  installed  nothing (no install record)\n"),
    }
    let kept = fetch::kept_releases(settings, paths.binary);
    if kept.is_empty() {
        out.push_str(&format!(
            "  kept       nothing (KUBE_KEEP_RELEASES={})\n",
            settings.keep_releases
        ));
    }
    for k in kept {
        out.push_str(&format!(
            "  kept       {} {} sha256 {} (installed {}, kept {}, {})\n",
            k.meta.version,
            k.meta.arch,
            k.meta.sha256,
            k.meta
                .installed_at
                .map_or_else(|| "at an unknown time".into(), |t| utc(i128::from(t))),
            utc(i128::from(k.meta.kept_at)),
            fetch::human(k.meta.size)
        ));
    }
    let var = env_vars::sha256_pin(paths.binary);
    match settings.pins.get(paths.binary) {
        Some(pin) => {
            let origin = settings
                .origins
                .get(&var)
                .cloned()
                .unwrap_or(Origin::Default);
            let wanted = settings.version.to_string();
            out.push_str(&format!(
                "  pin        {var}={pin} (from {origin}), for KUBE_VERSION {wanted}\n"
            ));
        }
        None => out.push_str(&format!("  pin        none ({var} is not set)\n")),
    }
    out
}

/// The file's modification time: when `fetch` wrote the record.
fn modified(path: &Path) -> Option<String> {
    let at = std::fs::metadata(path).ok()?.modified().ok()?;
    let nanos = at.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some(utc(i128::try_from(nanos).ok()?))
}

/// `2026-12-04 21:40:00 UTC` for nanoseconds since the epoch.
fn utc(nanos: i128) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "at an unknown time".into())
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn times_are_utc_to_the_second() {
        assert_eq!(utc(1_796_342_400_123_456_789), "2026-12-04 00:00:00 UTC");
        assert_eq!(utc(i128::MAX), "at an unknown time");
    }
}
