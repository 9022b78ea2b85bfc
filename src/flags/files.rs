//! The documents components read that kube-bootstrap writes: kubeconfigs, and the
//! KubeletConfiguration, KubeSchedulerConfiguration and KubeProxyConfiguration files. Typed serde
//! documents, each with only the fields its apiVersion has (see `docs/flags.md`).
//!
//! Serialized as JSON by serde_json: JSON is YAML, and every component loads these files by
//! converting YAML to JSON first (sigs.k8s.io/yaml, ghodss/yaml before it), so what we write is
//! read back exactly. serde_json is already a dependency and well kept; serde_yaml is
//! unmaintained, and a YAML emitter would add a dependency without changing what is read.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

/// The document as a file: pretty JSON and a final newline.
pub fn render<T: Serialize>(doc: &T) -> String {
    // The documents hold only strings, booleans and lists: serializing them cannot fail.
    let mut out = serde_json::to_string_pretty(doc).unwrap_or_default();
    out.push('\n');
    out
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Client credentials in a kubeconfig.
#[derive(Debug, Clone)]
pub struct ClientCert<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// A `v1` `Config` (kubeconfig), the fields every release from 1.0 reads.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub kind: &'static str,
    pub clusters: Vec<NamedCluster>,
    pub users: Vec<NamedUser>,
    pub contexts: Vec<NamedContext>,
    pub current_context: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedCluster {
    pub name: String,
    pub cluster: KubeconfigCluster,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct KubeconfigCluster {
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedUser {
    pub name: String,
    pub user: KubeconfigUser,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct KubeconfigUser {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// A bearer token (the kubelet's bootstrap kubeconfig).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedContext {
    pub name: String,
    pub context: KubeconfigContext,
}

#[derive(Debug, Clone, Serialize)]
pub struct KubeconfigContext {
    pub cluster: String,
    pub user: String,
}

/// A kubeconfig with one cluster, one user and one context.
pub fn kubeconfig(
    user: &str,
    server: &str,
    ca: Option<&Path>,
    client: Option<ClientCert<'_>>,
) -> Kubeconfig {
    Kubeconfig {
        api_version: "v1",
        kind: "Config",
        clusters: vec![NamedCluster {
            name: "kubernetes".into(),
            cluster: KubeconfigCluster {
                server: server.into(),
                certificate_authority: ca.map(path),
            },
        }],
        users: vec![NamedUser {
            name: user.into(),
            user: match client {
                Some(c) => KubeconfigUser {
                    client_certificate: Some(path(c.cert)),
                    client_key: Some(path(c.key)),
                    token: None,
                },
                None => KubeconfigUser::default(),
            },
        }],
        contexts: vec![NamedContext {
            name: "default".into(),
            context: KubeconfigContext {
                cluster: "kubernetes".into(),
                user: user.into(),
            },
        }],
        current_context: "default".into(),
    }
}

/// A kubeconfig that authenticates with a bearer `token` (the kubelet's bootstrap kubeconfig).
pub fn token_kubeconfig(user: &str, server: &str, ca: &Path, token: String) -> Kubeconfig {
    let mut doc = kubeconfig(user, server, Some(ca), None);
    doc.users[0].user.token = Some(token);
    doc
}

/// `kubelet.config.k8s.io/v1beta1` `KubeletConfiguration` (read with `--config` from 1.10).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeletConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub cluster_domain: String,
    #[serde(rename = "clusterDNS")]
    pub cluster_dns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_driver: Option<&'static str>,
    pub authentication: KubeletAuthentication,
    pub authorization: KubeletAuthorization,
    /// A field from 1.27.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_runtime_endpoint: Option<String>,
    /// In every v1beta1 release (1.10+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protect_kernel_defaults: Option<bool>,
    /// A field from 1.31.
    #[serde(rename = "failCgroupV1", skip_serializing_if = "Option::is_none")]
    pub fail_cgroup_v1: Option<bool>,
    /// The client certificate renews itself through a CSR (GA in 1.19); set from 1.20.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_certificates: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KubeletAuthentication {
    pub anonymous: Enabled,
    pub webhook: Enabled,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x509: Option<KubeletX509>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KubeletX509 {
    #[serde(rename = "clientCAFile")]
    pub client_ca_file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KubeletAuthorization {
    pub mode: &'static str,
}

/// What the kubelet's config file sets.
#[derive(Debug, Clone)]
pub struct KubeletConfig<'a> {
    pub cluster_domain: &'a str,
    pub cluster_dns: IpAddr,
    /// TLS topology (1.20+): systemd cgroups, x509 client CA and webhook authn/authz.
    pub secure: Option<&'a Path>,
    /// Set where the version reads the CRI endpoint from the file (1.27+).
    pub runtime_endpoint: Option<&'a str>,
    /// `KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS`, when set.
    pub protect_kernel_defaults: Option<bool>,
    /// `KUBE_KUBELET_FAIL_CGROUPV1`, when set and the version has the field (1.31+).
    pub fail_cgroup_v1: Option<bool>,
}

/// The kubelet's `KubeletConfiguration`.
pub fn kubelet_config(c: &KubeletConfig<'_>) -> KubeletConfiguration {
    let (authentication, authorization, cgroup_driver) = match c.secure {
        Some(client_ca) => (
            KubeletAuthentication {
                anonymous: Enabled { enabled: false },
                webhook: Enabled { enabled: true },
                x509: Some(KubeletX509 {
                    client_ca_file: path(client_ca),
                }),
            },
            KubeletAuthorization { mode: "Webhook" },
            Some("systemd"),
        ),
        // The insecure topology: what the kubelet's flag defaults were before config files.
        None => (
            KubeletAuthentication {
                anonymous: Enabled { enabled: true },
                webhook: Enabled { enabled: false },
                x509: None,
            },
            KubeletAuthorization {
                mode: "AlwaysAllow",
            },
            None,
        ),
    };
    KubeletConfiguration {
        api_version: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        cluster_domain: c.cluster_domain.into(),
        cluster_dns: vec![c.cluster_dns.to_string()],
        cgroup_driver,
        authentication,
        authorization,
        container_runtime_endpoint: c.runtime_endpoint.map(str::to_owned),
        protect_kernel_defaults: c.protect_kernel_defaults,
        fail_cgroup_v1: c.fail_cgroup_v1,
        rotate_certificates: c.secure.map(|_| true),
    }
}

/// `clientConnection` of the scheduler and proxy configurations.
#[derive(Debug, Clone, Serialize)]
pub struct ClientConnection {
    pub kubeconfig: String,
}

/// `KubeSchedulerConfiguration`: only the client connection, the rest is the release's default.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeSchedulerConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub client_connection: ClientConnection,
}

/// The scheduler configuration group version a release reads (the newest one it does not
/// deprecate), where the release deprecates the flags that would say the same; `None` where the
/// scheduler runs on `--master`: before 1.10, and 1.12-1.19, whose `--master` is a plain flag
/// (1.10 and 1.11 log that every flag but `--config` is deprecated).
pub fn scheduler_api_version(minor: u32) -> Option<&'static str> {
    match minor {
        0..=9 | 12..=19 => None,
        10..=11 => Some("componentconfig/v1alpha1"),
        // v1beta1 (1.20-1.21) and v1beta2 (1.22) cannot close the plain-http port 10251: their
        // healthzBindAddress and metricsBindAddress default to 0.0.0.0:10251 and refuse empty
        // or port 0, and a config file makes the scheduler ignore --port. These releases get
        // flags (--kubeconfig, --port=0), as kubeadm gave them.
        20..=22 => None,
        23..=24 => Some("kubescheduler.config.k8s.io/v1beta3"),
        _ => Some("kubescheduler.config.k8s.io/v1"),
    }
}

/// A scheduler configuration reaching the apiserver through `kubeconfig`.
pub fn scheduler_config(
    api_version: &'static str,
    kubeconfig: &Path,
) -> KubeSchedulerConfiguration {
    KubeSchedulerConfiguration {
        api_version,
        kind: "KubeSchedulerConfiguration",
        client_connection: ClientConnection {
            kubeconfig: path(kubeconfig),
        },
    }
}

/// The proxy configuration group version a release reads; `None` before 1.7, where kube-proxy
/// runs on flags. 1.7 and 1.8 read `componentconfig/v1alpha1` (PR #34727), 1.9 moved the type to
/// its own group, whose only version is v1alpha1.
pub fn proxy_api_version(minor: u32) -> Option<&'static str> {
    match minor {
        0..=6 => None,
        7..=8 => Some("componentconfig/v1alpha1"),
        _ => Some("kubeproxy.config.k8s.io/v1alpha1"),
    }
}

/// `KubeProxyConfiguration`: the same fields in `componentconfig/v1alpha1` (1.7-1.8) and
/// `kubeproxy.config.k8s.io/v1alpha1` (1.9+).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeProxyConfiguration {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub client_connection: ClientConnection,
    pub hostname_override: String,
    #[serde(rename = "clusterCIDR", skip_serializing_if = "Option::is_none")]
    pub cluster_cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conntrack: Option<ProxyConntrack>,
}

/// `conntrack` of the proxy configuration: only the per-core limit, the rest is the default.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConntrack {
    pub max_per_core: u32,
}

/// A proxy configuration: the kubeconfig, the node's name, the pod network and the conntrack
/// entries per core.
pub fn proxy_config(
    api_version: &'static str,
    kubeconfig: &Path,
    hostname: &str,
    cluster_cidr: Option<String>,
    conntrack_max_per_core: Option<u32>,
) -> KubeProxyConfiguration {
    KubeProxyConfiguration {
        api_version,
        kind: "KubeProxyConfiguration",
        client_connection: ClientConnection {
            kubeconfig: path(kubeconfig),
        },
        hostname_override: hostname.into(),
        cluster_cidr,
        conntrack: conntrack_max_per_core.map(|max_per_core| ProxyConntrack { max_per_core }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parsed<T: Serialize>(doc: &T) -> Value {
        serde_json::from_str(&render(doc)).unwrap()
    }

    #[test]
    fn kubeconfig_with_client_cert() {
        let doc = parsed(&kubeconfig(
            "kubelet",
            "https://10.0.0.1:6443",
            Some(Path::new("/etc/kubernetes/pki/ca.crt")),
            Some(ClientCert {
                cert: Path::new("/etc/kubernetes/pki/kubelet.crt"),
                key: Path::new("/etc/kubernetes/pki/kubelet.key"),
            }),
        ));
        assert_eq!(
            doc,
            json!({
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "kubernetes", "cluster": {
                    "server": "https://10.0.0.1:6443",
                    "certificate-authority": "/etc/kubernetes/pki/ca.crt"}}],
                "users": [{"name": "kubelet", "user": {
                    "client-certificate": "/etc/kubernetes/pki/kubelet.crt",
                    "client-key": "/etc/kubernetes/pki/kubelet.key"}}],
                "contexts": [{"name": "default", "context": {"cluster": "kubernetes", "user": "kubelet"}}],
                "current-context": "default"
            })
        );
    }

    #[test]
    fn kubeconfig_without_credentials() {
        let doc = parsed(&kubeconfig("kubelet", "http://10.0.0.1:9090", None, None));
        assert_eq!(doc["users"][0]["user"], json!({}));
        assert!(
            doc["clusters"][0]["cluster"]
                .get("certificate-authority")
                .is_none()
        );
    }

    #[test]
    fn kubelet_config_by_topology() {
        let secure = parsed(&kubelet_config(&KubeletConfig {
            cluster_domain: "cluster.local",
            cluster_dns: "172.22.0.10".parse().unwrap(),
            secure: Some(Path::new("/pki/ca.crt")),
            runtime_endpoint: Some("unix:///run/containerd/containerd.sock"),
            protect_kernel_defaults: Some(true),
            fail_cgroup_v1: Some(false),
        }));
        assert_eq!(secure["cgroupDriver"], "systemd");
        assert_eq!(secure["clusterDNS"], json!(["172.22.0.10"]));
        assert_eq!(
            secure["authentication"]["x509"]["clientCAFile"],
            "/pki/ca.crt"
        );
        assert_eq!(secure["authorization"]["mode"], "Webhook");
        assert_eq!(
            secure["containerRuntimeEndpoint"],
            "unix:///run/containerd/containerd.sock"
        );
        assert_eq!(secure["protectKernelDefaults"], true);
        assert_eq!(secure["failCgroupV1"], false);
        let insecure = parsed(&kubelet_config(&KubeletConfig {
            cluster_domain: "cluster.local",
            cluster_dns: "172.22.0.10".parse().unwrap(),
            secure: None,
            runtime_endpoint: None,
            protect_kernel_defaults: None,
            fail_cgroup_v1: None,
        }));
        assert!(insecure.get("cgroupDriver").is_none());
        assert!(insecure.get("protectKernelDefaults").is_none());
        assert!(insecure.get("failCgroupV1").is_none());
        assert!(insecure.get("containerRuntimeEndpoint").is_none());
        assert_eq!(insecure["authorization"]["mode"], "AlwaysAllow");
    }

    #[test]
    fn scheduler_config_version_per_release() {
        for (minor, want) in [
            (9, None),
            (10, Some("componentconfig/v1alpha1")),
            (11, Some("componentconfig/v1alpha1")),
            (12, None),
            (19, None),
            (20, None),
            (21, None),
            (22, None),
            (23, Some("kubescheduler.config.k8s.io/v1beta3")),
            (24, Some("kubescheduler.config.k8s.io/v1beta3")),
            (25, Some("kubescheduler.config.k8s.io/v1")),
            (36, Some("kubescheduler.config.k8s.io/v1")),
        ] {
            assert_eq!(scheduler_api_version(minor), want, "1.{minor}");
        }
    }

    #[test]
    fn proxy_conntrack_only_when_set() {
        let kubeconfig = Path::new("/etc/kubernetes/proxy.conf");
        let api = "kubeproxy.config.k8s.io/v1alpha1";
        let zero = parsed(&proxy_config(api, kubeconfig, "10.0.0.5", None, Some(0)));
        assert_eq!(zero["conntrack"], json!({"maxPerCore": 0}));
        let unset = parsed(&proxy_config(api, kubeconfig, "10.0.0.5", None, None));
        assert!(unset.get("conntrack").is_none());
    }

    #[test]
    fn proxy_config_version_per_release() {
        for (minor, want) in [
            (0, None),
            (6, None),
            (7, Some("componentconfig/v1alpha1")),
            (8, Some("componentconfig/v1alpha1")),
            (9, Some("kubeproxy.config.k8s.io/v1alpha1")),
            (36, Some("kubeproxy.config.k8s.io/v1alpha1")),
        ] {
            assert_eq!(proxy_api_version(minor), want, "1.{minor}");
        }
    }
}
