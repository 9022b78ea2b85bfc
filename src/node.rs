//! The node's facts: the leader's endpoint from `/etc/leader` and the node's address from
//! `/etc/network-environment` (as written by setup-network-environment), with where each came from.
//!
//! Both files are read into values here, never into the process environment. A missing or
//! invalid fact is kept as an error and only reported when a flag needs it. When
//! `/etc/network-environment` does not exist at all, the address is discovered from the kernel
//! the way `kube-bootstrap network-env` would write it, and its source says so.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::envfile;
use crate::netenv::DEFAULT_IPV4;
use crate::settings::{Origin, Settings};

/// Variable in `/etc/leader`.
pub const LEADER_ENDPOINT: &str = "LEADER_ENDPOINT";

/// What a valid `LEADER_ENDPOINT` looks like.
pub const ENDPOINT_EXPECTED: &str = "a host name or IP, host:port, [IPv6]:port, or an http(s) URL (e.g. 10.0.0.5, leader.example:6443)";

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

/// The apiserver endpoint of the leader node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https` when given as a URL.
    pub scheme: Option<String>,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    pub port: Option<u16>,
}

impl Endpoint {
    /// The apiserver URL, filling in the scheme and port the version's topology uses.
    pub fn url(&self, default_scheme: &str, default_port: u16) -> String {
        let scheme = self.scheme.as_deref().unwrap_or(default_scheme);
        let port = self.port.unwrap_or(default_port);
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{port}")
    }
}

/// Parses `LEADER_ENDPOINT`. Pure.
pub fn parse_endpoint(text: &str) -> Option<Endpoint> {
    if text.contains("://") {
        let url = Url::parse(text).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || !matches!(url.path(), "" | "/")
        {
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(d) => valid_host(d)?.to_string(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        // A URL means what it says: without a port, the scheme's own port.
        return Some(Endpoint {
            scheme: Some(url.scheme().to_string()),
            host,
            port: url.port_or_known_default(),
        });
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let ip: Ipv6Addr = addr.parse().ok()?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':')?)?),
        };
        return Some(Endpoint {
            scheme: None,
            host: ip.to_string(),
            port,
        });
    }
    if let Ok(ip) = text.parse::<Ipv6Addr>() {
        return Some(Endpoint {
            scheme: None,
            host: ip.to_string(),
            port: None,
        });
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(parse_port(p)?)),
        None => (text, None),
    };
    Some(Endpoint {
        scheme: None,
        host: valid_host(host)?.to_string(),
        port,
    })
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|p| *p > 0)
}

/// An IPv4 address or a DNS name (RFC 1123 labels).
fn valid_host(host: &str) -> Option<&str> {
    if host.parse::<Ipv4Addr>().is_ok() {
        return Some(host);
    }
    // Something that looks numeric but is not a valid address (10.0.0.256) is a typo.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    ok.then_some(host)
}

/// The node's facts, as far as they could be read.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    pub leader: Fact<Endpoint>,
    pub node_ip: Fact<IpAddr>,
}

impl NodeFacts {
    /// Reads `/etc/leader` and `/etc/network-environment` (inside the root); `KUBE_NODE_IP`
    /// replaces the latter.
    pub fn load(settings: &Settings) -> NodeFacts {
        let leader_path = settings.path(&settings.node.leader_file);
        let leader = read_var(&leader_path, LEADER_ENDPOINT).and_then(|value| {
            parse_endpoint(&value)
                .map(|e| Known {
                    value: e,
                    source: FactSource::File {
                        path: leader_path.clone(),
                        var: LEADER_ENDPOINT,
                    },
                })
                .ok_or(FactError::Invalid {
                    path: leader_path.clone(),
                    var: LEADER_ENDPOINT,
                    value,
                    expected: ENDPOINT_EXPECTED,
                })
        });
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
                    value
                        .parse::<Ipv4Addr>()
                        .map(|ip| Known {
                            value: IpAddr::V4(ip),
                            source: FactSource::File {
                                path: path.clone(),
                                var: DEFAULT_IPV4,
                            },
                        })
                        .map_err(|_| FactError::Invalid {
                            path: path.clone(),
                            var: DEFAULT_IPV4,
                            value,
                            expected: "an IPv4 address",
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
    fn endpoints_accepted() {
        for (text, scheme, host, port) in [
            ("10.0.0.5", None, "10.0.0.5", None),
            ("leader.example", None, "leader.example", None),
            ("leader", None, "leader", None),
            ("10.0.0.5:6443", None, "10.0.0.5", Some(6443)),
            ("leader.example:9090", None, "leader.example", Some(9090)),
            ("[fd00::1]:6443", None, "fd00::1", Some(6443)),
            ("[fd00::1]", None, "fd00::1", None),
            ("fd00::1", None, "fd00::1", None),
            (
                "https://leader.example:6443",
                Some("https"),
                "leader.example",
                Some(6443),
            ),
            (
                "http://10.0.0.5:9090/",
                Some("http"),
                "10.0.0.5",
                Some(9090),
            ),
            (
                "https://leader.example",
                Some("https"),
                "leader.example",
                Some(443),
            ),
            (
                "https://[fd00::1]:6443",
                Some("https"),
                "fd00::1",
                Some(6443),
            ),
        ] {
            let e = parse_endpoint(text).unwrap_or_else(|| panic!("{text} rejected"));
            assert_eq!(e.scheme.as_deref(), scheme, "{text}");
            assert_eq!(e.host, host, "{text}");
            assert_eq!(e.port, port, "{text}");
        }
    }

    #[test]
    fn endpoints_rejected() {
        for text in [
            "",
            " ",
            "10.0.0.5 ",
            "leader example",
            "10.0.0.5;rm -rf /",
            "$(reboot)",
            "`id`",
            "/etc/leader",
            "leader/api",
            "10.0.0.256",
            "10.0.0.5:0",
            "10.0.0.5:99999",
            "10.0.0.5:port",
            "ftp://leader",
            "https://user:pw@leader",
            "https://leader/api",
            "https://leader?x=1",
            "-leader",
            "[fd00::1]:",
            "[not-v6]:6443",
        ] {
            assert!(parse_endpoint(text).is_none(), "{text:?} accepted");
        }
    }

    #[test]
    fn endpoint_urls_fill_defaults() {
        let e = parse_endpoint("10.0.0.1").unwrap();
        assert_eq!(e.url("https", 6443), "https://10.0.0.1:6443");
        let e = parse_endpoint("[fd00::1]:7000").unwrap();
        assert_eq!(e.url("http", 9090), "http://[fd00::1]:7000");
        let e = parse_endpoint("https://leader:443").unwrap();
        assert_eq!(e.url("http", 9090), "https://leader:443");
    }
}
