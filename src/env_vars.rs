//! Every environment variable kube-bootstrap reads, in one place, with its default and meaning.
//!
//! The same names are accepted in the config file (`/etc/kube-bootstrap.env`). The README's
//! configuration reference is checked against [`ALL`] by a unit test, so the two cannot drift.

/// Root directory under which every path lives (`--root`). Default `/`.
pub const KUBE_BOOTSTRAP_ROOT: &str = "KUBE_BOOTSTRAP_ROOT";
/// Log filter: `target=level` directives, tracing's `Targets` syntax (`debug`,
/// `kube_bootstrap=trace`). Process env only.
pub const KUBE_BOOTSTRAP_LOG: &str = "KUBE_BOOTSTRAP_LOG";
/// Kubernetes release to install, `vMAJOR.MINOR.PATCH[-pre]`.
pub const KUBE_VERSION: &str = "KUBE_VERSION";
/// Architecture of the binaries (`amd64`, `arm64`, `arm`, `ppc64le`, `s390x`).
pub const KUBE_ARCH: &str = "KUBE_ARCH";
/// Mirror base URLs, tried in order, separated by spaces or commas.
pub const KUBE_MIRRORS: &str = "KUBE_MIRRORS";
/// Prefix of the per-binary checksum pins: `KUBE_SHA256_KUBELET`, `KUBE_SHA256_KUBE_APISERVER`...
pub const KUBE_SHA256_PREFIX: &str = "KUBE_SHA256_";
/// Directory the binaries are installed into.
pub const KUBE_BIN_DIR: &str = "KUBE_BIN_DIR";
/// Allow plain `http://` mirrors without a pinned checksum.
pub const KUBE_ALLOW_HTTP: &str = "KUBE_ALLOW_HTTP";
/// Extra PEM CA bundle trusted for mirrors, on top of the system trust store.
pub const KUBE_CA_FILE: &str = "KUBE_CA_FILE";
/// Proxy for https mirrors (`http://proxy:3128`); `https_proxy` is read when it is unset.
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// Proxy for plain http mirrors; `http_proxy` is read when it is unset.
pub const HTTP_PROXY: &str = "HTTP_PROXY";
/// Proxy for http and https mirrors that no scheme-specific proxy covers; or `all_proxy`.
pub const ALL_PROXY: &str = "ALL_PROXY";
/// Hosts, domains and CIDRs reached without a proxy, comma-separated, `*` for all; or `no_proxy`.
pub const NO_PROXY: &str = "NO_PROXY";
/// Each proxy variable and its lower-case form, read when the upper-case one is unset (the
/// order curl's and reqwest's readers use).
pub const PROXY_VARS: [(&str, &str); 4] = [
    (HTTPS_PROXY, "https_proxy"),
    (HTTP_PROXY, "http_proxy"),
    (ALL_PROXY, "all_proxy"),
    (NO_PROXY, "no_proxy"),
];
/// Retries per mirror for transient failures.
pub const KUBE_FETCH_RETRIES: &str = "KUBE_FETCH_RETRIES";
/// Seconds without a single byte before a download counts as stalled.
pub const KUBE_FETCH_STALL_TIMEOUT: &str = "KUBE_FETCH_STALL_TIMEOUT";
/// Seconds for the whole fetch, retries and lock waits included.
pub const KUBE_FETCH_DEADLINE: &str = "KUBE_FETCH_DEADLINE";
/// Largest artifact accepted, in bytes (suffixes K, M, G, KiB, MiB, GiB allowed).
pub const KUBE_MAX_DOWNLOAD_BYTES: &str = "KUBE_MAX_DOWNLOAD_BYTES";
/// How an installed binary is checked before it is trusted: `stamp` or `full`.
pub const KUBE_VERIFY: &str = "KUBE_VERIFY";
/// How many verified releases of each binary are kept for an offline rollback.
pub const KUBE_KEEP_RELEASES: &str = "KUBE_KEEP_RELEASES";
/// Whether `fetch` asks the leader's `/version` before installing a kubelet or kube-proxy.
pub const KUBE_SKEW_CHECK: &str = "KUBE_SKEW_CHECK";
/// Apiserver port (9090 below Kubernetes 1.20, 6443 from 1.20).
pub const KUBE_APISERVER_PORT: &str = "KUBE_APISERVER_PORT";
/// etcd client URLs for the apiserver, comma-separated.
pub const KUBE_ETCD_SERVERS: &str = "KUBE_ETCD_SERVERS";
/// The Service cluster IP range (CIDR).
pub const KUBE_SERVICE_CLUSTER_IP_RANGE: &str = "KUBE_SERVICE_CLUSTER_IP_RANGE";
/// The pod network (CIDR): node pod CIDRs for the controller-manager, kube-proxy's cluster CIDR,
/// and `doctor` checks it against the service range.
pub const KUBE_CLUSTER_CIDR: &str = "KUBE_CLUSTER_CIDR";
/// The cluster's DNS domain.
pub const KUBE_CLUSTER_DOMAIN: &str = "KUBE_CLUSTER_DOMAIN";
/// The cluster DNS Service IP handed to kubelets.
pub const KUBE_CLUSTER_DNS: &str = "KUBE_CLUSTER_DNS";
/// Directory of certificates and keys, with kubeadm's file names.
pub const KUBE_PKI_DIR: &str = "KUBE_PKI_DIR";
/// Directory of the kubeconfig and config files kube-bootstrap writes.
pub const KUBE_CONFIG_DIR: &str = "KUBE_CONFIG_DIR";
/// Extra names (DNS names or IP addresses, comma-separated) in the apiserver's certificate.
pub const KUBE_APISERVER_SANS: &str = "KUBE_APISERVER_SANS";
/// Days before expiry from which `pki init` re-issues a leaf certificate.
pub const KUBE_PKI_RENEW_BEFORE: &str = "KUBE_PKI_RENEW_BEFORE";
/// Validity of the cluster CA made by `pki init`, in days.
pub const KUBE_PKI_CA_DAYS: &str = "KUBE_PKI_CA_DAYS";
/// Validity of the leaf certificates made by `pki init` and `pki node`, in days.
pub const KUBE_PKI_CERT_DAYS: &str = "KUBE_PKI_CERT_DAYS";
/// A worker's bootstrap token (`<id>.<secret>`, from `pki token` on the leader): its kubelet
/// joins with a CSR instead of a bundle. Secret: never logged or printed.
pub const KUBE_BOOTSTRAP_TOKEN: &str = "KUBE_BOOTSTRAP_TOKEN";
/// `sha256:<hex>` of the cluster CA's public key, which a joining worker checks before trusting it.
pub const KUBE_DISCOVERY_TOKEN_CA_CERT_HASH: &str = "KUBE_DISCOVERY_TOKEN_CA_CERT_HASH";
/// CRI endpoint for the kubelet.
pub const KUBE_CONTAINER_RUNTIME_ENDPOINT: &str = "KUBE_CONTAINER_RUNTIME_ENDPOINT";
/// Whether the kubelet refuses a cgroup v1 host (`failCgroupV1`, 1.31+); unset: its default.
pub const KUBE_KUBELET_FAIL_CGROUPV1: &str = "KUBE_KUBELET_FAIL_CGROUPV1";
/// Whether the kubelet refuses kernel tunables other than its defaults instead of setting them.
pub const KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS: &str = "KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS";
/// kube-proxy's conntrack entries per CPU core; `0` leaves `nf_conntrack_max` alone.
pub const KUBE_PROXY_CONNTRACK_MAX_PER_CORE: &str = "KUBE_PROXY_CONNTRACK_MAX_PER_CORE";
/// Extra arguments for kube-apiserver.
pub const KUBE_APISERVER_EXTRA_ARGS: &str = "KUBE_APISERVER_EXTRA_ARGS";
/// Extra arguments for kube-controller-manager.
pub const KUBE_CONTROLLER_MANAGER_EXTRA_ARGS: &str = "KUBE_CONTROLLER_MANAGER_EXTRA_ARGS";
/// Extra arguments for kube-scheduler.
pub const KUBE_SCHEDULER_EXTRA_ARGS: &str = "KUBE_SCHEDULER_EXTRA_ARGS";
/// Extra arguments for the kubelet.
pub const KUBE_KUBELET_EXTRA_ARGS: &str = "KUBE_KUBELET_EXTRA_ARGS";
/// Extra arguments for kube-proxy.
pub const KUBE_PROXY_EXTRA_ARGS: &str = "KUBE_PROXY_EXTRA_ARGS";
/// Path of the file that sets `LEADER_ENDPOINT`.
pub const KUBE_LEADER_FILE: &str = "KUBE_LEADER_FILE";
/// Path of setup-network-environment's output.
pub const KUBE_NETWORK_ENV_FILE: &str = "KUBE_NETWORK_ENV_FILE";
/// The node's IPv4 address, replacing `DEFAULT_IPV4`.
pub const KUBE_NODE_IP: &str = "KUBE_NODE_IP";
/// Set by systemd when stderr is connected to the journal.
pub const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    /// The variable's name.
    pub name: &'static str,
    /// The default, as an operator would write it (empty when there is none).
    pub default: &'static str,
    /// What it means, one sentence.
    pub doc: &'static str,
}

/// The settings an operator may put in the config file or the environment.
pub const ALL: &[Var] = &[
    Var {
        name: KUBE_VERSION,
        default: crate::kube_version::DEFAULT,
        doc: "Kubernetes release to install, `vMAJOR.MINOR.PATCH` with an optional pre-release suffix.",
    },
    Var {
        name: KUBE_ARCH,
        default: "host",
        doc: "Binary architecture: amd64, arm64, arm, ppc64le or s390x; default from `uname -m`.",
    },
    Var {
        name: KUBE_MIRRORS,
        default: "https://dl.k8s.io/release",
        doc: "Mirror base URLs tried in order (spaces or commas); https, http or file. Artifact URL: `<base>/<version>/bin/linux/<arch>/<binary>`.",
    },
    Var {
        name: "KUBE_SHA256_<BINARY>",
        default: "",
        doc: "Pinned sha256 of a binary, e.g. `KUBE_SHA256_KUBELET`; when unset the mirror's `<url>.sha256` is used.",
    },
    Var {
        name: KUBE_BIN_DIR,
        default: "/opt/bin",
        doc: "Directory the binaries are installed into.",
    },
    Var {
        name: KUBE_ALLOW_HTTP,
        default: "0",
        doc: "Accept a plain `http://` mirror without a pinned checksum.",
    },
    Var {
        name: KUBE_CA_FILE,
        default: "",
        doc: "Extra PEM CA bundle trusted for mirrors, on top of the system trust store.",
    },
    Var {
        name: HTTPS_PROXY,
        default: "",
        doc: "Proxy for https mirrors, `http://host:port` (or `https_proxy`); read from the config file too, so a run by hand and a unit agree.",
    },
    Var {
        name: HTTP_PROXY,
        default: "",
        doc: "Proxy for plain http mirrors (or `http_proxy`); read from the config file too.",
    },
    Var {
        name: ALL_PROXY,
        default: "",
        doc: "Proxy for mirrors neither of the above covers (or `all_proxy`); read from the config file too.",
    },
    Var {
        name: NO_PROXY,
        default: "",
        doc: "Mirror hosts reached directly, comma-separated: names (with their subdomains), IPs, CIDRs, or `*` for all (or `no_proxy`).",
    },
    Var {
        name: KUBE_FETCH_RETRIES,
        default: "5",
        doc: "Retries per mirror on transient failures (connect errors, resets, stalls, HTTP 408/429/5xx).",
    },
    Var {
        name: KUBE_FETCH_STALL_TIMEOUT,
        default: "30",
        doc: "Seconds without receiving a byte before a download is abandoned and retried.",
    },
    Var {
        name: KUBE_FETCH_DEADLINE,
        default: "600",
        doc: "Seconds for the whole fetch, retries and waiting for another fetch included.",
    },
    Var {
        name: KUBE_MAX_DOWNLOAD_BYTES,
        default: "2GiB",
        doc: "Largest artifact accepted (bytes; K, M, G, KiB, MiB, GiB suffixes allowed).",
    },
    Var {
        name: KUBE_VERIFY,
        default: "stamp",
        doc: "`stamp` trusts an installed binary whose file identity is unchanged; `full` re-hashes it.",
    },
    Var {
        name: KUBE_KEEP_RELEASES,
        default: "2",
        doc: "Verified releases of each binary kept under `/var/lib/kube-bootstrap/releases` (the installed one and the one before), so switching `KUBE_VERSION` back needs no network; `0` keeps none.",
    },
    Var {
        name: KUBE_SKEW_CHECK,
        default: "on",
        doc: "Before installing a kubelet or kube-proxy, ask the leader's `/version` and refuse a release outside Kubernetes' version-skew policy; `off` disables it.",
    },
    Var {
        name: KUBE_APISERVER_PORT,
        default: "6443",
        doc: "Apiserver port; `9090` (insecure) below Kubernetes 1.20.",
    },
    Var {
        name: KUBE_ETCD_SERVERS,
        default: "https://127.0.0.1:2379",
        doc: "etcd client URLs for the apiserver, comma-separated (etcd runs beside the apiserver; `http://127.0.0.1:2379` below Kubernetes 1.20); each `scheme://host[:port][/]` with nothing after it, all `https` or all `http`. With `https` the apiserver dials etcd with `--etcd-cafile`, `--etcd-certfile` and `--etcd-keyfile` (`etcd/ca.crt` and `apiserver-etcd-client.crt`/`.key` of `KUBE_PKI_DIR`, made by `pki init`); plain `http` is possible, and doctor warns about it.",
    },
    Var {
        name: KUBE_SERVICE_CLUSTER_IP_RANGE,
        default: "172.22.0.0/16",
        doc: "Service cluster IP range, a CIDR.",
    },
    Var {
        name: KUBE_CLUSTER_CIDR,
        default: "",
        doc: "The pod network (CIDR), e.g. flannel's `FLANNEL_NETWORK`: the controller-manager allocates node pod CIDRs from it (`--allocate-node-cidrs`, `--cluster-cidr`), kube-proxy gets it as its cluster CIDR (1.3+), and `doctor` fails when the service range overlaps it.",
    },
    Var {
        name: KUBE_CLUSTER_DOMAIN,
        default: "cluster.local",
        doc: "Cluster DNS domain.",
    },
    Var {
        name: KUBE_CLUSTER_DNS,
        default: "",
        doc: "Cluster DNS Service IP; default the tenth address of the service range (`172.22.0.10`).",
    },
    Var {
        name: KUBE_PKI_DIR,
        default: "/etc/kubernetes/pki",
        doc: "Certificates and keys, kubeadm's names: ca.crt/.key, apiserver.crt/.key, apiserver-kubelet-client.crt/.key, sa.key, sa.pub, and <component>.crt/.key.",
    },
    Var {
        name: KUBE_CONFIG_DIR,
        default: "/etc/kubernetes",
        doc: "Where kube-bootstrap writes kubeconfig files and the kubelet's config file.",
    },
    Var {
        name: KUBE_APISERVER_SANS,
        default: "",
        doc: "Extra DNS names or IP addresses for the apiserver certificate made by `pki init`, comma-separated.",
    },
    Var {
        name: KUBE_PKI_RENEW_BEFORE,
        default: "30",
        doc: "Days before expiry from which `pki init` and `pki node` re-issue a leaf certificate.",
    },
    Var {
        name: KUBE_PKI_CA_DAYS,
        default: "3650",
        doc: "Validity in days of the cluster CA that `pki init` makes.",
    },
    Var {
        name: KUBE_PKI_CERT_DAYS,
        default: "365",
        doc: "Validity in days of the leaf certificates that `pki init` and `pki node` make.",
    },
    Var {
        name: KUBE_BOOTSTRAP_TOKEN,
        default: "",
        doc: "On a worker joining with a token: the bootstrap token `pki token` printed on the leader (`<6 of a-z0-9>.<16 of a-z0-9>`). The kubelet then gets a bootstrap kubeconfig and asks for its certificate with a CSR, and kube-proxy uses the kubelet's identity: no private key moves. Needs `KUBE_DISCOVERY_TOKEN_CA_CERT_HASH`. A secret: keep it in `/etc/kube-bootstrap.env` with mode 0600; it is never logged or printed.",
    },
    Var {
        name: KUBE_DISCOVERY_TOKEN_CA_CERT_HASH,
        default: "",
        doc: "With `KUBE_BOOTSTRAP_TOKEN`: `sha256:<64 hex>` of the cluster CA's public key (SubjectPublicKeyInfo), as `pki token` prints it and kubeadm's `--discovery-token-ca-cert-hash` takes it. `pki join` refuses a CA that does not match, naming both hashes.",
    },
    Var {
        name: KUBE_CONTAINER_RUNTIME_ENDPOINT,
        default: "unix:///run/containerd/containerd.sock",
        doc: "CRI endpoint for the kubelet.",
    },
    Var {
        name: KUBE_KUBELET_FAIL_CGROUPV1,
        default: "",
        doc: "Boolean, the kubelet's `failCgroupV1` (1.31+; its default is false before 1.35 and true from 1.35): `false` lets a 1.35+ kubelet start on a cgroup v1 host, deprecated, and `exec` and `doctor` then warn instead of failing; unset leaves the kubelet's default; ignored with a warning before 1.31.",
    },
    Var {
        name: KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS,
        default: "",
        doc: "Boolean, the kubelet's `protectKernelDefaults` (`--protect-kernel-defaults` for 1.4-1.9): `true` makes it refuse to start when vm.overcommit_memory, vm.panic_on_oom, kernel.panic, kernel.panic_on_oops, kernel.keys.root_maxkeys or kernel.keys.root_maxbytes differ from its defaults, instead of writing those machine-wide sysctls; unset is the kubelet's default (false); ignored with a warning before 1.4.",
    },
    Var {
        name: KUBE_PROXY_CONNTRACK_MAX_PER_CORE,
        default: "",
        doc: "kube-proxy's conntrack entries per CPU core, a whole number (`conntrack.maxPerCore` from 1.7, `--conntrack-max-per-core` for 1.4-1.6): `0` leaves the machine-wide net.netfilter.nf_conntrack_max alone, as kind sets it in its node containers (1.9+; 1.7-1.8 read a 0 as their default and 1.0-1.3 have no such setting, so it is ignored there with a warning); unset is kube-proxy's default (32768).",
    },
    Var {
        name: KUBE_APISERVER_EXTRA_ARGS,
        default: "",
        doc: "Extra kube-apiserver arguments, split like a systemd command line; `--name=value` replaces the computed flag.",
    },
    Var {
        name: KUBE_CONTROLLER_MANAGER_EXTRA_ARGS,
        default: "",
        doc: "Extra kube-controller-manager arguments.",
    },
    Var {
        name: KUBE_SCHEDULER_EXTRA_ARGS,
        default: "",
        doc: "Extra kube-scheduler arguments.",
    },
    Var {
        name: KUBE_KUBELET_EXTRA_ARGS,
        default: "",
        doc: "Extra kubelet arguments.",
    },
    Var {
        name: KUBE_PROXY_EXTRA_ARGS,
        default: "",
        doc: "Extra kube-proxy arguments.",
    },
    Var {
        name: KUBE_LEADER_FILE,
        default: "/etc/leader",
        doc: "File that sets `LEADER_ENDPOINT` (host, host:port, [v6]:port or http(s) URL of the apiserver).",
    },
    Var {
        name: KUBE_NETWORK_ENV_FILE,
        default: "/etc/network-environment",
        doc: "setup-network-environment's output; `DEFAULT_IPV4` is the node's address.",
    },
    Var {
        name: KUBE_NODE_IP,
        default: "",
        doc: "The node's IPv4 address; replaces `DEFAULT_IPV4` from the network environment file.",
    },
    Var {
        name: KUBE_BOOTSTRAP_ROOT,
        default: "/",
        doc: "Directory every path lives under (same as `--root`); process environment only.",
    },
    Var {
        name: KUBE_BOOTSTRAP_LOG,
        default: "info",
        doc: "Log filter, `target=level` directives in tracing's `Targets` syntax (overrides `-v`/`-q`); process environment only.",
    },
];

/// Whether `name` is a setting kube-bootstrap understands (used to warn about typos).
pub fn is_known(name: &str) -> bool {
    ALL.iter().any(|v| v.name == name)
        || PROXY_VARS.iter().any(|(_, lower)| *lower == name)
        || name
            .strip_prefix(KUBE_SHA256_PREFIX)
            .is_some_and(|rest| !rest.is_empty())
}

/// Whether an unknown name in the config file looks like one of ours misspelt: `KUBE_*`, or
/// within two edits of a name we read. Other programs' names (`HTTPS_PROXY`, `PATH`) are not.
pub fn looks_like_ours(name: &str) -> bool {
    !is_known(name) && (name.starts_with("KUBE_") || suggest(name).is_some())
}

/// The name we read that `name` most likely meant: at most two edits away (`KUBE_VERSON` ->
/// `KUBE_VERSION`), case ignored.
pub fn suggest(name: &str) -> Option<&'static str> {
    crate::spelling::closest(name, ALL.iter().map(|v| v.name), 2)
}

/// The pin variable for a binary: `kube-apiserver` -> `KUBE_SHA256_KUBE_APISERVER`.
pub fn sha256_pin(binary: &str) -> String {
    let suffix: String = binary
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' => c,
            _ => '_',
        })
        .collect();
    format!("{KUBE_SHA256_PREFIX}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_names_follow_binary_names() {
        for (binary, var) in [
            ("kubelet", "KUBE_SHA256_KUBELET"),
            ("kube-apiserver", "KUBE_SHA256_KUBE_APISERVER"),
            (
                "kube-controller-manager",
                "KUBE_SHA256_KUBE_CONTROLLER_MANAGER",
            ),
        ] {
            assert_eq!(sha256_pin(binary), var);
        }
    }

    #[test]
    fn readme_documents_every_variable_with_its_default() {
        let readme = include_str!("../README.md");
        for var in ALL {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}`", var.name)))
                .unwrap_or_else(|| panic!("README.md has no table row for {}", var.name));
            if !var.default.is_empty() {
                assert!(
                    row.contains(&format!("`{}`", var.default)),
                    "README row for {} does not show default `{}`: {row}",
                    var.name,
                    var.default
                );
            }
        }
    }

    #[test]
    fn unknown_names_are_flagged() {
        assert!(is_known("KUBE_VERSION"));
        assert!(is_known("KUBE_SHA256_KUBELET"));
        assert!(!is_known("KUBE_VERSON"));
        assert!(!is_known("KUBE_SHA256_"));
    }

    #[test]
    fn misspelt_names_get_a_suggestion_and_foreign_names_are_left_alone() {
        for (name, want) in [
            ("KUBE_VERSON", Some("KUBE_VERSION")),
            ("KUBE_VERSIONS", Some("KUBE_VERSION")),
            ("kube_version", Some("KUBE_VERSION")),
            ("LEADER_ENDPIONT", None),
            ("PATH", None),
            ("HOME", None),
            ("KUBE_NO_SUCH_THING_AT_ALL", None),
        ] {
            assert_eq!(suggest(name), want, "{name}");
        }
        assert!(looks_like_ours("KUBE_VERSON"));
        assert!(looks_like_ours("KUBE_NO_SUCH_THING_AT_ALL"));
        assert!(!looks_like_ours("HTTPS_PROXY"));
        assert!(!looks_like_ours("https_proxy"));
        assert!(!looks_like_ours("no_proxy"));
        assert!(!looks_like_ours("PATH"));
        assert!(!looks_like_ours("KUBE_VERSION"));
        assert!(!looks_like_ours("KUBE_SHA256_KUBELET"));
    }
}
