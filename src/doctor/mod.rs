//! `kube-bootstrap doctor`: checks a node for the usual reasons a component does not come up,
//! and prints one line per check: ok, warn or fail, what was found, and what to do.
//!
//! Checks only read: files, the kernel's addresses, a TCP connect to the leader and health
//! requests to the apiserver and etcd, each bounded by [`probe::TIMEOUT`]. Decisions
//! (certificate expiry, range overlaps, rendering) are pure functions with tests; I/O stays in
//! the checks. One file per family of checks; the report and its rendering in `report`.

mod binaries;
mod certs;
mod cgroup;
mod etcd;
mod files;
mod leader;
mod networks;
mod node;
mod probe;
mod releases;
mod report;

use crate::causes::chain;
use crate::component::{self, Component};
use crate::error::Error;
use crate::fetch::Paths;
use crate::netenv;
use crate::node::NodeFacts;
use crate::settings::Settings;

use probe::Http;
use report::Findings;

/// Runs the checks relevant to `named` (every component installed on this node when empty, or
/// all five when none is), prints them, and fails when any check failed.
pub fn run(
    settings: Result<Settings, crate::settings::Error>,
    named: &[String],
    json: bool,
) -> Result<(), Error> {
    let mut f = Findings::default();
    let components = if !named.is_empty() {
        // Validated by clap's value parser already.
        component::expand(named).map_err(|e| crate::settings::Error::Invalid {
            var: "COMPONENT".into(),
            value: named.join(" "),
            origin: crate::settings::Origin::Cli("COMPONENT"),
            expected: e,
        })?
    } else {
        match &settings {
            Ok(s) => default_components(s),
            Err(_) => Component::ALL.to_vec(),
        }
    };
    match settings {
        Ok(settings) => {
            f.ok("config", configured(&settings));
            check_node(&settings, &components, &mut f);
        }
        Err(e) => f.fail(
            "config",
            chain(&e),
            Some(match Error::from(e).hint() {
                Some(h) => format!("{h}; the other checks need valid settings"),
                None => "fix the setting; the other checks need valid settings".to_string(),
            }),
        ),
    }
    let checks = f.0;
    let text = report::text(&checks, &components, json);
    crate::fsutil::print(&text)?;
    match report::count(&checks, report::Status::Fail) {
        0 => Ok(()),
        failed => Err(Error::ChecksFailed {
            failed,
            total: checks.len(),
        }),
    }
}

/// The components whose binary is recorded as installed here; all five when none is.
fn default_components(settings: &Settings) -> Vec<Component> {
    let installed: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|&c| Paths::new(settings, c).record.exists())
        .collect();
    if installed.is_empty() {
        Component::ALL.to_vec()
    } else {
        installed
    }
}

fn configured(settings: &Settings) -> String {
    format!(
        "every setting valid: Kubernetes {} for {}",
        settings.version, settings.arch
    )
}

fn check_node(settings: &Settings, components: &[Component], f: &mut Findings) {
    let node_side = components
        .iter()
        .any(|c| matches!(c, Component::Kubelet | Component::Proxy));
    let leader_side = components.iter().any(|c| {
        matches!(
            c,
            Component::Apiserver | Component::ControllerManager | Component::Scheduler
        )
    });
    let facts = NodeFacts::load(settings);
    let discovery = match netenv::discover() {
        Ok(d) => Some(d),
        Err(e) => {
            f.warn(
                "node-address",
                format!("cannot list this node's addresses: {}", chain(&e)),
                None,
            );
            None
        }
    };
    let mut http = Http::new(settings.path(settings.cluster.pki_dir.join("ca.crt")));
    if node_side {
        leader::check(settings, &facts, &mut http, f);
        if let Some(d) = &discovery {
            node::check(settings, &facts, d, f);
        }
    }
    if leader_side {
        etcd::check(settings, &mut http, f);
    }
    networks::check(settings, discovery.as_ref(), f);
    if components.contains(&Component::Kubelet) {
        cgroup::check(settings, f);
    }
    binaries::check(settings, components, f);
    releases::check(settings, components, f);
    files::check(settings, components, &facts, f);
}
