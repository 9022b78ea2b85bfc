//! Installed releases: the copies kept for an offline rollback and the disk they use, and on
//! the leader, the version skew between the installed control-plane binaries.

use crate::component::{Component, Fetchable};
use crate::fetch::{self, Paths, Record};
use crate::kube_version::KubeVersion;
use crate::settings::Settings;
use crate::skew;

use super::report::Findings;

pub fn check(settings: &Settings, components: &[Component], f: &mut Findings) {
    kept(settings, components, f);
    control_plane_skew(settings, f);
}

/// On a node with an installed apiserver: every other installed component against it.
fn control_plane_skew(settings: &Settings, f: &mut Findings) {
    let minor = |r: &Record| {
        r.version
            .parse::<KubeVersion>()
            .ok()
            .map(|v| (v.major, v.minor))
    };
    let Some(api) = installed(settings, Component::Apiserver) else {
        return;
    };
    let Some(api_minor) = minor(&api) else {
        return;
    };
    let mut within = vec![format!("kube-apiserver {}", api.version)];
    let mut failed = false;
    for c in [
        Component::ControllerManager,
        Component::Scheduler,
        Component::Kubelet,
        Component::Proxy,
    ] {
        let Some(r) = installed(settings, c) else {
            continue;
        };
        let Some(m) = minor(&r) else { continue };
        match skew::check(c, m, api_minor) {
            Ok(()) => within.push(format!("{} {}", c.binary(), r.version)),
            Err(v) => {
                failed = true;
                let how = match v {
                    skew::Violation::Newer => "is newer than".to_string(),
                    skew::Violation::TooOld { allowed } => {
                        format!("is more than {allowed} minor releases behind")
                    }
                };
                f.fail(
                    "skew",
                    format!(
                        "installed {} {} {how} kube-apiserver {} ({})",
                        c.binary(),
                        r.version,
                        api.version,
                        skew::policy(c)
                    ),
                    format!(
                        "install releases within the policy: KUBE_VERSION=<release> kube-bootstrap fetch {}",
                        c.name()
                    ),
                );
            }
        }
    }
    if !failed && within.len() > 1 {
        f.ok(
            "skew",
            format!(
                "installed binaries are within the version-skew policy: {}",
                within.join(", ")
            ),
        );
    }
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
        let limit = settings.keep_releases as usize;
        if kept.len() > limit {
            // Copies beyond the limit go at the next fetch; until then they are disk in use.
            f.warn(
                "releases",
                format!(
                    "{}: {} kept ({text}, {} on disk), more than KUBE_KEEP_RELEASES={limit}",
                    b.binary(),
                    kept.len(),
                    fetch::human(bytes)
                ),
                format!("the next 'kube-bootstrap fetch {b}' prunes them to {limit}"),
            );
            continue;
        }
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
fn installed(settings: &Settings, c: Component) -> Option<Record> {
    Record::read(&Paths::new(settings, c).record)
}
