//! Validation: every variable looked up through the overlay once, parsed, and remembered with
//! its origin, into [`Settings`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::parse::{self, absolute_path};
use super::{
    Cluster, DEFAULT_MIRROR, Error, HostSettings, NodeSources, Origin, Overlay, PkiSettings,
    Proxies, Settings, extra_args_var,
};
use crate::arch::{self, Arch};
use crate::cidr::{self, Cidr};
use crate::component::{Component, Fetchable};
use crate::env_vars as var;
use crate::kube_version;

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

impl Resolver<'_> {
    /// The proxy variables, each upper-case name before its lower-case form, from whichever
    /// layer sets it: the config file counts, as it does under systemd's `EnvironmentFile=`.
    fn proxies(&mut self) -> Result<Proxies, Error> {
        let mut found = [None, None, None, None];
        for (slot, (upper, lower)) in found.iter_mut().zip(var::PROXY_VARS) {
            *slot = match self.optional(upper) {
                Some((value, origin)) => Some((upper, value, origin)),
                None => self
                    .optional(lower)
                    .map(|(value, origin)| (lower, value, origin)),
            };
        }
        let [https, http, all, no] = found;
        let url = |found: Option<(&'static str, String, Origin)>| match found {
            None => Ok(None),
            Some((name, value, origin)) => match parse::proxy(value.trim()) {
                Some(url) => Ok(Some((url, name))),
                None => Err(invalid(
                    name,
                    &value,
                    origin,
                    "an http or https proxy URL such as http://proxy.internal:3128, with nothing after it",
                )),
            },
        };
        let no_proxy = match no {
            None => None,
            Some((name, value, origin)) => {
                Some(parse::no_proxy(value.trim()).ok_or_else(|| {
                    invalid(
                        name,
                        &value,
                        origin,
                        "comma-separated host names, domains, IP addresses or CIDRs, or *",
                    )
                })?)
            }
        };
        Ok(Proxies {
            https: url(https)?,
            http: url(http)?,
            all: url(all)?,
            no_proxy,
        })
    }
}

impl Resolver<'_> {
    /// The kubelet's and kube-proxy's host choices; unset ones stay the component's default.
    fn host(&mut self) -> Result<HostSettings, Error> {
        const BOOLEAN: &str = "a boolean (1/0, yes/no, true/false, on/off)";
        Ok(HostSettings {
            fail_cgroup_v1: self.parse_optional(
                var::KUBE_KUBELET_FAIL_CGROUPV1,
                BOOLEAN,
                parse::boolean,
            )?,
            protect_kernel_defaults: self.parse_optional(
                var::KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS,
                BOOLEAN,
                parse::boolean,
            )?,
            conntrack_max_per_core: self.parse_optional(
                var::KUBE_PROXY_CONNTRACK_MAX_PER_CORE,
                "a whole number of conntrack entries per CPU core (0-2147483647; 0 leaves nf_conntrack_max alone)",
                parse::conntrack_per_core,
            )?,
        })
    }
}

/// `KUBE_VERSION`: a release (with a did-you-mean for `1.36.4`) that kube-bootstrap supports,
/// refused here before any mirror is asked for it.
fn version(r: &mut Resolver<'_>) -> Result<kube_version::KubeVersion, Error> {
    let (value, origin) = r.value(var::KUBE_VERSION, kube_version::DEFAULT);
    let version: kube_version::KubeVersion = value.trim().parse().map_err(|_| {
        let expected = kube_version::expected_for(&value);
        invalid(var::KUBE_VERSION, &value, origin.clone(), &expected)
    })?;
    if !version.is_supported() {
        let expected = kube_version::expected_supported();
        return Err(invalid(var::KUBE_VERSION, &value, origin, &expected));
    }
    Ok(version)
}

pub(super) fn invalid(name: &str, value: &str, origin: Origin, expected: &str) -> Error {
    Error::invalid(name, value, origin, expected)
}

impl Settings {
    /// Validates every setting from the overlay.
    pub fn resolve(root: &Path, overlay: &Overlay) -> Result<Settings, Error> {
        // Components resolve a relative path in a kubeconfig or config file against the
        // file's own directory: every path handed to them starts from an absolute root.
        let root = std::path::absolute(root).map_err(crate::fsutil::io_err("resolve", root))?;
        let mut r = Resolver {
            overlay,
            origins: BTreeMap::new(),
        };

        let version = version(&mut r)?;

        let arch = match r.optional(var::KUBE_ARCH) {
            Some((value, origin)) => value.trim().parse().map_err(|_| {
                invalid(
                    var::KUBE_ARCH,
                    &value,
                    origin,
                    &arch::expected_for(value.trim()),
                )
            })?,
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
        let mirrors = parse::mirrors(&mirror_text)
            .map_err(|why| invalid(var::KUBE_MIRRORS, &mirror_text, mirror_origin, &why))?;

        let mut pins = BTreeMap::new();
        for fetchable in Fetchable::ALL {
            let name = var::sha256_pin(fetchable.binary());
            if let Some((value, origin)) = r.optional(&name) {
                let hex = parse::sha256(value.trim()).ok_or_else(|| {
                    invalid(
                        &name,
                        &value,
                        origin,
                        "64 hexadecimal characters (a sha256)",
                    )
                })?;
                pins.insert(fetchable.binary(), hex);
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
            parse::boolean,
        )?;
        let ca_file = r.parse_optional(
            var::KUBE_CA_FILE,
            "an absolute path to a PEM file",
            absolute_path,
        )?;
        let proxies = r.proxies()?;
        let fetch_retries = r.parse(
            var::KUBE_FETCH_RETRIES,
            "5",
            "a whole number of retries (0-100)",
            parse::retries,
        )?;
        let stall_timeout = r.parse(
            var::KUBE_FETCH_STALL_TIMEOUT,
            "30",
            "a whole number of seconds above 0",
            parse::seconds,
        )?;
        let deadline = r.parse(
            var::KUBE_FETCH_DEADLINE,
            "600",
            "a whole number of seconds above 0",
            parse::seconds,
        )?;
        let max_download_bytes = r.parse(
            var::KUBE_MAX_DOWNLOAD_BYTES,
            "2GiB",
            "a size in bytes, optionally with K, M, G, KiB, MiB or GiB",
            parse::size,
        )?;
        let verify = r.parse(var::KUBE_VERIFY, "stamp", "stamp or full", parse::verify)?;
        let keep_releases = r.parse(
            var::KUBE_KEEP_RELEASES,
            "2",
            "a whole number of releases (0-20)",
            parse::keep_releases,
        )?;
        let skew_check = r.parse(
            var::KUBE_SKEW_CHECK,
            "on",
            "a boolean (on/off, 1/0, yes/no, true/false)",
            parse::boolean,
        )?;

        let apiserver_port = r.parse_optional(
            var::KUBE_APISERVER_PORT,
            "a TCP port (1-65535)",
            parse::port,
        )?;
        let etcd_servers = r.parse_optional(
            var::KUBE_ETCD_SERVERS,
            "comma-separated http(s) URLs, all of one scheme",
            parse::etcd_servers,
        )?;
        let service_range: Cidr = {
            let (value, origin) = r.value(var::KUBE_SERVICE_CLUSTER_IP_RANGE, "172.22.0.0/16");
            parse::service_range(value.trim()).map_err(|expected| {
                invalid(
                    var::KUBE_SERVICE_CLUSTER_IP_RANGE,
                    &value,
                    origin,
                    &expected,
                )
            })?
        };
        let cluster_cidr =
            r.parse_optional(var::KUBE_CLUSTER_CIDR, cidr::EXPECTED, |s| s.parse().ok())?;
        let domain = r.parse(
            var::KUBE_CLUSTER_DOMAIN,
            "cluster.local",
            "a DNS domain such as cluster.local",
            parse::domain,
        )?;
        let dns = match r.parse_optional(var::KUBE_CLUSTER_DNS, "an IP address", |s| {
            s.parse::<IpAddr>().ok()
        })? {
            Some(dns) if !service_range.contains(dns) => {
                let origin = r.origins[var::KUBE_CLUSTER_DNS].clone();
                return Err(invalid(
                    var::KUBE_CLUSTER_DNS,
                    &dns.to_string(),
                    origin,
                    &format!(
                        "an address inside KUBE_SERVICE_CLUSTER_IP_RANGE '{service_range}': the cluster DNS is a service's cluster IP, which the apiserver allocates only from that range (it refuses others: 'the provided IP (...) is not in the valid range')"
                    ),
                ));
            }
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
                parse::sans,
            )?
            .unwrap_or_default();
        let renew_before_days = r.parse(
            var::KUBE_PKI_RENEW_BEFORE,
            "30",
            "a whole number of days (1-3650)",
            parse::days(3650),
        )?;
        let ca_days = r.parse(
            var::KUBE_PKI_CA_DAYS,
            "3650",
            "a whole number of days (1-36500)",
            parse::days(36500),
        )?;
        let cert_days = r.parse(
            var::KUBE_PKI_CERT_DAYS,
            "365",
            "a whole number of days (1-36500)",
            parse::days(36500),
        )?;
        // A leaf that lives no longer than the renewal window is re-issued on every run.
        if cert_days <= renew_before_days {
            return Err(invalid(
                var::KUBE_PKI_CERT_DAYS,
                &cert_days.to_string(),
                r.origins[var::KUBE_PKI_CERT_DAYS].clone(),
                &format!(
                    "more days than {}={renew_before_days}, or every certificate is re-issued on every run; raise it or lower {}",
                    var::KUBE_PKI_RENEW_BEFORE,
                    var::KUBE_PKI_RENEW_BEFORE
                ),
            ));
        }
        let join = super::join::resolve(
            r.optional(var::KUBE_BOOTSTRAP_TOKEN),
            r.optional(var::KUBE_DISCOVERY_TOKEN_CA_CERT_HASH),
        )?;
        let runtime_endpoint = r.parse(
            var::KUBE_CONTAINER_RUNTIME_ENDPOINT,
            "unix:///run/containerd/containerd.sock",
            "a CRI endpoint such as unix:///run/containerd/containerd.sock",
            parse::cri_endpoint,
        )?;
        let host = r.host()?;
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
                let ip = super::parse::node_ipv4(&value)
                    .map_err(|why| invalid(var::KUBE_NODE_IP, &value, origin.clone(), why))?;
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
                        origin.clone(),
                        &format!("arguments split like a systemd command line, not {why}"),
                    )
                })?;
                // A control character (raw, or from an escape such as `\n`) breaks the unit's
                // environment file and, NUL above all, systemd's handling of the unit.
                if let Some(n) = args.iter().position(|a| a.contains(char::is_control)) {
                    return Err(invalid(
                        name,
                        &value,
                        origin,
                        &format!(
                            "arguments without control characters (argument {} holds one)",
                            n + 1
                        ),
                    ));
                }
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
            proxies,
            fetch_retries,
            stall_timeout,
            deadline,
            max_download_bytes,
            verify,
            keep_releases,
            skew_check,
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
                join,
            },
            host,
            extra_args,
            origins: r.origins,
            unknown: overlay.unknown().to_vec(),
        })
    }
}
