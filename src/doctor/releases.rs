//! Installed releases: the copies kept for an offline rollback and the disk they use, and the
//! version skew of the installed components against the apiserver: the one installed here (on
//! the leader), else the one the leader's `/version` says runs (on a worker).

use crate::component::{Component, Fetchable};
use crate::fetch::{self, Paths, Record};
use crate::kube_version::KubeVersion;
use crate::settings::Settings;
use crate::shown;
use crate::skew;

use super::leader::Live;
use super::report::Findings;

/// `live` is the release the leader's apiserver reported, when doctor probed it.
pub fn check(settings: &Settings, components: &[Component], live: Option<&Live>, f: &mut Findings) {
    kept(settings, components, f);
    skew_check(settings, live, f);
}

/// Every installed component against the installed apiserver, or else against the running one.
fn skew_check(settings: &Settings, live: Option<&Live>, f: &mut Findings) {
    let minor = |r: &Record| {
        r.version
            .parse::<KubeVersion>()
            .ok()
            .map(|v| (v.major, v.minor))
    };
    let (api_minor, api_version) = match installed(settings, Component::Apiserver) {
        Some(api) => match minor(&api) {
            Some(m) => (m, format!("kube-apiserver {}", api.version)),
            None => return,
        },
        None => match live {
            Some((m, git)) => (
                *m,
                format!("kube-apiserver {} (its /version)", shown::quote(git)),
            ),
            None => return,
        },
    };
    let mut within = vec![api_version.clone()];
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
                        "installed {} {} {how} {api_version} ({})",
                        c.binary(),
                        r.version,
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
