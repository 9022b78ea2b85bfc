//! The node's facts: the leader's endpoint from `/etc/leader` and the node's address from
//! `/etc/network-environment` (as written by setup-network-environment), with where each came from.
//!
//! Both files are read into values here, never into the process environment. A missing or
//! invalid fact is kept as an error and only reported when a flag needs it. When
//! `/etc/network-environment` does not exist at all, the address is discovered from the kernel
//! the way `kube-bootstrap network-env` would write it, and its source says so.

mod endpoint;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use endpoint::{
    ENDPOINT_CONTROL, ENDPOINT_EXPECTED, ENDPOINT_PORT_FORM, ENDPOINT_PORT_RANGE,
    ENDPOINT_PORT_ZERO, ENDPOINT_URL_FORMS, Endpoint, parse_endpoint,
};

use crate::envfile;
use crate::netenv::DEFAULT_IPV4;
use crate::settings::{Origin, Settings};

/// Variable in `/etc/leader`.
pub const LEADER_ENDPOINT: &str = "LEADER_ENDPOINT";

/// Why a node fact is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    #[error("cannot read '{}': {reason}", path.display())]
    Unreadable {
        path: PathBuf,
        var: &'static str,
        reason: String,
    },
    #[error("'{}' does not set {var}", path.display())]
    Unset { path: PathBuf, var: &'static str },
    #[error("invalid {var}='{}' in '{}': expected {expected}", crate::shown::quote(value), path.display())]
    Invalid {
        path: PathBuf,
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("'{}' does not exist, and the kernel does not tell {var} either: {reason}", path.display())]
    Undiscovered {
        path: PathBuf,
        var: &'static str,
        reason: String,
    },
}

/// Where a fact's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactSource {
    /// A variable in a node file (`/etc/leader`, `/etc/network-environment`).
    File { path: PathBuf, var: &'static str },
    /// A kube-bootstrap setting (`KUBE_NODE_IP`).
    Setting { var: &'static str, origin: Origin },
    /// The kernel, because the node file (`path`) does not exist: the address of `iface`, the
    /// interface of the default route.
    Discovered {
        path: PathBuf,
        var: &'static str,
        iface: String,
    },
}

impl FactError {
    /// The variable and the file it should come from.
    pub fn wanted(&self) -> String {
        let (FactError::Unreadable { path, var, .. }
        | FactError::Unset { path, var }
        | FactError::Invalid { path, var, .. }
        | FactError::Undiscovered { path, var, .. }) = self;
        format!("{var} from '{}'", path.display())
    }
}

impl fmt::Display for FactSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactSource::File { path, var } => write!(f, "{var} from '{}'", path.display()),
            FactSource::Setting { var, origin } => write!(f, "{var} from {origin}"),
            FactSource::Discovered { path, var, iface } => write!(
                f,
                "{var} discovered from the kernel: the address of '{iface}', the interface of the default route ('{}' does not exist)",
                path.display()
            ),
        }
    }
}

/// A fact and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known<T> {
    pub value: T,
    pub source: FactSource,
}

/// A fact, or why it is unavailable.
pub type Fact<T> = Result<Known<T>, FactError>;

/// The node's facts, as far as they could be read.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    pub leader: Fact<Endpoint>,
    pub node_ip: Fact<IpAddr>,
}

/// `LEADER_ENDPOINT` from `/etc/leader` (inside the root): the one reader of that file, for
/// the flags, doctor and the skew guard alike.
pub fn leader(settings: &Settings) -> Fact<Endpoint> {
    let leader_path = settings.path(&settings.node.leader_file);
    read_var(&leader_path, LEADER_ENDPOINT).and_then(|value| {
        parse_endpoint(&value)
            .map(|e| Known {
                value: e,
                source: FactSource::File {
                    path: leader_path.clone(),
                    var: LEADER_ENDPOINT,
                },
            })
            .map_err(|expected| FactError::Invalid {
                path: leader_path.clone(),
                var: LEADER_ENDPOINT,
                // Shown through `shown::quote` (the message format): control characters
                // escaped, never sent to the terminal.
                value,
                expected,
            })
    })
}

impl NodeFacts {
    /// Reads `/etc/leader` and `/etc/network-environment` (inside the root); `KUBE_NODE_IP`
    /// replaces the latter.
    pub fn load(settings: &Settings) -> NodeFacts {
        let leader = leader(settings);
        let node_ip = match &settings.node.node_ip {
            Some((ip, origin)) => Ok(Known {
                value: *ip,
                source: FactSource::Setting {
                    var: crate::env_vars::KUBE_NODE_IP,
                    origin: origin.clone(),
                },
            }),
            None => {
                let path = settings.path(&settings.node.network_env_file);
                if matches!(std::fs::symlink_metadata(&path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
                {
                    return NodeFacts {
                        leader,
                        node_ip: discover_node_ip(path),
                    };
                }
                read_var(&path, DEFAULT_IPV4).and_then(|value| {
                    crate::settings::parse::node_ipv4(&value)
                        .map(|ip| Known {
                            value: IpAddr::V4(ip),
                            source: FactSource::File {
                                path: path.clone(),
                                var: DEFAULT_IPV4,
                            },
                        })
                        .map_err(|expected| FactError::Invalid {
                            path: path.clone(),
                            var: DEFAULT_IPV4,
                            value,
                            expected,
                        })
                })
            }
        };
        NodeFacts { leader, node_ip }
    }
}

/// `DEFAULT_IPV4` as `kube-bootstrap network-env` would write it, for a node without
/// `/etc/network-environment` (`path`).
fn discover_node_ip(path: PathBuf) -> Fact<IpAddr> {
    let found = crate::netenv::discover()
        .and_then(|d| d.default_ipv4().map(|(ip, iface)| (ip, iface.to_string())));
    match found {
        Ok((ip, iface)) => {
            tracing::info!(
                path = %path.display(),
                interface = %iface,
                address = %ip,
                "network environment file not found; node address discovered from the kernel"
            );
            Ok(Known {
                value: IpAddr::V4(ip),
                source: FactSource::Discovered {
                    path,
                    var: DEFAULT_IPV4,
                    iface,
                },
            })
        }
        Err(e) => Err(FactError::Undiscovered {
            path,
            var: DEFAULT_IPV4,
            reason: crate::causes::chain(&e),
        }),
    }
}

/// Reads one variable from an environment file, as systemd's `EnvironmentFile=` reads it.
fn read_var(path: &Path, var: &'static str) -> Result<String, FactError> {
    let vars = envfile::read(path).map_err(|e| FactError::Unreadable {
        path: path.to_path_buf(),
        var,
        reason: match e {
            envfile::Error::Syntax { at, .. } => {
                format!("line {}, column {}: {}", at.line, at.column, at.problem)
            }
            envfile::Error::Read { source, .. } => source.to_string(),
            other => other.to_string(),
        },
    })?;
    vars.into_iter()
        .find(|(k, _)| k == var)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or(FactError::Unset {
            path: path.to_path_buf(),
            var,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_endpoint_with_control_characters_is_shown_escaped() {
        let dir = std::env::temp_dir().join(format!("kb-leader-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::write(
            dir.join("etc/leader"),
            "LEADER_ENDPOINT=\"10.0.0.1\x1b[2J\"\n",
        )
        .unwrap();
        let overlay = crate::settings::Overlay::from_config_str(Path::new("/etc/kb.env"), "")
            .unwrap()
            .with_env([("KUBE_ARCH".to_string(), "amd64".to_string())].into());
        let settings = Settings::resolve(&dir, &overlay).unwrap();
        let e = NodeFacts::load(&settings).leader.unwrap_err().to_string();
        assert!(e.contains("'10.0.0.1\\u{1b}[2J'"), "{e}");
        assert!(e.contains(ENDPOINT_CONTROL), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn default_ipv4_must_be_a_unicast_address_of_a_node() {
        let dir = std::env::temp_dir().join(format!("kb-node-ip-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        let overlay = crate::settings::Overlay::from_config_str(Path::new("/etc/kb.env"), "")
            .unwrap()
            .with_env([("KUBE_ARCH".to_string(), "amd64".to_string())].into());
        let settings = Settings::resolve(&dir, &overlay).unwrap();
        for (value, want) in [
            ("10.0.0.5", Ok("10.0.0.5")),
            ("127.0.0.1", Ok("127.0.0.1")),
            ("0.0.0.0", Err("0.0.0.0 is the unspecified address")),
            (
                "255.255.255.255",
                Err("255.255.255.255 is the broadcast address"),
            ),
            ("224.0.0.1", Err("multicast")),
            ("239.255.255.250", Err("multicast")),
            ("10.0.0.256", Err("expected an IPv4 address")),
        ] {
            std::fs::write(
                dir.join("etc/network-environment"),
                format!("DEFAULT_IPV4={value}\n"),
            )
            .unwrap();
            let got = NodeFacts::load(&settings)
                .node_ip
                .map(|k| k.value.to_string())
                .map_err(|e| e.to_string());
            match (got, want) {
                (Ok(ip), Ok(w)) => assert_eq!(ip, w),
                (Err(e), Err(w)) => {
                    assert!(e.contains(w), "{value}: {e}");
                    assert!(e.contains(&format!("DEFAULT_IPV4='{value}'")), "{e}");
                }
                (got, _) => panic!("{value}: {got:?}"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
