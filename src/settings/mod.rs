//! Settings: built-in defaults < config file < process environment < command line, validated once.
//!
//! The config file is read into an overlay; the process environment is only ever read, never
//! modified. Each resolved value remembers where it came from, so errors (and `--explain`) can
//! say so.
//!
//! `overlay` holds the raw layers, `resolve` validates them into [`Settings`] once, and `parse`
//! has the pure parsers of single values.

mod join;
mod overlay;
pub mod parse;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Component as PathPart, Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::arch::Arch;
use crate::cidr::Cidr;
use crate::component::Component;
use crate::env_vars as var;
use crate::kube_version::KubeVersion;

pub use join::{BootstrapToken, Join, bootstrap_token as parse_bootstrap_token};
pub use overlay::{CliOverrides, Overlay};

/// A setting that cannot be used, or a config file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {var}='{value}' (from {origin}): expected {expected}")]
    Invalid {
        var: String,
        value: String,
        origin: Origin,
        expected: String,
    },

    #[error("cannot read config file '{}'", path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The config file is not a file systemd's `EnvironmentFile=` reads as meant.
    #[error(transparent)]
    ConfigParse(crate::envfile::Error),

    #[error(transparent)]
    Io(#[from] crate::fsutil::Error),

    #[error("root directory '{}' (--root) does not exist or is not a directory", path.display())]
    MissingRoot { path: PathBuf },

    /// Names in the config file that look like ours but are not: a typo there would otherwise
    /// install and run the defaults.
    #[error("{}", unknown.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    UnknownSettings { unknown: Vec<UnknownSetting> },
}

impl Error {
    /// `name`'s `value` (from `origin`) is not what it should be.
    pub(crate) fn invalid(name: &str, value: &str, origin: Origin, expected: &str) -> Error {
        Error::Invalid {
            var: name.to_string(),
            // Values come from files and environments others write, and URLs carry credentials.
            value: crate::shown::quote(value),
            origin,
            expected: expected.to_string(),
        }
    }
}

/// The config file read when `--config` is not given (under `--root`).
pub const DEFAULT_CONFIG: &str = "/etc/kube-bootstrap.env";
/// The mirror used when `KUBE_MIRRORS` is not set.
pub const DEFAULT_MIRROR: &str = "https://dl.k8s.io/release";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    Host,
    ConfigFile(PathBuf),
    Env,
    Cli(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the built-in default"),
            Origin::Host => f.write_str("the host"),
            Origin::ConfigFile(path) => write!(f, "config file '{}'", path.display()),
            Origin::Env => f.write_str("the environment"),
            Origin::Cli(flag) => write!(f, "command line {flag}"),
        }
    }
}

/// How an installed binary is checked before it is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Trust the file when its identity (device, inode, size, mtime, ctime) is unchanged.
    Stamp,
    /// Re-hash the whole file.
    Full,
}

/// Resolved, validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Every path below is relative to this directory.
    pub root: PathBuf,
    pub version: KubeVersion,
    pub arch: Arch,
    pub mirrors: Vec<Url>,
    /// Pinned checksums by binary name.
    pub pins: BTreeMap<&'static str, String>,
    /// Absolute path on the node (not yet rooted).
    pub bin_dir: PathBuf,
    pub allow_http: bool,
    pub ca_file: Option<PathBuf>,
    /// Proxies for mirrors, from the config file as well as the environment.
    pub proxies: Proxies,
    pub fetch_retries: u32,
    pub stall_timeout: Duration,
    pub deadline: Duration,
    pub max_download_bytes: u64,
    pub verify: Verify,
    /// Verified releases kept per binary for an offline rollback (`KUBE_KEEP_RELEASES`).
    pub keep_releases: u32,
    /// Whether the version-skew guard asks the leader before a kubelet or kube-proxy changes.
    pub skew_check: bool,
    /// The cluster's shape: ports, ranges, directories.
    pub cluster: Cluster,
    /// Where the node's facts come from.
    pub node: NodeSources,
    /// What `pki` makes.
    pub pki: PkiSettings,
    /// Kubelet and kube-proxy choices about the host they run on.
    pub host: HostSettings,
    /// Extra arguments per component, already split.
    pub extra_args: BTreeMap<Component, Vec<String>>,
    /// Where each variable's value came from.
    pub origins: BTreeMap<String, Origin>,
    /// Names in the config file that look like ours but are not (ignored, reported).
    pub unknown: Vec<UnknownSetting>,
}

/// A name in the config file that looks like one of ours but is not: `KUBE_VERSON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    pub name: String,
    /// The name it most likely meant.
    pub suggestion: Option<&'static str>,
    pub file: PathBuf,
}

impl std::fmt::Display for UnknownSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown setting {} in '{}'",
            self.name,
            self.file.display()
        )?;
        match self.suggestion {
            Some(meant) => write!(f, ": did you mean {meant}?"),
            None => write!(f, " (README.md lists every setting)"),
        }
    }
}

/// Settings that shape the components' flags.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `None`: the version's default (9090 below 1.20, 6443 from 1.20).
    pub apiserver_port: Option<u16>,
    /// `None`: the release's default (see `flags::etcd_servers`): plain http below 1.20,
    /// https with etcd's client certificate from 1.20.
    pub etcd_servers: Option<String>,
    pub service_range: Cidr,
    /// The pod network (`KUBE_CLUSTER_CIDR`), when the operator names it; `doctor` checks the
    /// service range against it.
    pub cluster_cidr: Option<Cidr>,
    pub domain: String,
    pub dns: IpAddr,
    /// Node paths (not yet rooted).
    pub pki_dir: PathBuf,
    pub config_dir: PathBuf,
    pub runtime_endpoint: String,
}

/// Proxies for requests to mirrors, each with the variable that set it (for messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    pub https: Option<(Url, &'static str)>,
    pub http: Option<(Url, &'static str)>,
    pub all: Option<(Url, &'static str)>,
    /// `NO_PROXY` as written (validated).
    pub no_proxy: Option<String>,
}

/// Extra apiserver names, validity and renewal of the certificates `pki` makes.
#[derive(Debug, Clone)]
pub struct PkiSettings {
    /// Each a DNS name (lowercase) or an IP address, as written.
    pub apiserver_sans: Vec<String>,
    pub renew_before_days: u32,
    pub ca_days: u32,
    pub cert_days: u32,
    /// A worker that joins with a bootstrap token (`KUBE_BOOTSTRAP_TOKEN`).
    pub join: Option<Join>,
}

/// What the kubelet and kube-proxy may do to the host, each `None` when the operator leaves it to
/// the component's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// `failCgroupV1` (`KUBE_KUBELET_FAIL_CGROUPV1`).
    pub fail_cgroup_v1: Option<bool>,
    /// `protectKernelDefaults` (`KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS`).
    pub protect_kernel_defaults: Option<bool>,
    /// `conntrack.maxPerCore` (`KUBE_PROXY_CONNTRACK_MAX_PER_CORE`); 0 leaves the sysctl alone.
    pub conntrack_max_per_core: Option<u32>,
}

/// The node files and overrides.
#[derive(Debug, Clone)]
pub struct NodeSources {
    pub leader_file: PathBuf,
    pub network_env_file: PathBuf,
    pub node_ip: Option<(IpAddr, Origin)>,
}

/// The extra-arguments variable of each component.
pub fn extra_args_var(component: Component) -> &'static str {
    match component {
        Component::Apiserver => var::KUBE_APISERVER_EXTRA_ARGS,
        Component::ControllerManager => var::KUBE_CONTROLLER_MANAGER_EXTRA_ARGS,
        Component::Scheduler => var::KUBE_SCHEDULER_EXTRA_ARGS,
        Component::Kubelet => var::KUBE_KUBELET_EXTRA_ARGS,
        Component::Proxy => var::KUBE_PROXY_EXTRA_ARGS,
    }
}

/// Every node file lives under the root: a missing root is the mistake to report, not the
/// first node file that then cannot be found under it. Commands that `create` files (fetch,
/// pki) make a new root themselves.
pub fn check_root(root: &Path, creates: bool) -> Result<(), Error> {
    if creates || std::fs::metadata(root).is_ok_and(|m| m.is_dir()) {
        Ok(())
    } else {
        Err(Error::MissingRoot {
            path: root.to_path_buf(),
        })
    }
}

/// Puts `path` under `root`: absolute paths are re-rooted, relative ones stay relative to the
/// current directory. `..` cannot climb out of the root.
pub fn resolve(root: &Path, path: &Path) -> PathBuf {
    if !path.is_absolute() {
        return path.to_path_buf();
    }
    let mut out = root.to_path_buf();
    for part in path.components() {
        match part {
            PathPart::Normal(p) => out.push(p),
            PathPart::ParentDir if out != root => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

impl Settings {
    /// Refuses names in the config file that look like ours but are not (`doctor` reports them
    /// as findings instead, and goes on).
    pub fn refuse_unknown(&self) -> Result<(), Error> {
        if self.unknown.is_empty() {
            Ok(())
        } else {
            Err(Error::UnknownSettings {
                unknown: self.unknown.clone(),
            })
        }
    }

    /// A node path (such as `/opt/bin/kubelet`) inside the root.
    pub fn path(&self, node_path: impl AsRef<Path>) -> PathBuf {
        resolve(&self.root, node_path.as_ref())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod paths {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/sandbox");
        assert_eq!(
            resolve(root, Path::new("/opt/bin")),
            PathBuf::from("/sandbox/opt/bin")
        );
        assert_eq!(
            resolve(root, Path::new("/../../etc/passwd")),
            PathBuf::from("/sandbox/etc/passwd")
        );
        assert_eq!(
            resolve(Path::new("/"), Path::new("/opt/bin")),
            PathBuf::from("/opt/bin")
        );
        assert_eq!(
            resolve(root, Path::new("local.env")),
            PathBuf::from("local.env")
        );
    }
}
