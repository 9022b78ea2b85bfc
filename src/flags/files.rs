//! The files components read that kube-bootstrap writes: kubeconfigs and the kubelet's
//! KubeletConfiguration. Pure renderers; scalars are JSON-quoted, which YAML reads as is.

use std::net::IpAddr;
use std::path::Path;

fn q(s: &str) -> String {
    // Serializing a string cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

fn qp(p: &Path) -> String {
    q(&p.display().to_string())
}

/// Client credentials in a kubeconfig.
#[derive(Debug, Clone)]
pub struct ClientCert<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// A kubeconfig with one cluster, one user and one context.
pub fn kubeconfig(
    user: &str,
    server: &str,
    ca: Option<&Path>,
    client: Option<ClientCert<'_>>,
) -> String {
    let mut out = String::from("# Written by kube-bootstrap; rewritten when its inputs change.\n");
    out.push_str("apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n");
    out.push_str(&format!("    server: {}\n", q(server)));
    if let Some(ca) = ca {
        out.push_str(&format!("    certificate-authority: {}\n", qp(ca)));
    }
    out.push_str(&format!("users:\n- name: {}\n  user:", q(user)));
    match client {
        Some(c) => out.push_str(&format!(
            "\n    client-certificate: {}\n    client-key: {}\n",
            qp(c.cert),
            qp(c.key)
        )),
        None => out.push_str(" {}\n"),
    }
    out.push_str(&format!(
        "contexts:\n- name: default\n  context:\n    cluster: kubernetes\n    user: {}\ncurrent-context: default\n",
        q(user)
    ));
    out
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
}

/// A `kubelet.config.k8s.io/v1beta1` KubeletConfiguration.
pub fn kubelet_config(c: &KubeletConfig<'_>) -> String {
    let mut out = String::from("# Written by kube-bootstrap; rewritten when its inputs change.\n");
    out.push_str("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    out.push_str(&format!("clusterDomain: {}\n", q(c.cluster_domain)));
    out.push_str(&format!(
        "clusterDNS:\n- {}\n",
        q(&c.cluster_dns.to_string())
    ));
    match c.secure {
        Some(client_ca) => {
            out.push_str("cgroupDriver: systemd\n");
            out.push_str("authentication:\n  anonymous:\n    enabled: false\n  webhook:\n    enabled: true\n");
            out.push_str(&format!("  x509:\n    clientCAFile: {}\n", qp(client_ca)));
            out.push_str("authorization:\n  mode: Webhook\n");
        }
        None => {
            // The insecure topology: what the kubelet's flag defaults were before config files.
            out.push_str("authentication:\n  anonymous:\n    enabled: true\n  webhook:\n    enabled: false\n");
            out.push_str("authorization:\n  mode: AlwaysAllow\n");
        }
    }
    if let Some(endpoint) = c.runtime_endpoint {
        out.push_str(&format!("containerRuntimeEndpoint: {}\n", q(endpoint)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_with_client_cert() {
        let text = kubeconfig(
            "kubelet",
            "https://10.0.0.1:6443",
            Some(Path::new("/etc/kubernetes/pki/ca.crt")),
            Some(ClientCert {
                cert: Path::new("/etc/kubernetes/pki/kubelet.crt"),
                key: Path::new("/etc/kubernetes/pki/kubelet.key"),
            }),
        );
        assert!(
            text.contains("    server: \"https://10.0.0.1:6443\"\n"),
            "{text}"
        );
        assert!(text.contains("    certificate-authority: \"/etc/kubernetes/pki/ca.crt\"\n"));
        assert!(text.contains("    client-key: \"/etc/kubernetes/pki/kubelet.key\"\n"));
        assert!(text.ends_with("current-context: default\n"));
    }

    #[test]
    fn kubeconfig_without_credentials() {
        let text = kubeconfig("kubelet", "http://10.0.0.1:9090", None, None);
        assert!(text.contains("  user: {}\n"), "{text}");
        assert!(!text.contains("certificate-authority"));
    }

    #[test]
    fn kubelet_config_by_topology() {
        let secure = kubelet_config(&KubeletConfig {
            cluster_domain: "cluster.local",
            cluster_dns: "172.22.0.10".parse().unwrap(),
            secure: Some(Path::new("/pki/ca.crt")),
            runtime_endpoint: Some("unix:///run/containerd/containerd.sock"),
        });
        for line in [
            "cgroupDriver: systemd",
            "- \"172.22.0.10\"",
            "    clientCAFile: \"/pki/ca.crt\"",
            "  mode: Webhook",
            "containerRuntimeEndpoint: \"unix:///run/containerd/containerd.sock\"",
        ] {
            assert!(
                secure.lines().any(|l| l == line),
                "missing {line:?} in\n{secure}"
            );
        }
        let insecure = kubelet_config(&KubeletConfig {
            cluster_domain: "cluster.local",
            cluster_dns: "172.22.0.10".parse().unwrap(),
            secure: None,
            runtime_endpoint: None,
        });
        assert!(!insecure.contains("cgroupDriver"));
        assert!(insecure.contains("mode: AlwaysAllow"));
    }
}
