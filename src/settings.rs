//! Settings: built-in defaults < config file < process environment < command line, validated once.
//!
//! The config file is read into an overlay; the process environment is only ever read, never
//! modified. Each resolved value remembers where it came from, so errors (and `--explain`) can
//! say so.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component as PathPart, Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use std::net::IpAddr;

use crate::arch::{self, Arch};
use crate::cidr::{self, Cidr};
use crate::component::Component;
use crate::env_vars as var;
use crate::error::Error;
use crate::kube_version::{self, KubeVersion};

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

/// Values given on the command line; each overrides its variable.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub version: Option<String>,
    pub arch: Option<String>,
    pub mirrors: Vec<String>,
    pub bin_dir: Option<String>,
    pub verify: Option<String>,
}

/// The raw layers, before validation.
#[derive(Debug, Default)]
pub struct Overlay {
    config_path: PathBuf,
    config: BTreeMap<String, String>,
    cli: BTreeMap<&'static str, (String, &'static str)>,
    /// Process environment; `None` reads the real one (tests pass a map).
    env: Option<BTreeMap<String, String>>,
}

impl Overlay {
    /// Reads the config file (optional unless named with `--config`) and takes the CLI values.
    pub fn load(root: &Path, config: Option<&Path>, cli: &CliOverrides) -> Result<Overlay, Error> {
        let (path, required) = match config {
            Some(p) => (resolve(root, p), true),
            None => (resolve(root, Path::new(DEFAULT_CONFIG)), false),
        };
        let vars = match crate::envfile::read(&path) {
            Ok(vars) => Some(vars),
            Err(crate::envfile::Error::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && !required =>
            {
                None
            }
            Err(crate::envfile::Error::Read { source, .. }) => {
                return Err(Error::ConfigRead { path, source });
            }
            Err(other) => return Err(Error::ConfigParse(other)),
        };
        let mut overlay = match vars {
            Some(vars) => Overlay::from_vars(&path, vars),
            None => Overlay {
                config_path: path,
                ..Overlay::default()
            },
        };
        overlay.set_cli(cli);
        Ok(overlay)
    }

    /// Parses config file text (systemd's `EnvironmentFile=` format) into an overlay.
    pub fn from_config_str(path: &Path, text: &str) -> Result<Overlay, Error> {
        let vars =
            crate::envfile::parse_str(text).map_err(|at| Error::ConfigParse(at.in_file(path)))?;
        Ok(Overlay::from_vars(path, vars))
    }

    fn from_vars(path: &Path, vars: Vec<(String, String)>) -> Overlay {
        let mut config = BTreeMap::new();
        for (key, value) in vars {
            if var::looks_like_ours(&key) {
                match var::suggest(&key) {
                    Some(meant) => {
                        tracing::warn!(file = %path.display(), variable = %key, suggestion = meant, "unknown setting {key} in config file, ignored: did you mean {meant}?")
                    }
                    None => {
                        tracing::warn!(file = %path.display(), variable = %key, "unknown setting {key} in config file, ignored (README.md lists every setting)")
                    }
                }
            }
            config.insert(key, value);
        }
        Overlay {
            config_path: path.to_path_buf(),
            config,
            ..Overlay::default()
        }
    }

    /// Uses `env` instead of the process environment (for tests).
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Overlay {
        self.env = Some(env);
        self
    }

    fn set_cli(&mut self, cli: &CliOverrides) {
        let mut put = |name: &'static str, flag: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                self.cli.insert(name, (v.clone(), flag));
            }
        };
        put(var::KUBE_VERSION, "--kube-version", &cli.version);
        put(var::KUBE_ARCH, "--arch", &cli.arch);
        put(var::KUBE_BIN_DIR, "--bin-dir", &cli.bin_dir);
        put(var::KUBE_VERIFY, "--verify", &cli.verify);
        if !cli.mirrors.is_empty() {
            self.cli
                .insert(var::KUBE_MIRRORS, (cli.mirrors.join(" "), "--mirror"));
        }
    }

    /// The value of `name` from the highest layer that sets it; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<(String, Origin)> {
        if let Some((v, flag)) = self.cli.get(name) {
            return Some((v.clone(), Origin::Cli(flag)));
        }
        let env = match &self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        if let Some(v) = env.filter(|v| !v.is_empty()) {
            return Some((v, Origin::Env));
        }
        self.config
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (v.clone(), Origin::ConfigFile(self.config_path.clone())))
    }
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
    pub fetch_retries: u32,
    pub stall_timeout: Duration,
    pub deadline: Duration,
    pub max_download_bytes: u64,
    pub verify: Verify,
    /// The cluster's shape: ports, ranges, directories.
    pub cluster: Cluster,
    /// Where the node's facts come from.
    pub node: NodeSources,
    /// What `pki` makes.
    pub pki: PkiSettings,
    /// Extra arguments per component, already split.
    pub extra_args: BTreeMap<Component, Vec<String>>,
    /// Where each variable's value came from.
    pub origins: BTreeMap<String, Origin>,
}

/// Settings that shape the components' flags.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// `None`: the version's default (9090 below 1.20, 6443 from 1.20).
    pub apiserver_port: Option<u16>,
    pub etcd_servers: String,
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

/// Extra apiserver names, validity and renewal of the certificates `pki` makes.
#[derive(Debug, Clone)]
pub struct PkiSettings {
    /// Each a DNS name (lowercase) or an IP address, as written.
    pub apiserver_sans: Vec<String>,
    pub renew_before_days: u32,
    pub ca_days: u32,
    pub cert_days: u32,
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

struct Resolver<'a> {
    overlay: &'a Overlay,
    origins: BTreeMap<String, Origin>,
}

impl Resolver<'_> {
    /// Looks `name` up in the overlay; records the origin.
    fn optional(&mut self, name: &str) -> Option<(String, Origin)> {
        let found = self.overlay.get(name);
        if let Some((_, origin)) = &found {
            self.origins.insert(name.to_string(), origin.clone());
        }
        found
    }

    /// Looks `name` up, falling back to `default`; records the origin.
    fn value(&mut self, name: &str, default: &str) -> (String, Origin) {
        self.optional(name).unwrap_or_else(|| {
            self.origins.insert(name.to_string(), Origin::Default);
            (default.to_string(), Origin::Default)
        })
    }

    /// Parses `name` when it is set; `None` when it is not.
    fn parse_optional<T>(
        &mut self,
        name: &str,
        expected: &str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, Error> {
        match self.optional(name) {
            Some((value, origin)) => f(value.trim())
                .map(Some)
                .ok_or_else(|| invalid(name, &value, origin, expected)),
            None => Ok(None),
        }
    }

    fn parse<T>(
        &mut self,
        name: &str,
        default: &str,
        expected: &str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Result<T, Error> {
        let (value, origin) = self.value(name, default);
        f(value.trim()).ok_or_else(|| invalid(name, &value, origin, expected))
    }
}

fn invalid(name: &str, value: &str, origin: Origin, expected: &str) -> Error {
    Error::InvalidSetting {
        var: name.to_string(),
        value: value.to_string(),
        origin,
        expected: expected.to_string(),
    }
}

impl Settings {
    /// Validates every setting from the overlay.
    pub fn resolve(root: &Path, overlay: &Overlay) -> Result<Settings, Error> {
        // Components resolve a relative path in a kubeconfig or config file against the
        // file's own directory: every path handed to them starts from an absolute root.
        let root = std::path::absolute(root).map_err(|source| Error::Io {
            action: "resolve",
            path: root.to_path_buf(),
            source,
        })?;
        let mut r = Resolver {
            overlay,
            origins: BTreeMap::new(),
        };

        let version = r.parse(
            var::KUBE_VERSION,
            kube_version::DEFAULT,
            kube_version::EXPECTED,
            |s| s.parse().ok(),
        )?;

        let arch = match r.optional(var::KUBE_ARCH) {
            Some((value, origin)) => value
                .trim()
                .parse()
                .map_err(|_| invalid(var::KUBE_ARCH, &value, origin, arch::EXPECTED))?,
            None => {
                let machine = arch::host_machine();
                r.origins.insert(var::KUBE_ARCH.to_string(), Origin::Host);
                Arch::from_machine(&machine).ok_or_else(|| {
                    invalid(
                        var::KUBE_ARCH,
                        &machine,
                        Origin::Host,
                        "a host Kubernetes publishes binaries for; set KUBE_ARCH to one of amd64, arm64, arm, ppc64le, s390x",
                    )
                })?
            }
        };

        let (mirror_text, mirror_origin) = r.value(var::KUBE_MIRRORS, DEFAULT_MIRROR);
        let mirrors = parse_mirrors(&mirror_text)
            .map_err(|why| invalid(var::KUBE_MIRRORS, &mirror_text, mirror_origin, &why))?;

        let mut pins = BTreeMap::new();
        for component in Component::ALL {
            let name = var::sha256_pin(component.binary());
            if let Some((value, origin)) = r.optional(&name) {
                let hex = parse_sha256(value.trim()).ok_or_else(|| {
                    invalid(
                        &name,
                        &value,
                        origin,
                        "64 hexadecimal characters (a sha256)",
                    )
                })?;
                pins.insert(component.binary(), hex);
            }
        }

        let bin_dir = r.parse(
            var::KUBE_BIN_DIR,
            "/opt/bin",
            "an absolute directory path",
            absolute_path,
        )?;
        let allow_http = r.parse(
            var::KUBE_ALLOW_HTTP,
            "0",
            "a boolean (1/0, yes/no, true/false, on/off)",
            parse_bool,
        )?;
        let ca_file = r.parse_optional(
            var::KUBE_CA_FILE,
            "an absolute path to a PEM file",
            absolute_path,
        )?;
        let fetch_retries = r.parse(
            var::KUBE_FETCH_RETRIES,
            "5",
            "a whole number of retries (0-100)",
            |s| s.parse::<u32>().ok().filter(|n| *n <= 100),
        )?;
        let seconds = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Duration::from_secs)
        };
        let stall_timeout = r.parse(
            var::KUBE_FETCH_STALL_TIMEOUT,
            "30",
            "a whole number of seconds above 0",
            seconds,
        )?;
        let deadline = r.parse(
            var::KUBE_FETCH_DEADLINE,
            "600",
            "a whole number of seconds above 0",
            seconds,
        )?;
        let max_download_bytes = r.parse(
            var::KUBE_MAX_DOWNLOAD_BYTES,
            "2GiB",
            "a size in bytes, optionally with K, M, G, KiB, MiB or GiB",
            parse_size,
        )?;
        let verify = r.parse(var::KUBE_VERIFY, "stamp", "stamp or full", |s| match s {
            "stamp" => Some(Verify::Stamp),
            "full" => Some(Verify::Full),
            _ => None,
        })?;

        let apiserver_port =
            r.parse_optional(var::KUBE_APISERVER_PORT, "a TCP port (1-65535)", |s| {
                s.parse::<u16>().ok().filter(|p| *p > 0)
            })?;
        let etcd_servers = r.parse(
            var::KUBE_ETCD_SERVERS,
            "http://127.0.0.1:2379",
            "comma-separated http(s) URLs",
            |s| {
                let ok = s.split(',').all(|u| {
                    Url::parse(u).is_ok_and(|u| {
                        matches!(u.scheme(), "http" | "https") && u.host_str().is_some()
                    })
                });
                ok.then(|| s.to_string())
            },
        )?;
        let service_range: Cidr = r.parse(
            var::KUBE_SERVICE_CLUSTER_IP_RANGE,
            "172.22.0.0/16",
            cidr::EXPECTED,
            |s| s.parse().ok(),
        )?;
        let cluster_cidr =
            r.parse_optional(var::KUBE_CLUSTER_CIDR, cidr::EXPECTED, |s| s.parse().ok())?;
        let domain = r.parse(
            var::KUBE_CLUSTER_DOMAIN,
            "cluster.local",
            "a DNS domain such as cluster.local",
            |s| {
                let ok = !s.is_empty()
                    && s.split('.').all(|l| {
                        !l.is_empty()
                            && !l.starts_with('-')
                            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    });
                ok.then(|| s.to_ascii_lowercase())
            },
        )?;
        let dns = match r.parse_optional(var::KUBE_CLUSTER_DNS, "an IP address", |s| {
            s.parse::<IpAddr>().ok()
        })? {
            Some(dns) => dns,
            None => {
                let origin = r.origins[var::KUBE_SERVICE_CLUSTER_IP_RANGE].clone();
                let dns = service_range.nth(10).ok_or_else(|| {
                    invalid(
                        var::KUBE_SERVICE_CLUSTER_IP_RANGE,
                        &service_range.to_string(),
                        origin,
                        "a range with at least 11 addresses (the cluster DNS is its tenth), or set KUBE_CLUSTER_DNS",
                    )
                })?;
                r.origins
                    .insert(var::KUBE_CLUSTER_DNS.to_string(), Origin::Default);
                dns
            }
        };
        let pki_dir = r.parse(
            var::KUBE_PKI_DIR,
            "/etc/kubernetes/pki",
            "an absolute directory path",
            absolute_path,
        )?;
        let config_dir = r.parse(
            var::KUBE_CONFIG_DIR,
            "/etc/kubernetes",
            "an absolute directory path",
            absolute_path,
        )?;
        let apiserver_sans = r
            .parse_optional(
                var::KUBE_APISERVER_SANS,
                "comma-separated DNS names or IP addresses",
                parse_sans,
            )?
            .unwrap_or_default();
        let days =
            |max: u32| move |s: &str| s.parse::<u32>().ok().filter(|d| (1..=max).contains(d));
        let renew_before_days = r.parse(
            var::KUBE_PKI_RENEW_BEFORE,
            "30",
            "a whole number of days (1-3650)",
            days(3650),
        )?;
        let ca_days = r.parse(
            var::KUBE_PKI_CA_DAYS,
            "3650",
            "a whole number of days (1-36500)",
            days(36500),
        )?;
        let cert_days = r.parse(
            var::KUBE_PKI_CERT_DAYS,
            "365",
            "a whole number of days (1-36500)",
            days(36500),
        )?;
        let runtime_endpoint = r.parse(
            var::KUBE_CONTAINER_RUNTIME_ENDPOINT,
            "unix:///run/containerd/containerd.sock",
            "a CRI endpoint such as unix:///run/containerd/containerd.sock",
            |s| {
                (s.starts_with("unix:///") && !s.contains(char::is_whitespace))
                    .then(|| s.to_string())
            },
        )?;
        let leader_file = r.parse(
            var::KUBE_LEADER_FILE,
            "/etc/leader",
            "an absolute file path",
            absolute_path,
        )?;
        let network_env_file = r.parse(
            var::KUBE_NETWORK_ENV_FILE,
            "/etc/network-environment",
            "an absolute file path",
            absolute_path,
        )?;
        let node_ip = match r.optional(var::KUBE_NODE_IP) {
            Some((value, origin)) => {
                let ip = value.trim().parse::<std::net::Ipv4Addr>().map_err(|_| {
                    invalid(var::KUBE_NODE_IP, &value, origin.clone(), "an IPv4 address")
                })?;
                Some((IpAddr::V4(ip), origin))
            }
            None => None,
        };
        let mut extra_args = BTreeMap::new();
        for component in Component::ALL {
            let name = extra_args_var(component);
            if let Some((value, origin)) = r.optional(name) {
                let args = crate::cmdline::split(&value).map_err(|why| {
                    invalid(
                        name,
                        &value,
                        origin,
                        &format!("arguments split like a systemd command line, not {why}"),
                    )
                })?;
                extra_args.insert(component, args);
            }
        }

        Ok(Settings {
            root,
            version,
            arch,
            mirrors,
            pins,
            bin_dir,
            allow_http,
            ca_file,
            fetch_retries,
            stall_timeout,
            deadline,
            max_download_bytes,
            verify,
            cluster: Cluster {
                apiserver_port,
                etcd_servers,
                service_range,
                cluster_cidr,
                domain,
                dns,
                pki_dir,
                config_dir,
                runtime_endpoint,
            },
            node: NodeSources {
                leader_file,
                network_env_file,
                node_ip,
            },
            pki: PkiSettings {
                apiserver_sans,
                renew_before_days,
                ca_days,
                cert_days,
            },
            extra_args,
            origins: r.origins,
        })
    }

    /// A node path (such as `/opt/bin/kubelet`) inside the root.
    pub fn path(&self, node_path: impl AsRef<Path>) -> PathBuf {
        resolve(&self.root, node_path.as_ref())
    }
}

/// An absolute path, or `None`.
fn absolute_path(text: &str) -> Option<PathBuf> {
    let p = PathBuf::from(text);
    p.is_absolute().then_some(p)
}

/// `KUBE_APISERVER_SANS`: comma-separated IP addresses or DNS names (letters, digits, `-`,
/// dot-separated labels; a leading `*.` for a wildcard).
pub fn parse_sans(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Ok(ip) = item.parse::<IpAddr>() {
            out.push(ip.to_string());
            continue;
        }
        let name = item.to_ascii_lowercase();
        let labels = name.strip_prefix("*.").unwrap_or(&name);
        let ok = labels.len() <= 253
            && labels.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok {
            return None;
        }
        out.push(name);
    }
    (!out.is_empty()).then_some(out)
}

/// Splits `KUBE_MIRRORS` on spaces and commas; every entry must be an http, https or file URL.
pub fn parse_mirrors(text: &str) -> Result<Vec<Url>, String> {
    let mut out = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let url = Url::parse(item)
            .map_err(|e| format!("a list of http, https or file URLs ('{item}': {e})"))?;
        match url.scheme() {
            "https" | "http" | "file" => {}
            other => {
                return Err(format!(
                    "a list of http, https or file URLs ('{item}' has scheme {other})"
                ));
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("base URLs without query or fragment ('{item}')"));
        }
        if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
            return Err(format!("a list of URLs with a host ('{item}')"));
        }
        out.push(url);
    }
    if out.is_empty() {
        return Err("at least one mirror URL".to_string());
    }
    Ok(out)
}

/// Lowercase hex of a sha256, or `None`.
pub fn parse_sha256(text: &str) -> Option<String> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
}

/// systemd's booleans.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Sizes like `2GiB`, `500M` or `1048576`.
pub fn parse_size(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor).filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlay(config: &str, env: &[(&str, &str)], cli: CliOverrides) -> Overlay {
        let mut o = Overlay::from_config_str(Path::new("/etc/kube-bootstrap.env"), config).unwrap();
        o.set_cli(&cli);
        o.with_env(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn settings(config: &str, env: &[(&str, &str)], cli: CliOverrides) -> Result<Settings, Error> {
        Settings::resolve(Path::new("/"), &overlay(config, env, cli))
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = settings("", &[("KUBE_ARCH", "amd64")], CliOverrides::default()).unwrap();
        assert_eq!(s.version.to_string(), "v1.36.4");
        assert_eq!(s.mirrors[0].as_str(), "https://dl.k8s.io/release");
        assert_eq!(s.bin_dir, PathBuf::from("/opt/bin"));
        assert_eq!(s.fetch_retries, 5);
        assert_eq!(s.stall_timeout, Duration::from_secs(30));
        assert_eq!(s.deadline, Duration::from_secs(600));
        assert_eq!(s.max_download_bytes, 2 << 30);
        assert_eq!(s.verify, Verify::Stamp);
        assert!(!s.allow_http);
        assert_eq!(s.origins["KUBE_VERSION"], Origin::Default);
    }

    #[test]
    fn layers_override_in_order() {
        let config = "KUBE_VERSION=v1.30.0\nKUBE_FETCH_RETRIES=2\nKUBE_BIN_DIR=/usr/local/bin\n";
        let env = [
            ("KUBE_VERSION", "v1.31.0"),
            ("KUBE_FETCH_RETRIES", "3"),
            ("KUBE_ARCH", "arm64"),
        ];
        let cli = CliOverrides {
            version: Some("v1.32.0".into()),
            ..Default::default()
        };
        let s = settings(config, &env, cli).unwrap();
        assert_eq!(s.version.to_string(), "v1.32.0");
        assert_eq!(s.origins["KUBE_VERSION"], Origin::Cli("--kube-version"));
        assert_eq!(s.fetch_retries, 3);
        assert_eq!(s.origins["KUBE_FETCH_RETRIES"], Origin::Env);
        assert_eq!(s.bin_dir, PathBuf::from("/usr/local/bin"));
        assert_eq!(
            s.origins["KUBE_BIN_DIR"],
            Origin::ConfigFile(PathBuf::from("/etc/kube-bootstrap.env"))
        );
    }

    #[test]
    fn invalid_values_name_variable_value_and_origin() {
        for (config, env, var, fragment) in [
            (
                "KUBE_VERSION=1.36\n",
                vec![],
                "KUBE_VERSION",
                "config file '/etc/kube-bootstrap.env'",
            ),
            (
                "",
                vec![("KUBE_ARCH", "x86")],
                "KUBE_ARCH",
                "the environment",
            ),
            (
                "",
                vec![("KUBE_MIRRORS", "ftp://mirror/k8s")],
                "KUBE_MIRRORS",
                "scheme ftp",
            ),
            (
                "",
                vec![("KUBE_SHA256_KUBELET", "abc")],
                "KUBE_SHA256_KUBELET",
                "64 hexadecimal",
            ),
            (
                "",
                vec![("KUBE_BIN_DIR", "opt/bin")],
                "KUBE_BIN_DIR",
                "absolute",
            ),
            (
                "",
                vec![("KUBE_ALLOW_HTTP", "maybe")],
                "KUBE_ALLOW_HTTP",
                "boolean",
            ),
            (
                "",
                vec![("KUBE_FETCH_STALL_TIMEOUT", "0")],
                "KUBE_FETCH_STALL_TIMEOUT",
                "above 0",
            ),
            (
                "",
                vec![("KUBE_MAX_DOWNLOAD_BYTES", "lots")],
                "KUBE_MAX_DOWNLOAD_BYTES",
                "size",
            ),
            (
                "",
                vec![("KUBE_VERIFY", "sometimes")],
                "KUBE_VERIFY",
                "stamp or full",
            ),
        ] {
            let mut env = env;
            if !env.iter().any(|(k, _)| *k == "KUBE_ARCH") {
                env.push(("KUBE_ARCH", "amd64"));
            }
            let err = settings(config, &env, CliOverrides::default()).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(var), "{var}: {text}");
            assert!(text.contains(fragment), "{var}: {text}");
            assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        }
    }

    #[test]
    fn cluster_defaults_and_derived_dns() {
        let s = settings("", &[("KUBE_ARCH", "amd64")], CliOverrides::default()).unwrap();
        assert_eq!(s.cluster.service_range.to_string(), "172.22.0.0/16");
        assert_eq!(s.cluster.dns.to_string(), "172.22.0.10");
        assert_eq!(s.cluster.apiserver_port, None);
        let s = settings(
            "KUBE_SERVICE_CLUSTER_IP_RANGE=10.96.0.0/12\nKUBE_KUBELET_EXTRA_ARGS=\"--v=2 '--node-labels=a=b c'\"\n",
            &[("KUBE_ARCH", "amd64")],
            CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(s.cluster.dns.to_string(), "10.96.0.10");
        assert_eq!(
            s.extra_args[&Component::Kubelet],
            ["--v=2", "--node-labels=a=b c"]
        );
    }

    #[test]
    fn invalid_cluster_settings_name_their_variable() {
        for (var, value) in [
            ("KUBE_SERVICE_CLUSTER_IP_RANGE", "172.22.0.1/16"),
            ("KUBE_SERVICE_CLUSTER_IP_RANGE", "10.0.0.0/30"),
            ("KUBE_CLUSTER_CIDR", "10.244.0.1/16"),
            ("KUBE_APISERVER_PORT", "0"),
            ("KUBE_ETCD_SERVERS", "127.0.0.1:2379"),
            ("KUBE_CLUSTER_DNS", "dns"),
            ("KUBE_NODE_IP", "fd00::1"),
            ("KUBE_PROXY_EXTRA_ARGS", "--x='unterminated"),
            ("KUBE_PKI_DIR", "pki"),
            ("KUBE_APISERVER_SANS", "ok.example,bad_name"),
            ("KUBE_PKI_RENEW_BEFORE", "0"),
            ("KUBE_PKI_CERT_DAYS", "a year"),
        ] {
            let err = settings(
                "",
                &[("KUBE_ARCH", "amd64"), (var, value)],
                CliOverrides::default(),
            )
            .unwrap_err();
            assert!(err.to_string().contains(var), "{var}: {err}");
            assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        }
    }

    #[test]
    fn apiserver_sans_are_names_or_addresses() {
        assert_eq!(
            parse_sans(" API.Example.com, 10.0.0.9,fd00::1 ,*.lb.example").unwrap(),
            ["api.example.com", "10.0.0.9", "fd00::1", "*.lb.example"]
        );
        for bad in ["", "a..b", "-a.example", "a b", "under_score", "http://x"] {
            assert_eq!(parse_sans(bad), None, "{bad}");
        }
    }

    #[test]
    fn mirrors_split_on_spaces_and_commas() {
        let m = parse_mirrors("https://a.example/k8s, http://b.example:8080/r  file:///srv/mirror")
            .unwrap();
        let m: Vec<_> = m.iter().map(Url::as_str).collect();
        assert_eq!(
            m,
            [
                "https://a.example/k8s",
                "http://b.example:8080/r",
                "file:///srv/mirror"
            ]
        );
        assert!(parse_mirrors(" , ").is_err());
        assert!(parse_mirrors("dl.k8s.io/release").is_err());
    }

    #[test]
    fn pins_are_normalized_per_binary() {
        let hex = "AB".repeat(32);
        let s = settings(
            "",
            &[("KUBE_ARCH", "amd64"), ("KUBE_SHA256_KUBE_APISERVER", &hex)],
            CliOverrides::default(),
        )
        .unwrap();
        assert_eq!(s.pins["kube-apiserver"], "ab".repeat(32));
        assert!(!s.pins.contains_key("kubelet"));
    }

    #[test]
    fn sizes_and_booleans() {
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("1T"), None);
        assert_eq!(parse_bool("Yes"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
    }

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
