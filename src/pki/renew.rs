//! `pki renew` (kube-bootstrap-pki-renew.timer): `pki init`'s renewal of the leader's leaves
//! within `KUBE_PKI_RENEW_BEFORE`, then a restart of exactly the running components that read a
//! re-issued certificate at start, one at a time and the apiserver last (the others reconnect
//! to it; it restarts once they run with their new pairs). Which restarts, in what order, is
//! pure (`restarts`).

use std::process::{Command, Stdio};

use super::{Action, Error, Outcome};
use crate::component::Component;
use crate::settings::Settings;

/// The component that reads the leaf `name` when it starts, if one does: `admin` and
/// `super-admin` are read by kubectl on each run, and etcd reads its certificates again for
/// each new connection (etcd 3.2 and later).
fn reader(name: &str) -> Option<Component> {
    match name {
        "apiserver" | "apiserver-kubelet-client" | "apiserver-etcd-client" => {
            Some(Component::Apiserver)
        }
        "controller-manager" => Some(Component::ControllerManager),
        "scheduler" => Some(Component::Scheduler),
        "kubelet" => Some(Component::Kubelet),
        "proxy" => Some(Component::Proxy),
        _ => None,
    }
}

/// The components to restart for the re-issued leaves `written`: each once, the apiserver
/// last. Pure.
pub fn restarts(written: &[&str]) -> Vec<Component> {
    let mut out: Vec<Component> = Vec::new();
    for c in written.iter().filter_map(|n| reader(n)) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.sort_by_key(|c| (*c == Component::Apiserver, c.name()));
    out
}

/// `pki renew`: re-issues what `pki init` would, then (with `restart`) `systemctl
/// try-restart`s each unit in `restarts` order, waiting for each: a unit that is not running
/// is left stopped.
pub fn renew(settings: &Settings, restart: bool) -> Result<Vec<Outcome>, Error> {
    // Only where the CA key is: on a worker, init would start a cluster of its own.
    let ca_key = settings.path(settings.cluster.pki_dir.join("ca.key"));
    if std::fs::symlink_metadata(&ca_key).is_err() {
        return Err(Error::RenewNotLeader { ca_key });
    }
    let (mut out, written) = super::init::init_leaves(settings)?;
    let units = restarts(&written);
    for c in units {
        let unit = format!("{}.service", c.unit_name());
        let why = format!(
            "reads {} at start",
            written
                .iter()
                .filter(|n| reader(n) == Some(c))
                .map(|n| format!("{n}.crt"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !restart {
            out.push(Outcome {
                action: Action::WouldRestart,
                path: unit.into(),
                why,
            });
            continue;
        }
        tracing::info!(unit = %unit, "restarting for its re-issued certificates");
        let status = Command::new("systemctl")
            .args(["try-restart", &unit])
            .stdin(Stdio::null())
            .status()
            .map_err(|source| Error::Systemctl {
                unit: unit.clone(),
                source,
            })?;
        if !status.success() {
            return Err(Error::Restart {
                unit,
                status: status.to_string(),
            });
        }
        out.push(Outcome {
            action: Action::Restarted,
            path: unit.into(),
            why,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Component::*;

    #[test]
    fn restarts_each_reader_once_and_the_apiserver_last() {
        #[rustfmt::skip]
        let table: &[(&[&str], &[Component])] = &[
            (&[], &[]),
            (&["admin", "super-admin", "etcd/server", "etcd/peer"], &[]),
            (&["apiserver", "apiserver-etcd-client", "apiserver-kubelet-client"], &[Apiserver]),
            (&["apiserver", "scheduler", "kubelet", "controller-manager", "proxy", "admin"],
             &[ControllerManager, Kubelet, Proxy, Scheduler, Apiserver]),
            (&["apiserver-kubelet-client", "proxy"], &[Proxy, Apiserver]),
        ];
        for (written, want) in table {
            assert_eq!(restarts(written), *want, "{written:?}");
        }
    }
}
