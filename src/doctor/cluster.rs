//! The cluster as a whole, read from the plans rather than from file names: the key the
//! apiserver verifies service-account tokens with is the public half of the one the
//! controller-manager signs them with; every kubeconfig's server is a name of the apiserver
//! certificate and its CA signed that certificate; the kubelet's client identity is the node
//! name it registers as; and every file a flag names exists.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::causes::chain;
use crate::component::Component;
use crate::flags::Plan;
use crate::x509::{self, CertInfo};

use super::report::Findings;

const CHECK: &str = "cluster";

/// The value of `flag` in `plan` (the last one, as the component reads it).
fn flag<'p>(plan: &'p Plan, name: &str) -> Option<&'p str> {
    plan.flags
        .iter()
        .rev()
        .find(|f| f.name == name)
        .and_then(|f| f.value.as_deref())
}

fn plan_of(plans: &[Plan], c: Component) -> Option<&Plan> {
    plans.iter().find(|p| p.component == c)
}

/// A pki file, read as pki reads them: bounded, regular files only (a FIFO never blocks).
pub(super) fn read_pki_file(path: &Path) -> Result<Vec<u8>, String> {
    match crate::pki::read_optional(path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("'{}' is missing", path.display())),
        Err(e) => Err(chain(&e)),
    }
}

fn read_cert(path: &Path) -> Result<CertInfo, String> {
    let bytes = read_pki_file(path)?;
    x509::parse_cert_pem(&bytes).map_err(|e| format!("'{}' {}", path.display(), chain(&e)))
}

/// The public half (DER SubjectPublicKeyInfo) of a key file: a `PUBLIC KEY`, or a private key.
fn public_half(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = read_pki_file(path)?;
    x509::parse_public_key_pem(&bytes)
        .or_else(|_| x509::private_key_public_half(&String::from_utf8_lossy(&bytes)))
        .map_err(|e| format!("'{}' {}", path.display(), chain(&e)))
}

/// `CN=..., O=...` of a certificate.
pub fn identity(cert: &CertInfo) -> String {
    let mut out = format!("CN={}", cert.common_name.as_deref().unwrap_or(""));
    for o in &cert.organizations {
        out.push_str(&format!(", O={o}"));
    }
    out
}

/// Whether a certificate's names cover `host` (an IP address or a DNS name, `*.` wildcards
/// in one leftmost label as Go's crypto/x509 reads them).
pub fn covers(cert: &CertInfo, host: &str) -> bool {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return cert.ip_addresses.contains(&ip);
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    cert.dns_names.iter().any(|name| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match name.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
            None => name == host,
        }
    })
}

fn names(cert: &CertInfo) -> String {
    let mut all: Vec<String> = cert.dns_names.clone();
    all.extend(cert.ip_addresses.iter().map(IpAddr::to_string));
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

pub fn check(plans: &[Plan], apiserver_cert: Option<PathBuf>, f: &mut Findings) {
    service_account(plans, f);
    kubeconfigs(plans, apiserver_cert, f);
    kubelet_identity(plans, f);
    required_files(plans, f);
}

/// The apiserver's `--service-account-key-file` (and `--service-account-signing-key-file`)
/// against the controller-manager's `--service-account-private-key-file`.
fn service_account(plans: &[Plan], f: &mut Findings) {
    let (Some(api), Some(cm)) = (
        plan_of(plans, Component::Apiserver),
        plan_of(plans, Component::ControllerManager),
    ) else {
        return;
    };
    let Some(signer) = flag(cm, "--service-account-private-key-file") else {
        return;
    };
    let signer = Path::new(signer);
    let signer_key = match public_half(signer) {
        Ok(k) => k,
        // A missing file is reported by the required-files line.
        Err(_) if !signer.exists() => return,
        Err(why) => {
            f.fail(
                CHECK,
                format!("controller-manager --service-account-private-key-file: {why}"),
                "run 'kube-bootstrap pki init' on the leader (it never replaces an existing sa.key: move the unreadable one away first)".to_string(),
            );
            return;
        }
    };
    let mut compared = Vec::new();
    for name in [
        "--service-account-key-file",
        "--service-account-signing-key-file",
    ] {
        let Some(path) = flag(api, name).map(Path::new) else {
            continue;
        };
        match public_half(path) {
            Ok(k) if k == signer_key => compared.push(name),
            Ok(_) => f.fail(
                CHECK,
                format!(
                    "'{}' (apiserver {name}) is not the public half of '{}' (controller-manager --service-account-private-key-file): the apiserver would refuse every service-account token the controller-manager signs",
                    path.display(),
                    signer.display()
                ),
                format!(
                    "give both the same key pair: 'kube-bootstrap pki init' derives a missing sa.pub from sa.key (move '{}' away first)",
                    path.display()
                ),
            ),
            Err(_) if !path.exists() => {}
            Err(why) => f.fail(
                CHECK,
                format!("apiserver {name}: {why}"),
                "run 'kube-bootstrap pki init' on the leader".to_string(),
            ),
        }
    }
    if !compared.is_empty() {
        f.ok(
            CHECK,
            format!(
                "the apiserver's {} and the controller-manager's --service-account-private-key-file are one key pair",
                compared.join(" and ")
            ),
        );
    }
}

/// A kubeconfig a plan writes: the file, its server, its CA and its client certificate.
struct Kubeconfig {
    component: Component,
    path: PathBuf,
    server: String,
    ca: Option<PathBuf>,
    client_cert: Option<PathBuf>,
}

/// The kubeconfigs among a plan's documents (`kind: Config`).
fn kubeconfigs_of(plan: &Plan) -> Vec<Kubeconfig> {
    let mut out = Vec::new();
    for file in &plan.files {
        let Ok(doc) = serde_json::from_str::<Value>(&file.content) else {
            continue;
        };
        if doc["kind"] != "Config" {
            continue;
        }
        let cluster = &doc["clusters"][0]["cluster"];
        let user = &doc["users"][0]["user"];
        let path = |v: &Value| v.as_str().map(PathBuf::from);
        out.push(Kubeconfig {
            component: plan.component,
            path: file.path.clone(),
            server: cluster["server"].as_str().unwrap_or_default().to_string(),
            ca: path(&cluster["certificate-authority"]),
            client_cert: path(&user["client-certificate"]),
        });
    }
    out
}

fn kubeconfigs(plans: &[Plan], apiserver_cert: Option<PathBuf>, f: &mut Findings) {
    let apiserver = apiserver_cert.map(|p| (read_cert(&p), p));
    for plan in plans {
        for kc in kubeconfigs_of(plan) {
            kubeconfig(&kc, apiserver.as_ref(), f);
        }
    }
}

fn kubeconfig(
    kc: &Kubeconfig,
    apiserver: Option<&(Result<CertInfo, String>, PathBuf)>,
    f: &mut Findings,
) {
    let what = format!("'{}' ({})", kc.path.display(), kc.component.name());
    let url = match reqwest::Url::parse(&kc.server) {
        Ok(u) => u,
        Err(e) => {
            f.fail(
                CHECK,
                format!("{what} names server '{}': {e}", kc.server),
                "check LEADER_ENDPOINT in /etc/leader".to_string(),
            );
            return;
        }
    };
    if url.scheme() != "https" {
        f.ok(
            CHECK,
            format!(
                "{what} reaches {} without TLS: no certificate to check",
                kc.server
            ),
        );
        return;
    }
    let host = url.host_str().unwrap_or_default();
    let Some((cert, cert_path)) = apiserver else {
        f.ok(
            CHECK,
            format!(
                "{what} reaches {}; the apiserver certificate is not on this node: 'kube-bootstrap doctor' on the leader checks that it covers {host}",
                kc.server
            ),
        );
        return;
    };
    let cert = match cert {
        Ok(c) => c,
        // Missing or unreadable: reported with the apiserver's required files.
        Err(_) => return,
    };
    if !covers(cert, host) {
        f.fail(
            CHECK,
            format!(
                "{what} reaches {}, but the apiserver certificate '{}' does not cover {host} (its names: {})",
                kc.server,
                cert_path.display(),
                names(cert)
            ),
            format!(
                "run 'kube-bootstrap pki init' on the leader: it re-issues apiserver.crt with the host of LEADER_ENDPOINT, the node's address and KUBE_APISERVER_SANS (add {host} there if it is none of them)"
            ),
        );
        return;
    }
    let Some(ca_path) = &kc.ca else {
        f.fail(
            CHECK,
            format!("{what} reaches {} with no certificate-authority", kc.server),
            "run 'kube-bootstrap pki init' on the leader".to_string(),
        );
        return;
    };
    match read_cert(ca_path) {
        Ok(ca) if x509::signed_by(cert, &ca) => f.ok(
            CHECK,
            format!(
                "{what} reaches {}: the apiserver certificate covers {host} and is signed by '{}'",
                kc.server,
                ca_path.display()
            ),
        ),
        Ok(ca) => f.fail(
            CHECK,
            format!(
                "{what} trusts '{}' ({}), which did not sign the apiserver certificate '{}' (issuer {})",
                ca_path.display(),
                ca.subject,
                cert_path.display(),
                cert.issuer
            ),
            "every node's ca.crt must be the leader's: re-install the bundle from 'kube-bootstrap pki node <node> --out FILE' with 'kube-bootstrap pki install FILE'".to_string(),
        ),
        // Missing: reported with the required files.
        Err(_) => {}
    }
}

/// The kubelet's client certificate is `system:node:<--hostname-override>` in `system:nodes`.
fn kubelet_identity(plans: &[Plan], f: &mut Findings) {
    let Some(plan) = plan_of(plans, Component::Kubelet) else {
        return;
    };
    let Some(node) = flag(plan, "--hostname-override") else {
        return;
    };
    let Some(kc) = kubeconfigs_of(plan).into_iter().next() else {
        return;
    };
    let Some(cert_path) = &kc.client_cert else {
        f.ok(
            CHECK,
            format!(
                "the kubelet registers as {node} (--hostname-override) and has no client certificate (the insecure topology)"
            ),
        );
        return;
    };
    let cert = match read_cert(cert_path) {
        Ok(c) => c,
        Err(_) => return,
    };
    let want_cn = format!("system:node:{node}");
    let in_group = cert.organizations.iter().any(|o| o == "system:nodes");
    if cert.common_name.as_deref() == Some(want_cn.as_str()) && in_group {
        f.ok(
            CHECK,
            format!(
                "the kubelet's client certificate '{}' is {}, the node it registers as (--hostname-override={node})",
                cert_path.display(),
                identity(&cert)
            ),
        );
        return;
    }
    let problem = if cert.common_name.as_deref() != Some(want_cn.as_str()) {
        match cert
            .common_name
            .as_deref()
            .and_then(|cn| cn.strip_prefix("system:node:"))
        {
            Some(other) => format!("was made for node '{other}'"),
            None => "is not a node identity".to_string(),
        }
    } else {
        "lacks O=system:nodes".to_string()
    };
    f.fail(
        CHECK,
        format!(
            "the kubelet's client certificate '{}' ({}) {problem}, but the kubelet registers as '{node}' (--hostname-override): the Node authorizer would refuse it",
            cert_path.display(),
            identity(&cert)
        ),
        format!(
            "on the leader, run 'kube-bootstrap pki node {node} --out FILE', then 'kube-bootstrap pki install FILE' here"
        ),
    );
}

/// Every file a flag of these plans names exists. Missing ones are the "file" check's to list,
/// grouped by the command that makes them, so they are said once.
fn required_files(plans: &[Plan], f: &mut Findings) {
    let refs = plans.iter().flat_map(|p| &p.required);
    let total = refs.clone().count();
    let all_there = refs
        .clone()
        .all(|r| std::fs::symlink_metadata(&r.path).is_ok());
    if all_there && !plans.is_empty() {
        f.ok(
            CHECK,
            format!("every file the flags name exists ({total} references)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(dns: &[&str], ips: &[&str]) -> CertInfo {
        CertInfo {
            der: Vec::new(),
            subject: String::new(),
            issuer: String::new(),
            common_name: Some("kube-apiserver".into()),
            organizations: Vec::new(),
            dns_names: dns.iter().map(|s| s.to_string()).collect(),
            ip_addresses: ips.iter().map(|s| s.parse().unwrap()).collect(),
            is_ca: false,
            key_cert_sign: false,
            digital_signature: true,
            server_auth: true,
            client_auth: false,
            not_before: 0,
            not_after: 0,
            public_key: Vec::new(),
        }
    }

    #[test]
    fn server_names_are_covered_as_go_reads_them() {
        let c = cert(
            &["kubernetes", "Leader.Example", "*.lb.example"],
            &["10.0.0.1", "fd00::1"],
        );
        for (host, want) in [
            ("10.0.0.1", true),
            ("10.0.0.2", false),
            ("[fd00::1]", true),
            ("leader.example", true),
            ("leader.example.", true),
            ("kubernetes", true),
            ("a.lb.example", true),
            ("a.b.lb.example", false),
            ("lb.example", false),
            ("other.example", false),
        ] {
            assert_eq!(covers(&c, host), want, "{host}");
        }
    }
}
