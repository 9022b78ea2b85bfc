//! The node's address: the one flags use is assigned to an interface here, and is still the
//! address of the default route.

use std::net::IpAddr;

use crate::env_vars as var;
use crate::netenv::Discovery;
use crate::node::{FactError, FactSource, NodeFacts};
use crate::settings::Settings;

use super::report::Findings;

pub fn check(settings: &Settings, facts: &NodeFacts, d: &Discovery, f: &mut Findings) {
    let env_file = settings.path(&settings.node.network_env_file);
    let regenerate = format!(
        "run 'kube-bootstrap network-env --output {}' (or restart setup-network-environment)",
        settings.node.network_env_file.display()
    );
    let known = match &facts.node_ip {
        Ok(known) => known,
        Err(e) => {
            let hint = match e {
                FactError::Undiscovered { .. } => format!(
                    "give the node a default route, write DEFAULT_IPV4=<address> to '{}', or set {}",
                    env_file.display(),
                    var::KUBE_NODE_IP
                ),
                _ => format!("{regenerate}, or set {}", var::KUBE_NODE_IP),
            };
            f.fail("node-address", e.to_string(), hint);
            return;
        }
    };
    let ip = known.value;
    let Some(owner) = d.owner(ip) else {
        let hint = match &known.source {
            FactSource::Setting { var, .. } => format!("set {var} to one of this node's addresses"),
            _ => format!("the file is stale: {regenerate}"),
        };
        f.fail(
            "node-address",
            format!(
                "{ip} ({}) is not assigned to any interface of this node; it has {}",
                known.source,
                d.describe()
            ),
            hint,
        );
        return;
    };
    let current = d.default_ipv4().ok();
    match (&known.source, current) {
        (FactSource::File { .. }, Some((now, iface))) if IpAddr::V4(now) != ip => f.warn(
            "node-address",
            format!(
                "{ip} ({}) is assigned to {owner}, but the default route now goes through {iface} ({now})",
                known.source
            ),
            format!("if the node moved, {regenerate}"),
        ),
        _ => f.ok(
            "node-address",
            format!("{ip} ({}) is assigned to {owner}", known.source),
        ),
    }
}
