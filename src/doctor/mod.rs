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
mod cluster;
mod etcd;
mod files;
mod leader;
mod networks;
mod node;
mod probe;
mod releases;
mod report;
mod role;

pub use role::Role;

use crate::causes::chain;
use crate::component::{self, Component};
use crate::error::Error;
use crate::netenv;
use crate::node::NodeFacts;
use crate::settings::Settings;

use probe::Http;
use report::Findings;

/// What `doctor` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Components named on the command line (or `all`).
    pub components: Vec<String>,
    /// The node's role, when the operator names it.
    pub role: Option<Role>,
    pub json: bool,
    /// Skip every network probe.
    pub offline: bool,
}

/// Runs the checks relevant to what this node runs (see [`role`]), prints them, and fails when
/// any check failed.
pub fn run(
    settings: Result<Settings, crate::settings::Error>,
    opts: &Options,
) -> Result<(), Error> {
    let mut f = Findings::default();
    // Validated by clap's value parser already.
    let named =
        component::expand(&opts.components).map_err(|e| crate::settings::Error::Invalid {
            var: "COMPONENT".into(),
            value: crate::shown::quote(&opts.components.join(" ")),
            origin: crate::settings::Origin::Cli("COMPONENT"),
            expected: e,
        })?;
    let components = match settings {
        Ok(settings) => {
            config(&settings, &mut f);
            let evidence = role::evidence(&settings);
            let leader_file = settings.path(&settings.node.leader_file);
            // Nothing of a node here: one finding instead of a failure per missing file.
            if named.is_empty()
                && opts.role.is_none()
                && !leader_file.exists()
                && evidence.is_empty()
            {
                f.fail(
                    "node",
                    format!(
                        "this is not a kube-bootstrap node: '{}' does not exist, and nothing else is set up here (no install records, no enabled kube-* units, no PKI files)",
                        leader_file.display()
                    ),
                    format!(
                        "on a node, write LEADER_ENDPOINT=<apiserver host> to '{}'; to check a copy of a node's files, pass --root DIR; to check anyway, name --role or the components",
                        leader_file.display()
                    ),
                );
                return finish(f.0, &[], opts);
            }
            let decision = role::decide(&named, opts.role, &evidence);
            if decision.certain {
                f.ok("role", decision.why);
            } else {
                f.warn(
                    "role",
                    decision.why,
                    "name it: 'kube-bootstrap doctor --role leader' (or worker), or the components to check".to_string(),
                );
            }
            check_node(&settings, &decision.components, opts.offline, &mut f);
            decision.components
        }
        Err(e) => {
            f.fail(
                "config",
                chain(&e),
                match Error::from(e).hint() {
                    Some(h) => format!("{h}; the other checks need valid settings"),
                    None => "fix the setting; the other checks need valid settings".to_string(),
                },
            );
            if named.is_empty() {
                opts.role
                    .map_or_else(|| Component::ALL.to_vec(), Role::components)
            } else {
                named
            }
        }
    };
    finish(f.0, &components, opts)
}

/// Prints the findings; fails when any check failed.
fn finish(
    checks: Vec<report::Check>,
    components: &[Component],
    opts: &Options,
) -> Result<(), Error> {
    let text = report::text(&checks, components, opts.json);
    crate::fsutil::print(&text)?;
    match report::count(&checks, report::Status::Fail) {
        0 => Ok(()),
        failed => Err(Error::ChecksFailed {
            failed,
            total: checks.len(),
        }),
    }
}

/// The settings line, or one failure per name in the config file that is not a setting.
fn config(settings: &Settings, f: &mut Findings) {
    if settings.unknown.is_empty() {
        f.ok("config", configured(settings));
        return;
    }
    for u in &settings.unknown {
        let hint = match u.suggestion {
            Some(meant) => format!("rename {} to {meant} in '{}'", u.name, u.file.display()),
            None => format!(
                "remove {} from '{}', or spell it as README.md's Configuration table does",
                u.name,
                u.file.display()
            ),
        };
        f.fail("config", u.to_string(), hint);
    }
}

fn configured(settings: &Settings) -> String {
    format!(
        "every setting valid: Kubernetes {} for {}",
        settings.version, settings.arch
    )
}

/// The apiserver's `--tls-cert-file` when it is on this node (the leader).
fn apiserver_cert(settings: &Settings, facts: &NodeFacts) -> Option<std::path::PathBuf> {
    let plan = crate::flags::compute(Component::Apiserver, settings, facts, &[]).ok()?;
    let path = plan
        .flags
        .iter()
        .rev()
        .find(|f| f.name == "--tls-cert-file")
        .and_then(|f| f.value.as_ref())
        .map(std::path::PathBuf::from)?;
    path.exists().then_some(path)
}

fn check_node(settings: &Settings, components: &[Component], offline: bool, f: &mut Findings) {
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
                "run doctor on the node itself (not in a container without its network), as root",
            );
            None
        }
    };
    let mut http = Http::new(settings.path(settings.cluster.pki_dir.join("ca.crt")));
    let mut live = None;
    if node_side {
        live = leader::check(settings, &facts, (!offline).then_some(&mut http), f);
        if let Some(d) = &discovery {
            node::check(settings, &facts, d, f);
        }
    }
    if leader_side && !offline {
        etcd::check(settings, f);
    }
    networks::check(settings, discovery.as_ref(), f);
    if components.contains(&Component::Kubelet) {
        cgroup::check(settings, f);
    }
    binaries::check(settings, components, f);
    releases::check(settings, components, live.as_ref(), f);
    let plans = files::plans(settings, components, &facts, f);
    files::check(settings, &plans, f);
    cluster::check(&plans, apiserver_cert(settings, &facts), f);
}
