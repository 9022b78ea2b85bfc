//! Which components this node runs, so that `doctor` checks only those: named on the command
//! line (`--role`, components), or read from the node: install records, enabled units under
//! the root, then the PKI files `pki init` or `pki install` left. The decision is pure.

use std::path::{Path, PathBuf};

use crate::component::Component;
use crate::fetch::Paths;
use crate::settings::Settings;

/// A node's role in the fleet topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// apiserver, controller-manager, scheduler, and a kubelet and kube-proxy
    Leader,
    /// kubelet and kube-proxy
    Worker,
}

impl Role {
    pub fn components(self) -> Vec<Component> {
        match self {
            Role::Leader => Component::ALL.to_vec(),
            Role::Worker => vec![Component::Kubelet, Component::Proxy],
        }
    }
}

/// What the node shows about its role.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Components with an install record.
    pub installed: Vec<Component>,
    /// Components whose unit is enabled (a link in a `*.wants` directory).
    pub enabled: Vec<Component>,
    /// `KUBE_PKI_DIR` has `ca.key`: `pki init` ran here.
    pub ca_key: bool,
    /// `KUBE_PKI_DIR` has `kubelet.crt` without `ca.key`: a worker's bundle was installed.
    pub node_bundle: bool,
}

impl Evidence {
    /// Nothing on this machine says it is a node.
    pub fn is_empty(&self) -> bool {
        self.installed.is_empty() && self.enabled.is_empty() && !self.ca_key && !self.node_bundle
    }
}

/// What `doctor` decided to check, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub components: Vec<Component>,
    pub why: String,
    /// False when nothing told the role and every component is checked.
    pub certain: bool,
}

fn list(components: &[Component]) -> String {
    components
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn label(components: &[Component]) -> &'static str {
    if components
        .iter()
        .any(|c| !matches!(c, Component::Kubelet | Component::Proxy))
    {
        "a leader"
    } else {
        "a worker"
    }
}

/// Decides what to check. Pure.
pub fn decide(named: &[Component], role: Option<Role>, ev: &Evidence) -> Decision {
    let done = |components: Vec<Component>, why: String| Decision {
        why: format!("checking {} ({why})", list(&components)),
        components,
        certain: true,
    };
    if !named.is_empty() {
        return done(named.to_vec(), "named on the command line".into());
    }
    if let Some(role) = role {
        let name = match role {
            Role::Leader => "leader",
            Role::Worker => "worker",
        };
        return done(role.components(), format!("--role {name}"));
    }
    let mut found: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| ev.installed.contains(c) || ev.enabled.contains(c))
        .collect();
    if !found.is_empty() {
        let mut said = Vec::new();
        if !ev.installed.is_empty() {
            said.push(format!("installed: {}", list(&ev.installed)));
        }
        if !ev.enabled.is_empty() {
            said.push(format!("units enabled: {}", list(&ev.enabled)));
        }
        found.sort();
        let what = label(&found);
        return done(found, format!("{what}: {}", said.join("; ")));
    }
    if ev.ca_key {
        return done(
            Role::Leader.components(),
            "a leader: ca.key is in KUBE_PKI_DIR, 'pki init' ran here; nothing is installed or enabled yet".into(),
        );
    }
    if ev.node_bundle {
        return done(
            Role::Worker.components(),
            "a worker: a node bundle is in KUBE_PKI_DIR without ca.key; nothing is installed or enabled yet".into(),
        );
    }
    Decision {
        components: Component::ALL.to_vec(),
        why: format!(
            "checking {}: nothing tells this node's role (no install records, no enabled kube-* units, no PKI files)",
            list(&Component::ALL)
        ),
        certain: false,
    }
}

/// Components whose unit is enabled: `kube-*.service` links in `etc/systemd/system/*.wants`
/// (what `systemctl enable` and the Butane examples make) under the root.
fn enabled_units(root_dir: &Path) -> Vec<Component> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(root_dir) else {
        return out;
    };
    for dir in dirs.flatten() {
        if !dir.file_name().to_string_lossy().ends_with(".wants") {
            continue;
        }
        let Ok(units) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for unit in units.flatten() {
            let name = unit.file_name().to_string_lossy().into_owned();
            if let Some(c) = name
                .strip_suffix(".service")
                .and_then(|stem| Component::ALL.into_iter().find(|c| c.unit_name() == stem))
            {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out.sort();
    out
}

/// What this node shows.
pub fn evidence(settings: &Settings) -> Evidence {
    let pki = settings.path(&settings.cluster.pki_dir);
    let ca_key = pki.join("ca.key").exists();
    Evidence {
        installed: Component::ALL
            .into_iter()
            .filter(|&c| Paths::new(settings, c).record.exists())
            .collect(),
        enabled: enabled_units(&settings.path(PathBuf::from("/etc/systemd/system"))),
        ca_key,
        node_bundle: !ca_key && pki.join("kubelet.crt").exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Component::*;

    #[test]
    fn the_role_comes_from_the_command_line_then_the_node() {
        let none = Evidence::default();
        for (named, role, ev, want, why) in [
            (
                vec![Kubelet],
                Some(Role::Leader),
                none.clone(),
                vec![Kubelet],
                "named on the command line",
            ),
            (
                vec![],
                Some(Role::Worker),
                none.clone(),
                vec![Kubelet, Proxy],
                "--role worker",
            ),
            (
                vec![],
                None,
                Evidence {
                    installed: vec![Kubelet],
                    enabled: vec![Proxy],
                    ca_key: true,
                    node_bundle: false,
                },
                vec![Kubelet, Proxy],
                "a worker: installed: kubelet; units enabled: proxy",
            ),
            (
                vec![],
                None,
                Evidence {
                    enabled: vec![Apiserver, Kubelet],
                    ..none.clone()
                },
                vec![Apiserver, Kubelet],
                "a leader: units enabled: apiserver, kubelet",
            ),
            (
                vec![],
                None,
                Evidence {
                    ca_key: true,
                    ..none.clone()
                },
                Component::ALL.to_vec(),
                "a leader: ca.key",
            ),
            (
                vec![],
                None,
                Evidence {
                    node_bundle: true,
                    ..none.clone()
                },
                vec![Kubelet, Proxy],
                "a worker: a node bundle",
            ),
        ] {
            let d = decide(&named, role, &ev);
            assert_eq!(d.components, want, "{ev:?}");
            assert!(d.why.contains(why), "{}", d.why);
            assert!(d.certain);
        }
        let d = decide(&[], None, &none);
        assert_eq!(d.components, Component::ALL);
        assert!(!d.certain);
        assert!(
            d.why.contains("nothing tells this node's role"),
            "{}",
            d.why
        );
    }

    #[test]
    fn enabled_units_are_links_in_wants_directories() {
        let dir = std::env::temp_dir().join(format!("kb-role-{}", std::process::id()));
        let wants = dir.join("multi-user.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        for unit in ["kube-kubelet.service", "kube-proxy.service", "etcd.service"] {
            std::os::unix::fs::symlink("/dev/null", wants.join(unit)).unwrap();
        }
        std::fs::write(dir.join("kube-apiserver.service"), "").unwrap();
        assert_eq!(enabled_units(&dir), [Kubelet, Proxy]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
