//! The leaves the cluster needs, their identities and names, and when an existing one must be
//! re-issued. Pure: no files, no clock.

use std::net::IpAddr;

use crate::settings::Settings;
use crate::x509::{self, CertInfo};

/// The extended key usages of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// serverAuth alone: the apiserver.
    Server,
    /// clientAuth alone: every component that dials the apiserver or etcd.
    Client,
    /// Both: etcd's server and peer certificates (a member serves its peers and dials them
    /// with the same pair, as kubeadm makes them).
    ServerClient,
}

impl Usage {
    pub fn server(self) -> bool {
        matches!(self, Usage::Server | Usage::ServerClient)
    }

    pub fn client(self) -> bool {
        matches!(self, Usage::Client | Usage::ServerClient)
    }

    /// `serverAuth`, `clientAuth` or both, as a certificate names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Usage::Server => "serverAuth",
            Usage::Client => "clientAuth",
            Usage::ServerClient => "serverAuth and clientAuth",
        }
    }
}

/// Which CA signs a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// `ca.crt`/`ca.key`: every Kubernetes identity.
    Cluster,
    /// `etcd/ca.crt`/`etcd/ca.key`: etcd's own CA, as kubeadm keeps it, so that a certificate
    /// the cluster CA signs (a kubelet's, say) is never an etcd client.
    Etcd,
}

impl Signer {
    /// The CA's certificate and key, relative to `KUBE_PKI_DIR`.
    pub fn files(self) -> (&'static str, &'static str) {
        match self {
            Signer::Cluster => ("ca.crt", "ca.key"),
            Signer::Etcd => (ETCD_CA_CRT, ETCD_CA_KEY),
        }
    }

    /// The CA's common name when `pki init` makes it.
    pub fn common_name(self) -> &'static str {
        match self {
            Signer::Cluster => "kubernetes",
            Signer::Etcd => "etcd-ca",
        }
    }
}

/// The group of `admin.conf`'s identity, bound to the ClusterRole cluster-admin by `pki rbac`.
pub const CLUSTER_ADMINS_GROUP: &str = "kube-bootstrap:cluster-admins";
/// The user the apiserver reaches kubelets as, bound to system:kubelet-api-admin by `pki rbac`.
pub const APISERVER_KUBELET_CLIENT_USER: &str = "kube-apiserver-kubelet-client";

/// etcd's CA, relative to `KUBE_PKI_DIR` (kubeadm's layout).
pub use crate::flags::ETCD_CA_CRT;
pub const ETCD_CA_KEY: &str = "etcd/ca.key";
/// The subdirectory of `KUBE_PKI_DIR` with etcd's CA, server and peer pairs.
pub const ETCD_DIR: &str = "etcd";

/// A leaf certificate the cluster needs: `<name>.crt`/`<name>.key` with this identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// File stem, relative to `KUBE_PKI_DIR` (`etcd/server` is in its `etcd` subdirectory).
    pub name: &'static str,
    pub common_name: String,
    pub organizations: Vec<String>,
    pub usage: Usage,
    pub signer: Signer,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
}

impl Leaf {
    fn client(name: &'static str, cn: &str, orgs: &[&str]) -> Leaf {
        Leaf {
            name,
            common_name: cn.to_string(),
            organizations: orgs.iter().map(|o| o.to_string()).collect(),
            usage: Usage::Client,
            signer: Signer::Cluster,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
        }
    }

    /// `CN=..., O=...`.
    pub fn identity(&self) -> String {
        identity(Some(&self.common_name), &self.organizations)
    }
}

pub(crate) fn identity(cn: Option<&str>, orgs: &[String]) -> String {
    let mut s = format!("CN={}", cn.unwrap_or("(none)"));
    for o in orgs {
        s.push_str(&format!(", O={o}"));
    }
    s
}

/// Whether `name` is a node name Kubernetes accepts: an IP address, or a DNS-1123 subdomain
/// (lowercase alphanumerics, '-' and '.', labels starting and ending alphanumeric, at most
/// 253 characters), as `ValidateNodeName` checks it. Nothing else reaches a certificate. Pure.
pub fn valid_node_name(name: &str) -> bool {
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let label = |l: &str| {
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        !l.is_empty()
            && l.len() <= 63
            && l.starts_with(alnum)
            && l.ends_with(alnum)
            && l.chars().all(|c| alnum(c) || c == '-')
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label)
}

/// The kubelet's and kube-proxy's client certificates for the node that registers as `node`.
pub fn node_leaves(node: &str) -> Vec<Leaf> {
    vec![
        Leaf::client("kubelet", &format!("system:node:{node}"), &["system:nodes"]),
        Leaf::client("proxy", "system:kube-proxy", &[]),
    ]
}

/// The names the apiserver is reached at, as `pki init` puts them into `apiserver.crt`.
pub fn apiserver_names(
    settings: &Settings,
    leader_host: &str,
    node_ip: IpAddr,
    hostname: Option<&str>,
) -> (Vec<String>, Vec<IpAddr>) {
    let domain = &settings.cluster.domain;
    let mut dns = vec![
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        format!("kubernetes.default.svc.{domain}"),
    ];
    let mut ips = vec![node_ip, IpAddr::from([127, 0, 0, 1])];
    if let Some(first) = settings.cluster.service_range.nth(1) {
        ips.push(first);
    }
    let mut add = |name: &str| match name.parse::<IpAddr>() {
        Ok(ip) => ips.push(ip),
        Err(_) => dns.push(name.to_ascii_lowercase()),
    };
    add(leader_host.trim_start_matches('[').trim_end_matches(']'));
    if let Some(h) = hostname.filter(|h| !h.is_empty() && *h != "localhost") {
        add(h);
    }
    for extra in &settings.pki.apiserver_sans {
        add(extra);
    }
    dns.sort();
    dns.dedup();
    ips.sort();
    ips.dedup();
    (dns, ips)
}

/// Every leaf `pki init` makes on the leader (which also runs a kubelet and kube-proxy).
pub fn leader_leaves(
    settings: &Settings,
    leader_host: &str,
    node_ip: IpAddr,
    hostname: Option<&str>,
) -> Vec<Leaf> {
    let (dns_names, ip_addresses) = apiserver_names(settings, leader_host, node_ip, hostname);
    let mut leaves = vec![
        Leaf {
            name: "apiserver",
            common_name: "kube-apiserver".into(),
            organizations: Vec::new(),
            usage: Usage::Server,
            signer: Signer::Cluster,
            dns_names,
            ip_addresses,
        },
        // No group: `pki rbac` binds the user to system:kubelet-api-admin, the kubelet API and
        // nothing more (kubelets authorize it through the apiserver).
        Leaf::client(
            "apiserver-kubelet-client",
            APISERVER_KUBELET_CLIENT_USER,
            &[],
        ),
        Leaf::client("controller-manager", "system:kube-controller-manager", &[]),
        Leaf::client("scheduler", "system:kube-scheduler", &[]),
        // Out of system:masters (whose rights no RBAC change can take away), as kubeadm from
        // 1.29 (PR 121837): a group `pki rbac` binds to cluster-admin.
        Leaf::client("admin", "kubernetes-admin", &[CLUSTER_ADMINS_GROUP]),
        // The break-glass identity, on the leader only: what `pki rbac` makes the bindings with.
        Leaf::client("super-admin", "kubernetes-super-admin", &["system:masters"]),
    ];
    leaves.extend(node_leaves(&node_ip.to_string()));
    leaves.extend(etcd_leaves(node_ip, hostname));
    leaves
}

/// The names etcd on the leader answers at: its address, loopback, `localhost` and the host
/// name (the SANs kubeadm gives etcd's server and peer certificates).
pub fn etcd_names(node_ip: IpAddr, hostname: Option<&str>) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = vec!["localhost".to_string()];
    if let Some(h) = hostname.filter(|h| !h.is_empty() && *h != "localhost") {
        dns.push(h.to_ascii_lowercase());
    }
    let mut ips = vec![node_ip, IpAddr::from([127, 0, 0, 1])];
    dns.sort();
    dns.dedup();
    ips.sort();
    ips.dedup();
    (dns, ips)
}

/// etcd's server and peer pairs, and the apiserver's client pair for etcd, all signed by the
/// etcd CA.
pub fn etcd_leaves(node_ip: IpAddr, hostname: Option<&str>) -> Vec<Leaf> {
    let (dns_names, ip_addresses) = etcd_names(node_ip, hostname);
    let member = |name: &'static str, cn: &str| Leaf {
        name,
        common_name: cn.into(),
        organizations: Vec::new(),
        usage: Usage::ServerClient,
        signer: Signer::Etcd,
        dns_names: dns_names.clone(),
        ip_addresses: ip_addresses.clone(),
    };
    let mut client = Leaf::client("apiserver-etcd-client", "kube-apiserver-etcd-client", &[]);
    client.signer = Signer::Etcd;
    vec![
        member("etcd/server", "kube-etcd"),
        member("etcd/peer", "kube-etcd-peer"),
        client,
    ]
}

/// Why an existing leaf must be re-issued, or `None` to keep it. Pure.
pub fn renewal(
    existing: &CertInfo,
    want: &Leaf,
    signed_by_ca: bool,
    key_matches: bool,
    now: i64,
    renew_before_days: u32,
    ca_not_after: i64,
) -> Option<String> {
    if !signed_by_ca {
        return Some(format!("not signed by {}", want.signer.files().0));
    }
    if !key_matches {
        return Some("the key file does not match the certificate".into());
    }
    let have = identity(existing.common_name.as_deref(), &existing.organizations);
    if have != want.identity() {
        return Some(format!("identity changed: {have} -> {}", want.identity()));
    }
    if existing.server_auth != want.usage.server() || existing.client_auth != want.usage.client() {
        return Some("extended key usage changed".into());
    }
    let mut have_dns = existing.dns_names.clone();
    have_dns.sort();
    have_dns.dedup();
    let mut have_ips = existing.ip_addresses.clone();
    have_ips.sort();
    have_ips.dedup();
    if have_dns != want.dns_names || have_ips != want.ip_addresses {
        let mut diff = Vec::new();
        for d in want.dns_names.iter().filter(|d| !have_dns.contains(d)) {
            diff.push(format!("adds {d}"));
        }
        for ip in want.ip_addresses.iter().filter(|i| !have_ips.contains(i)) {
            diff.push(format!("adds {ip}"));
        }
        for d in have_dns.iter().filter(|d| !want.dns_names.contains(d)) {
            diff.push(format!("drops {d}"));
        }
        for ip in have_ips.iter().filter(|i| !want.ip_addresses.contains(i)) {
            diff.push(format!("drops {ip}"));
        }
        return Some(format!("names changed: {}", diff.join(", ")));
    }
    if existing.not_before > now {
        return Some(format!(
            "not valid before {}",
            x509::format_time(existing.not_before)
        ));
    }
    if existing.not_after > ca_not_after {
        return Some(format!(
            "outlives its CA (valid until {}, ca.crt until {})",
            x509::format_time(existing.not_after),
            x509::format_time(ca_not_after)
        ));
    }
    let left = existing.not_after - now;
    // A leaf that already ends with its CA gains nothing from a new one: the CA is what
    // expires, and re-issuing would repeat on every run.
    if left < i64::from(renew_before_days) * 86_400 && existing.not_after < ca_not_after {
        return Some(format!(
            "expires {} (within KUBE_PKI_RENEW_BEFORE={renew_before_days} days)",
            x509::format_time(existing.not_after)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(leaf: &Leaf, not_after: i64) -> CertInfo {
        CertInfo {
            der: Vec::new(),
            subject: String::new(),
            issuer: String::new(),
            common_name: Some(leaf.common_name.clone()),
            organizations: leaf.organizations.clone(),
            dns_names: leaf.dns_names.clone(),
            ip_addresses: leaf.ip_addresses.clone(),
            is_ca: false,
            key_cert_sign: false,
            digital_signature: true,
            server_auth: leaf.usage.server(),
            client_auth: leaf.usage.client(),
            not_before: 0,
            not_after,
            public_key: Vec::new(),
        }
    }

    fn apiserver(ips: &[&str]) -> Leaf {
        Leaf {
            name: "apiserver",
            common_name: "kube-apiserver".into(),
            organizations: vec![],
            usage: Usage::Server,
            signer: Signer::Cluster,
            dns_names: vec!["kubernetes".into()],
            ip_addresses: ips.iter().map(|i| i.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn renewal_keeps_fitting_leaves_and_says_why_it_reissues() {
        let day = 86_400;
        let want = apiserver(&["10.0.0.1", "127.0.0.1"]);
        let fresh = info(&want, 100 * day);
        assert_eq!(renewal(&fresh, &want, true, true, 0, 30, i64::MAX), None);
        let soon = info(&want, 10 * day);
        assert!(
            renewal(&soon, &want, true, true, 0, 30, i64::MAX)
                .unwrap()
                .contains("within KUBE_PKI_RENEW_BEFORE=30 days")
        );
        let moved = apiserver(&["10.0.0.2", "127.0.0.1"]);
        assert_eq!(
            renewal(&fresh, &moved, true, true, 0, 30, i64::MAX).unwrap(),
            "names changed: adds 10.0.0.2, drops 10.0.0.1"
        );
        assert_eq!(
            renewal(&fresh, &want, false, true, 0, 30, i64::MAX).unwrap(),
            "not signed by ca.crt"
        );
        let etcd = &etcd_leaves("10.0.0.1".parse().unwrap(), None)[0];
        let mut serving_only = info(etcd, 100 * day);
        serving_only.client_auth = false;
        assert_eq!(
            renewal(&serving_only, etcd, true, true, 0, 30, i64::MAX).unwrap(),
            "extended key usage changed"
        );
        assert!(
            renewal(&fresh, &want, true, false, 0, 30, i64::MAX)
                .unwrap()
                .contains("key file")
        );
        let node = &node_leaves("10.0.0.5")[0];
        let other = &node_leaves("10.0.0.6")[0];
        assert!(
            renewal(&info(node, 100 * day), other, true, true, 0, 30, i64::MAX)
                .unwrap()
                .starts_with("identity changed")
        );
    }

    #[test]
    fn renewal_looks_at_not_before_and_the_cas_end() {
        let day = 86_400;
        let want = apiserver(&["10.0.0.1"]);
        let mut future = info(&want, 100 * day);
        future.not_before = 2 * day;
        assert!(
            renewal(&future, &want, true, true, day, 30, i64::MAX)
                .unwrap()
                .starts_with("not valid before")
        );
        let long = info(&want, 100 * day);
        assert!(
            renewal(&long, &want, true, true, 0, 30, 50 * day)
                .unwrap()
                .starts_with("outlives its CA")
        );
        // Ending with an expiring CA: a new leaf would end there too, so it is kept.
        let capped = info(&want, 10 * day);
        assert_eq!(renewal(&capped, &want, true, true, 0, 30, 10 * day), None);
        assert!(renewal(&capped, &want, true, true, 0, 30, 20 * day).is_some());
    }

    #[test]
    fn node_names_are_validated_as_kubernetes_validates_them() {
        for ok in ["10.0.0.5", "fd00::5", "node-1", "n1.example.test", "a"] {
            assert!(valid_node_name(ok), "{ok}");
        }
        for bad in [
            "",
            " node",
            "node ",
            "a,b",
            "node\nhint: forged",
            "node\u{2028}x",
            "Node1",
            "-node",
            "node-",
            "a..b",
            "*.example.test",
            "under_score",
            &"a".repeat(254),
        ] {
            assert!(!valid_node_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn node_identities_are_what_the_node_authorizer_expects() {
        let leaves = node_leaves("10.0.0.5");
        assert_eq!(
            leaves[0].identity(),
            "CN=system:node:10.0.0.5, O=system:nodes"
        );
        assert_eq!(leaves[1].identity(), "CN=system:kube-proxy");
    }
}

#[cfg(test)]
mod etcd_tests {
    use super::*;

    #[test]
    fn etcd_leaves_are_what_etcd_and_the_apiserver_expect() {
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        let leaves = etcd_leaves(ip, Some("Leader-1"));
        let by = |n: &str| leaves.iter().find(|l| l.name == n).unwrap();
        for name in ["etcd/server", "etcd/peer"] {
            let l = by(name);
            assert_eq!(l.usage, Usage::ServerClient, "{name}");
            assert_eq!(l.signer, Signer::Etcd, "{name}");
            assert_eq!(l.dns_names, ["leader-1", "localhost"], "{name}");
            assert_eq!(
                l.ip_addresses,
                [ip, IpAddr::from([127, 0, 0, 1])],
                "{name} sorted as renewal compares them"
            );
        }
        let client = by("apiserver-etcd-client");
        assert_eq!(client.usage, Usage::Client);
        assert_eq!(client.signer, Signer::Etcd);
        assert_eq!(client.identity(), "CN=kube-apiserver-etcd-client");
        assert_eq!(
            etcd_leaves(ip, None)[0].dns_names,
            ["localhost"],
            "no host name: loopback names and the address only"
        );
    }
}
