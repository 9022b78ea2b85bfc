//! Flags: one pure function from (component, version, settings, node facts) to the component's
//! argv, the files it reads, and why each value is what it is. Per-version rules live in
//! `rules`, file renderers in `files`.

#[cfg(test)]
mod evidence;
mod files;
mod rules;

pub use files::{ClientCert, kubeconfig, render};
pub use rules::{ETCD_CA_CRT, EVIDENCE, KUBELET_CERT_DIR, KUBELET_CLIENT_CURRENT};

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::component::Component;
use crate::kube_version::KubeVersion;
use crate::node::{Fact, FactError, Known, NodeFacts};
use crate::settings::{Origin, Settings};

/// Why flags cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{flag} needs {}", source.wanted())]
    MissingFact {
        flag: String,
        #[source]
        source: FactError,
    },

    #[error(
        "Kubernetes {version} (from {origin}) is older than 1.0, which kube-bootstrap does not support"
    )]
    UnsupportedVersion { version: String, origin: Origin },
}

/// The newest minor release the rules know; newer releases use these rules with a warning.
pub const NEWEST_KNOWN_MINOR: u32 = 36;

/// One argument and the reasons for its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// `--name`, or a whole argument that is not a flag.
    pub name: String,
    pub value: Option<String>,
    pub why: Vec<String>,
}

impl Flag {
    /// The argument as the component receives it.
    pub fn arg(&self) -> String {
        match &self.value {
            Some(v) => format!("{}={v}", self.name),
            None => self.name.clone(),
        }
    }

    /// Parses a user-given argument (`--name=value`, `--flag`, or anything else).
    pub fn user(arg: &str, why: &str) -> Flag {
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with('-') => (n.to_string(), Some(v.to_string())),
            _ => (arg.to_string(), None),
        };
        Flag {
            name,
            value,
            why: vec![why.to_string()],
        }
    }
}

/// A file kube-bootstrap writes for the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub content: String,
    pub why: String,
    /// It holds a secret (the bootstrap token): written 0600 like every file, never printed.
    pub secret: bool,
}

/// A file a flag points at that must exist before the component starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Required {
    pub flag: String,
    pub path: PathBuf,
}

/// Everything `exec` needs to start a component, and `flags --explain` to show it.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub component: Component,
    pub version: String,
    /// The minor release whose rules were applied.
    pub rules: String,
    pub binary: PathBuf,
    pub flags: Vec<Flag>,
    pub files: Vec<GeneratedFile>,
    pub required: Vec<Required>,
    pub warnings: Vec<String>,
}

impl Plan {
    /// The complete argv, binary first.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.binary.display().to_string())
            .chain(self.flags.iter().map(Flag::arg))
            .collect()
    }

    /// The arguments without the binary.
    pub fn args(&self) -> Vec<String> {
        self.flags.iter().map(Flag::arg).collect()
    }

    /// Required files that are missing, unreadable or not regular files, each with what is
    /// wrong. Never blocks: a FIFO planted at a path is refused, not opened for reading.
    pub fn missing_files(&self) -> Vec<(&Required, String)> {
        self.required
            .iter()
            .filter_map(|r| crate::fsutil::unusable_file(&r.path).map(|why| (r, why)))
            .collect()
    }
}

/// The inputs of the flag computation, with helpers that also say where a value came from.
pub struct Ctx<'a> {
    pub component: Component,
    pub version: &'a KubeVersion,
    /// The minor release whose rules apply.
    pub minor: u32,
    pub settings: &'a Settings,
    pub facts: &'a NodeFacts,
}

impl Ctx<'_> {
    /// `VAR from <origin>` for a setting.
    pub fn from(&self, var: &str) -> String {
        match self.settings.origins.get(var) {
            Some(origin) => format!("{var} from {origin}"),
            None => format!("{var} from {}", Origin::Default),
        }
    }

    /// A node path inside the root.
    pub fn path(&self, node_path: &Path) -> PathBuf {
        self.settings.path(node_path)
    }

    /// A file in `KUBE_PKI_DIR`, inside the root.
    pub fn pki(&self, name: &str) -> PathBuf {
        self.path(&self.settings.cluster.pki_dir.join(name))
    }

    /// A file in `KUBE_CONFIG_DIR`, inside the root.
    pub fn conf(&self, name: &str) -> PathBuf {
        self.path(&self.settings.cluster.config_dir.join(name))
    }

    /// The apiserver port and why.
    pub fn port(&self) -> (u16, String) {
        let port = apiserver_port(self.settings, self.minor);
        let why = match self.settings.cluster.apiserver_port {
            Some(_) => self.from(crate::env_vars::KUBE_APISERVER_PORT),
            None if self.minor < 20 => {
                "port 9090: the insecure port of the fleet units (Kubernetes < 1.20)".into()
            }
            None => "port 6443: the secure port (Kubernetes >= 1.20)".into(),
        };
        (port, why)
    }

    /// A node fact a flag needs; its absence is an error naming the flag, variable and file.
    pub fn need<'f, T>(&self, flag: &str, fact: &'f Fact<T>) -> Result<&'f Known<T>, Error> {
        fact.as_ref().map_err(|e| Error::MissingFact {
            flag: flag.to_string(),
            source: e.clone(),
        })
    }
}

/// The minor release whose rules apply to `version` (newer than known: the newest known).
/// The apiserver's port for a release's topology: `KUBE_APISERVER_PORT`, else the insecure
/// port 9090 before 1.20 and the secure port 6443 from 1.20.
pub fn apiserver_port(settings: &Settings, minor: u32) -> u16 {
    settings
        .cluster
        .apiserver_port
        .unwrap_or(if minor < 20 { 9090 } else { 6443 })
}

/// The etcd servers of the apiserver for a release: `KUBE_ETCD_SERVERS`, else etcd beside it on
/// 127.0.0.1:2379, over TLS with etcd's client certificate from 1.20 (kubeadm's default) and
/// plain http before, as the fleet units ran it.
pub fn etcd_servers(settings: &Settings, minor: u32) -> String {
    match &settings.cluster.etcd_servers {
        Some(s) => s.clone(),
        None if minor < 20 => "http://127.0.0.1:2379".into(),
        None => "https://127.0.0.1:2379".into(),
    }
}

/// Whether a list of etcd servers is reached over TLS (the parser keeps lists to one scheme).
pub fn etcd_tls(servers: &str) -> bool {
    servers.starts_with("https://")
}

/// The apiserver base URL node components get for `endpoint`, as the rules compute it: the
/// release's scheme (http before 1.20, https from 1.20) and port, unless the endpoint gives
/// them. `doctor` and the skew guard probe this very URL.
pub fn node_apiserver_url(settings: &Settings, endpoint: &crate::node::Endpoint) -> String {
    let minor = rules_minor(&settings.version);
    let scheme = if minor < 20 { "http" } else { "https" };
    endpoint.url(scheme, apiserver_port(settings, minor))
}

pub fn rules_minor(version: &KubeVersion) -> u32 {
    if version.major > 1 || version.minor > NEWEST_KNOWN_MINOR {
        NEWEST_KNOWN_MINOR
    } else {
        version.minor
    }
}

/// Computes the plan for `component`: rules for the version, then `KUBE_*_EXTRA_ARGS`, then
/// `cli_extra` (from `exec COMPONENT -- ARGS`); a later `--name=value` replaces an earlier one.
pub fn compute(
    component: Component,
    settings: &Settings,
    facts: &NodeFacts,
    cli_extra: &[String],
) -> Result<Plan, Error> {
    let version = &settings.version;
    let mut warnings = Vec::new();
    if version.major == 0 {
        return Err(Error::UnsupportedVersion {
            version: version.to_string(),
            origin: settings
                .origins
                .get(crate::env_vars::KUBE_VERSION)
                .cloned()
                .unwrap_or(Origin::Default),
        });
    }
    let minor = rules_minor(version);
    if minor != version.minor || version.major > 1 {
        warnings.push(format!(
            "Kubernetes {version} is newer than the newest release kube-bootstrap knows (1.{NEWEST_KNOWN_MINOR}); using the 1.{NEWEST_KNOWN_MINOR} rules"
        ));
    }
    let ctx = Ctx {
        component,
        version,
        minor,
        settings,
        facts,
    };
    let mut out = rules::Out::default();
    rules::component(&ctx, &mut out)?;
    warnings.append(&mut out.warnings);
    if let Some(w) = plain_http_leader(component, minor, facts) {
        warnings.push(w);
    }

    let mut flags = out.flags;
    if let Some(extra) = settings.extra_args.get(&component) {
        let why = ctx.from(crate::settings::extra_args_var(component));
        merge(&mut flags, extra, &why);
    }
    merge(&mut flags, cli_extra, "command line after --");

    Ok(Plan {
        component,
        version: version.to_string(),
        rules: format!("1.{minor}"),
        binary: settings.path(&settings.bin_dir).join(component.binary()),
        flags,
        files: out.files,
        required: out.required,
        warnings,
    })
}

/// A `LEADER_ENDPOINT` scheme that does not fit the release's topology, for node components.
/// From 1.20 the apiserver serves only TLS: an `http://` leader gives a plain-HTTP server URL,
/// which works only through a plain-HTTP proxy; before 1.20 an `https://` leader meets the
/// insecure port. Said, not refused: the operator wrote the scheme on purpose.
pub fn plain_http_leader(component: Component, minor: u32, facts: &NodeFacts) -> Option<String> {
    let leader = facts.leader.as_ref().ok()?;
    let node_side = matches!(component, Component::Kubelet | Component::Proxy);
    if !node_side {
        return None;
    }
    match leader.value.scheme.as_deref() {
        Some("http") if minor >= 20 => Some(format!(
            "LEADER_ENDPOINT ({}) asks for http://, but from Kubernetes 1.20 the apiserver serves only TLS: kubelet and kube-proxy reach it without TLS or client certificates, which works only through a plain-HTTP proxy; write https://{} or the host alone",
            leader.source, leader.value.host
        )),
        // Before 1.20 the apiserver of this topology serves plain HTTP on its insecure port,
        // and the node kubeconfigs carry no CA to verify a TLS server with.
        Some("https") if minor < 20 => Some(format!(
            "LEADER_ENDPOINT ({}) asks for https://, but before Kubernetes 1.20 kube-bootstrap runs the insecure topology: the apiserver serves plain HTTP on its insecure port and node kubeconfigs carry no CA, so TLS to it fails unless you put a TLS proxy in front and give the CA through extra args; write http://{} or the host alone",
            leader.source, leader.value.host
        )),
        _ => None,
    }
}

/// Appends user arguments; one named like an earlier flag replaces it.
pub fn merge(flags: &mut Vec<Flag>, extra: &[String], why: &str) {
    for arg in extra {
        let flag = Flag::user(arg, why);
        if flag.name.starts_with('-') {
            flags.retain(|f| f.name != flag.name);
        }
        flags.push(flag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, value: &str) -> Flag {
        Flag {
            name: name.into(),
            value: Some(value.into()),
            why: vec!["rule".into()],
        }
    }

    #[test]
    fn a_leader_scheme_that_does_not_fit_the_topology_is_said() {
        use crate::node::{FactSource, Known, parse_endpoint};
        let facts = |endpoint: &str| NodeFacts {
            leader: Ok(Known {
                value: parse_endpoint(endpoint).unwrap(),
                source: FactSource::File {
                    path: "/etc/leader".into(),
                    var: "LEADER_ENDPOINT",
                },
            }),
            node_ip: Ok(Known {
                value: "10.0.0.2".parse().unwrap(),
                source: FactSource::File {
                    path: "/etc/network-environment".into(),
                    var: "DEFAULT_IPV4",
                },
            }),
        };
        for (component, minor, endpoint, warned) in [
            (Component::Kubelet, 20, "http://10.0.0.1", true),
            (Component::Proxy, 36, "http://10.0.0.1:8080", true),
            (Component::Kubelet, 19, "http://10.0.0.1", false),
            (Component::Kubelet, 19, "https://10.0.0.1", true),
            (Component::Proxy, 9, "https://10.0.0.1:9090", true),
            (Component::Kubelet, 19, "10.0.0.1", false),
            (Component::Kubelet, 36, "https://10.0.0.1", false),
            (Component::Kubelet, 36, "10.0.0.1", false),
            (Component::Apiserver, 36, "http://10.0.0.1", false),
        ] {
            let w = plain_http_leader(component, minor, &facts(endpoint));
            assert_eq!(w.is_some(), warned, "{component} 1.{minor} {endpoint}");
            if let Some(w) = w {
                let fix = if minor >= 20 { "https://" } else { "http://" };
                assert!(w.contains(&format!("write {fix}10.0.0.1")), "{w}");
            }
        }
    }

    #[test]
    fn extra_args_replace_flags_of_the_same_name_and_come_last() {
        let mut flags = vec![
            f("--v", "0"),
            f("--hostname-override", "10.0.0.5"),
            f("--kubeconfig", "/k"),
        ];
        merge(
            &mut flags,
            &[
                "--hostname-override=node-a".into(),
                "--feature-gates=X=true".into(),
            ],
            "extra",
        );
        merge(&mut flags, &["--v=4".into(), "positional".into()], "cli");
        let args: Vec<_> = flags.iter().map(Flag::arg).collect();
        assert_eq!(
            args,
            [
                "--kubeconfig=/k",
                "--hostname-override=node-a",
                "--feature-gates=X=true",
                "--v=4",
                "positional"
            ]
        );
    }
}
