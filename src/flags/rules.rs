//! Per-component, per-version rules. Each flag emitted for release 1.X exists in that
//! component's command-line reference for 1.X:
//!
//! - below 1.20 the fleet topology ran insecure: apiserver `--insecure-bind-address` and
//!   `--insecure-port` (removed in 1.24), everything else reaching it over plain http;
//! - kubelet `--api-servers` until 1.7 (removed in 1.8), a kubeconfig from 1.8, a config file
//!   (`--config`, KubeletConfiguration v1beta1) from 1.10 instead of the deprecated
//!   `--cluster-dns`/`--cluster-domain` flags;
//! - from 1.20 TLS everywhere, service-account issuer and keys (required since 1.20),
//!   kubeconfigs with client certificates;
//! - kubelet `--container-runtime=remote` for 1.20-1.23 (the default became remote in 1.24,
//!   the flag was removed in 1.27), `--container-runtime-endpoint` as a flag until 1.26 and in
//!   the config file (`containerRuntimeEndpoint`) from 1.27, where the flag is deprecated;
//! - no klog flags (`--logtostderr` and friends were removed in 1.26) and no
//!   `--pod-infra-container-image` (removed in 1.35).

use std::net::IpAddr;
use std::path::PathBuf;

use super::Error;
use super::files::{self, ClientCert, KubeletConfig};
use super::{Ctx, Flag, GeneratedFile, Required};
use crate::component::Component;
use crate::env_vars as var;

/// What the rules produce.
#[derive(Debug, Default)]
pub struct Out {
    pub flags: Vec<Flag>,
    pub files: Vec<GeneratedFile>,
    pub required: Vec<Required>,
}

impl Out {
    fn flag(&mut self, name: &str, value: impl ToString, why: impl Into<Vec<String>>) {
        self.flags.push(Flag {
            name: name.to_string(),
            value: Some(value.to_string()),
            why: why.into(),
        });
    }

    /// A flag whose value is a file that must exist before the component starts.
    fn file_flag(&mut self, name: &str, path: PathBuf, why: impl Into<String>) {
        self.require(name, path.clone());
        self.flag(name, path.display(), vec![why.into()]);
    }

    /// Records a file that must exist; one path needed twice is listed once with both uses.
    fn require(&mut self, flag: &str, path: PathBuf) {
        match self.required.iter_mut().find(|r| r.path == path) {
            Some(r) => r.flag = format!("{}, {flag}", r.flag),
            None => self.required.push(Required {
                flag: flag.to_string(),
                path,
            }),
        }
    }

    fn write(&mut self, path: PathBuf, content: String, why: String) {
        self.files.push(GeneratedFile { path, content, why });
    }
}

/// Applies the rules of `ctx.component` for `ctx.minor`.
pub fn component(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    match ctx.component {
        Component::Apiserver => apiserver(ctx, out),
        Component::ControllerManager => controller_manager(ctx, out),
        Component::Scheduler => scheduler(ctx, out),
        Component::Kubelet => kubelet(ctx, out),
        Component::Proxy => proxy(ctx, out),
    }
}

const INSECURE: &str = "Kubernetes < 1.20: insecure serving, as the fleet units ran it";
const SECURE: &str = "Kubernetes >= 1.20: TLS topology";

fn pki_why(ctx: &Ctx<'_>, file: &str) -> String {
    format!("{file} in {}", ctx.from(var::KUBE_PKI_DIR))
}

fn apiserver(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let (port, port_why) = ctx.port();
    let c = &ctx.settings.cluster;
    if ctx.minor < 20 {
        out.flag(
            "--insecure-bind-address",
            "0.0.0.0",
            [INSECURE.to_string(), "all addresses".into()],
        );
        out.flag("--insecure-port", port, [port_why]);
    } else {
        out.flag(
            "--bind-address",
            "0.0.0.0",
            [SECURE.to_string(), "all addresses".into()],
        );
        out.flag("--secure-port", port, [port_why]);
    }
    out.flag(
        "--etcd-servers",
        &c.etcd_servers,
        [ctx.from(var::KUBE_ETCD_SERVERS)],
    );
    out.flag(
        "--service-cluster-ip-range",
        c.service_range,
        [ctx.from(var::KUBE_SERVICE_CLUSTER_IP_RANGE)],
    );
    if ctx.minor < 20 {
        return Ok(());
    }
    for (flag, file) in [
        ("--client-ca-file", "ca.crt"),
        ("--tls-cert-file", "apiserver.crt"),
        ("--tls-private-key-file", "apiserver.key"),
        (
            "--kubelet-client-certificate",
            "apiserver-kubelet-client.crt",
        ),
        ("--kubelet-client-key", "apiserver-kubelet-client.key"),
    ] {
        out.file_flag(flag, ctx.pki(file), pki_why(ctx, file));
    }
    out.flag(
        "--service-account-issuer",
        format!("https://kubernetes.default.svc.{}", c.domain),
        [
            "required since 1.20".to_string(),
            ctx.from(var::KUBE_CLUSTER_DOMAIN),
        ],
    );
    out.file_flag(
        "--service-account-key-file",
        ctx.pki("sa.pub"),
        pki_why(ctx, "sa.pub"),
    );
    out.file_flag(
        "--service-account-signing-key-file",
        ctx.pki("sa.key"),
        pki_why(ctx, "sa.key"),
    );
    out.flag("--authorization-mode", "Node,RBAC", [SECURE.to_string()]);
    out.flag(
        "--enable-admission-plugins",
        "NodeRestriction",
        ["lets the Node authorizer confine kubelets".to_string()],
    );
    out.flag(
        "--allow-privileged",
        "true",
        ["privileged pods (CNI and CSI daemons) are allowed".to_string()],
    );
    Ok(())
}

/// The kubeconfig of a leader component reaching the apiserver on 127.0.0.1 (1.20+).
fn leader_kubeconfig(ctx: &Ctx<'_>, out: &mut Out, name: &str) -> PathBuf {
    let (port, port_why) = ctx.port();
    let path = ctx.conf(&format!("{name}.conf"));
    let server = format!("https://127.0.0.1:{port}");
    let content = tls_kubeconfig(ctx, out, &format!("system:kube-{name}"), name, &server);
    out.write(
        path.clone(),
        content,
        format!("kubeconfig: server {server} (the apiserver beside it; {port_why})"),
    );
    path
}

fn kubeconfig_flags(ctx: &Ctx<'_>, out: &mut Out, path: &std::path::Path) {
    let why = format!(
        "written by kube-bootstrap in {}",
        ctx.from(var::KUBE_CONFIG_DIR)
    );
    for flag in [
        "--kubeconfig",
        "--authentication-kubeconfig",
        "--authorization-kubeconfig",
    ] {
        out.flag(flag, path.display(), [why.clone()]);
    }
    out.flag(
        "--bind-address",
        "127.0.0.1",
        ["serves health and metrics locally only".to_string()],
    );
}

/// `--master` of a leader component below 1.20: the insecure port of the apiserver beside it.
fn local_master(ctx: &Ctx<'_>, out: &mut Out) {
    let (port, port_why) = ctx.port();
    out.flag(
        "--master",
        format!("http://127.0.0.1:{port}"),
        [
            INSECURE.to_string(),
            "the apiserver beside it".into(),
            port_why,
        ],
    );
}

fn controller_manager(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    if ctx.minor < 20 {
        local_master(ctx, out);
        return Ok(());
    }
    let kubeconfig = leader_kubeconfig(ctx, out, "controller-manager");
    kubeconfig_flags(ctx, out, &kubeconfig);
    out.file_flag(
        "--client-ca-file",
        ctx.pki("ca.crt"),
        pki_why(ctx, "ca.crt"),
    );
    out.file_flag(
        "--cluster-signing-cert-file",
        ctx.pki("ca.crt"),
        pki_why(ctx, "ca.crt"),
    );
    out.file_flag(
        "--cluster-signing-key-file",
        ctx.pki("ca.key"),
        pki_why(ctx, "ca.key"),
    );
    out.file_flag("--root-ca-file", ctx.pki("ca.crt"), pki_why(ctx, "ca.crt"));
    out.file_flag(
        "--service-account-private-key-file",
        ctx.pki("sa.key"),
        pki_why(ctx, "sa.key"),
    );
    let c = &ctx.settings.cluster;
    out.flag(
        "--service-cluster-ip-range",
        c.service_range,
        [ctx.from(var::KUBE_SERVICE_CLUSTER_IP_RANGE)],
    );
    out.flag(
        "--use-service-account-credentials",
        "true",
        ["one service account per controller".to_string()],
    );
    Ok(())
}

fn scheduler(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    if ctx.minor < 20 {
        local_master(ctx, out);
        return Ok(());
    }
    let kubeconfig = leader_kubeconfig(ctx, out, "scheduler");
    kubeconfig_flags(ctx, out, &kubeconfig);
    Ok(())
}

/// `--hostname-override` from the node's address.
fn hostname_override(ctx: &Ctx<'_>, out: &mut Out) -> Result<IpAddr, Error> {
    let ip = ctx.need("--hostname-override", &ctx.facts.node_ip)?;
    out.flag("--hostname-override", ip.value, [ip.source.to_string()]);
    Ok(ip.value)
}

/// The apiserver URL for a node component, from `/etc/leader`.
fn leader_url(ctx: &Ctx<'_>, flag: &str) -> Result<(String, Vec<String>), Error> {
    let (port, port_why) = ctx.port();
    let leader = ctx.need(flag, &ctx.facts.leader)?;
    let scheme = if ctx.minor < 20 { "http" } else { "https" };
    let mut why = vec![leader.source.to_string()];
    if leader.value.port.is_none() {
        why.push(port_why);
    }
    why.push(if ctx.minor < 20 {
        INSECURE.to_string()
    } else {
        SECURE.to_string()
    });
    Ok((leader.value.url(scheme, port), why))
}

/// A kubeconfig for `server` with the cluster CA and the client pair `<name>.crt/.key` from
/// `KUBE_PKI_DIR`, all three recorded as files that must exist.
fn tls_kubeconfig(ctx: &Ctx<'_>, out: &mut Out, user: &str, name: &str, server: &str) -> String {
    let (ca, cert, key) = (
        ctx.pki("ca.crt"),
        ctx.pki(&format!("{name}.crt")),
        ctx.pki(&format!("{name}.key")),
    );
    let text = files::kubeconfig(
        user,
        server,
        Some(&ca),
        Some(ClientCert {
            cert: &cert,
            key: &key,
        }),
    );
    for (p, f) in [
        (ca, "kubeconfig certificate-authority"),
        (cert, "kubeconfig client-certificate"),
        (key, "kubeconfig client-key"),
    ] {
        out.require(f, p);
    }
    text
}

/// A node component's kubeconfig reaching the leader.
fn node_kubeconfig(ctx: &Ctx<'_>, out: &mut Out, flag: &str, name: &str) -> Result<(), Error> {
    let (server, why) = leader_url(ctx, flag)?;
    let path = ctx.conf(&format!("{name}.conf"));
    let content = if ctx.minor < 20 {
        files::kubeconfig(&format!("system:{name}"), &server, None, None)
    } else {
        tls_kubeconfig(ctx, out, &format!("system:{name}"), name, &server)
    };
    out.write(
        path.clone(),
        content,
        format!("kubeconfig: server {server} ({})", why.join("; ")),
    );
    let mut flag_why = vec![format!(
        "written by kube-bootstrap in {}",
        ctx.from(var::KUBE_CONFIG_DIR)
    )];
    flag_why.push(format!("server {server}"));
    out.flag(flag, path.display(), flag_why);
    Ok(())
}

fn kubelet(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let c = &ctx.settings.cluster;
    hostname_override(ctx, out)?;
    if ctx.minor < 8 {
        let (server, mut why) = leader_url(ctx, "--api-servers")?;
        why.push("kubelet < 1.8 takes --api-servers".into());
        out.flag("--api-servers", server, why);
    } else {
        node_kubeconfig(ctx, out, "--kubeconfig", "kubelet")?;
    }
    if ctx.minor < 10 {
        out.flag("--cluster-dns", c.dns, [ctx.from(var::KUBE_CLUSTER_DNS)]);
        out.flag(
            "--cluster-domain",
            &c.domain,
            [ctx.from(var::KUBE_CLUSTER_DOMAIN)],
        );
        return Ok(());
    }
    let path = ctx.conf("kubelet-config.yaml");
    let ca = ctx.pki("ca.crt");
    let secure = ctx.minor >= 20;
    if secure {
        out.require("kubelet config x509.clientCAFile", ca.clone());
    }
    let runtime_in_file = ctx.minor >= 27;
    let content = files::kubelet_config(&KubeletConfig {
        cluster_domain: &c.domain,
        cluster_dns: c.dns,
        secure: secure.then_some(ca.as_path()),
        runtime_endpoint: runtime_in_file.then_some(c.runtime_endpoint.as_str()),
    });
    let mut why = vec![
        format!("clusterDNS {} ({})", c.dns, ctx.from(var::KUBE_CLUSTER_DNS)),
        format!(
            "clusterDomain {} ({})",
            c.domain,
            ctx.from(var::KUBE_CLUSTER_DOMAIN)
        ),
    ];
    if secure {
        why.push(
            "systemd cgroup driver, x509 client CA and webhook authentication (>= 1.20)".into(),
        );
    }
    if runtime_in_file {
        why.push(format!(
            "containerRuntimeEndpoint ({}; >= 1.27 reads it from the file)",
            ctx.from(var::KUBE_CONTAINER_RUNTIME_ENDPOINT)
        ));
    }
    out.write(
        path.clone(),
        content,
        format!("KubeletConfiguration: {}", why.join("; ")),
    );
    out.flag(
        "--config",
        path.display(),
        vec![
            format!(
                "written by kube-bootstrap in {}",
                ctx.from(var::KUBE_CONFIG_DIR)
            ),
            "kubelet >= 1.10 prefers its config file to the deprecated flags".into(),
        ],
    );
    if (20..24).contains(&ctx.minor) {
        out.flag(
            "--container-runtime",
            "remote",
            ["a CRI runtime; 1.20-1.23 default to the dockershim".to_string()],
        );
    }
    if (20..27).contains(&ctx.minor) {
        out.flag(
            "--container-runtime-endpoint",
            &c.runtime_endpoint,
            [
                ctx.from(var::KUBE_CONTAINER_RUNTIME_ENDPOINT),
                "a flag before 1.27".into(),
            ],
        );
    }
    Ok(())
}

fn proxy(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    hostname_override(ctx, out)?;
    if ctx.minor < 20 {
        let (server, why) = leader_url(ctx, "--master")?;
        out.flag("--master", server, why);
        return Ok(());
    }
    node_kubeconfig(ctx, out, "--kubeconfig", "proxy")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use crate::component::Component::{self, *};
    use crate::flags::{Plan, compute};
    use crate::node::{FactError, FactSource, Known, NodeFacts, parse_endpoint};
    use crate::settings::{Overlay, Settings};

    fn settings(version: &str, extra: &[(&str, &str)]) -> Settings {
        let mut env: BTreeMap<String, String> = [("KUBE_ARCH", "amd64"), ("KUBE_VERSION", version)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let overlay = Overlay::from_config_str(Path::new("/etc/kube-bootstrap.env"), "")
            .unwrap()
            .with_env(env);
        Settings::resolve(Path::new("/"), &overlay).unwrap()
    }

    fn facts() -> NodeFacts {
        NodeFacts {
            leader: Ok(Known {
                value: parse_endpoint("10.0.0.1").unwrap(),
                source: FactSource::File {
                    path: "/etc/leader".into(),
                    var: "LEADER_ENDPOINT",
                },
            }),
            node_ip: Ok(Known {
                value: "10.0.0.5".parse().unwrap(),
                source: FactSource::File {
                    path: "/etc/network-environment".into(),
                    var: "DEFAULT_IPV4",
                },
            }),
        }
    }

    fn plan(c: Component, version: &str) -> Plan {
        compute(c, &settings(version, &[]), &facts(), &[]).unwrap()
    }

    fn names(p: &Plan) -> Vec<String> {
        p.flags.iter().map(|f| f.name.clone()).collect()
    }

    /// Which flags each (component, version) must and must not emit.
    #[test]
    fn flags_at_version_boundaries() {
        #[rustfmt::skip]
        let table: &[(Component, &str, &[&str], &[&str])] = &[
            (Apiserver, "v1.0.0", &["--insecure-bind-address=0.0.0.0", "--insecure-port=9090", "--etcd-servers=http://127.0.0.1:2379", "--service-cluster-ip-range=172.22.0.0/16"], &["--secure-port", "--authorization-mode"]),
            (Apiserver, "v1.19.16", &["--insecure-port=9090"], &["--service-account-issuer"]),
            (Apiserver, "v1.20.0", &["--secure-port=6443", "--authorization-mode=Node,RBAC", "--service-account-issuer=https://kubernetes.default.svc.cluster.local", "--service-account-key-file=/etc/kubernetes/pki/sa.pub", "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key", "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt"], &["--insecure-port", "--insecure-bind-address"]),
            (Apiserver, "v1.24.0", &["--secure-port=6443"], &["--insecure-port"]),
            (Apiserver, "v1.36.4", &["--client-ca-file=/etc/kubernetes/pki/ca.crt"], &["--insecure-port", "--logtostderr"]),
            (ControllerManager, "v1.0.0", &["--master=http://127.0.0.1:9090"], &["--kubeconfig"]),
            (ControllerManager, "v1.19.0", &["--master=http://127.0.0.1:9090"], &["--kubeconfig"]),
            (ControllerManager, "v1.20.0", &["--kubeconfig=/etc/kubernetes/controller-manager.conf", "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key", "--service-account-private-key-file=/etc/kubernetes/pki/sa.key"], &["--master"]),
            (Scheduler, "v1.7.0", &["--master=http://127.0.0.1:9090"], &["--kubeconfig"]),
            (Scheduler, "v1.36.4", &["--kubeconfig=/etc/kubernetes/scheduler.conf", "--bind-address=127.0.0.1"], &["--master"]),
            (Kubelet, "v1.0.0", &["--hostname-override=10.0.0.5", "--api-servers=http://10.0.0.1:9090", "--cluster-dns=172.22.0.10", "--cluster-domain=cluster.local"], &["--kubeconfig", "--config"]),
            (Kubelet, "v1.7.16", &["--api-servers=http://10.0.0.1:9090"], &["--kubeconfig"]),
            (Kubelet, "v1.8.0", &["--kubeconfig=/etc/kubernetes/kubelet.conf", "--cluster-dns=172.22.0.10"], &["--api-servers", "--config"]),
            (Kubelet, "v1.10.0", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--api-servers", "--cluster-dns", "--cluster-domain"]),
            (Kubelet, "v1.19.0", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--container-runtime"]),
            (Kubelet, "v1.20.0", &["--container-runtime=remote", "--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], &["--api-servers"]),
            (Kubelet, "v1.23.17", &["--container-runtime=remote"], &[]),
            (Kubelet, "v1.24.0", &["--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], &["--container-runtime"]),
            (Kubelet, "v1.26.0", &["--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], &["--container-runtime"]),
            (Kubelet, "v1.27.0", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--container-runtime", "--container-runtime-endpoint"]),
            (Kubelet, "v1.34.0", &["--kubeconfig=/etc/kubernetes/kubelet.conf"], &["--pod-infra-container-image"]),
            (Kubelet, "v1.35.0", &["--hostname-override=10.0.0.5"], &["--pod-infra-container-image", "--container-runtime-endpoint"]),
            (Kubelet, "v1.36.4", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--cluster-dns", "--logtostderr"]),
            (Proxy, "v1.0.0", &["--master=http://10.0.0.1:9090", "--hostname-override=10.0.0.5"], &["--kubeconfig"]),
            (Proxy, "v1.19.0", &["--master=http://10.0.0.1:9090"], &["--kubeconfig"]),
            (Proxy, "v1.20.0", &["--kubeconfig=/etc/kubernetes/proxy.conf"], &["--master"]),
        ];
        for (component, version, want, absent) in table {
            let p = plan(*component, version);
            let args = p.args();
            for w in *want {
                assert!(
                    args.iter().any(|a| a == w),
                    "{component} {version}: missing {w} in {args:?}"
                );
            }
            for a in *absent {
                assert!(
                    !names(&p).iter().any(|n| n == a),
                    "{component} {version}: unexpected {a} in {args:?}"
                );
            }
            assert_eq!(p.argv()[0], format!("/opt/bin/{}", component.binary()));
            // No flag may appear twice.
            let mut seen = names(&p);
            seen.sort();
            seen.dedup();
            assert_eq!(
                seen.len(),
                p.flags.len(),
                "{component} {version}: duplicate flags {args:?}"
            );
        }
    }

    #[test]
    fn kubeconfigs_point_at_the_leader_or_localhost() {
        let p = plan(Kubelet, "v1.36.4");
        let kc = p
            .files
            .iter()
            .find(|f| f.path.ends_with("kubelet.conf"))
            .unwrap();
        assert!(
            kc.content.contains("server: \"https://10.0.0.1:6443\""),
            "{}",
            kc.content
        );
        assert!(
            kc.content
                .contains("client-certificate: \"/etc/kubernetes/pki/kubelet.crt\"")
        );
        let p = plan(Kubelet, "v1.8.0");
        let kc = p
            .files
            .iter()
            .find(|f| f.path.ends_with("kubelet.conf"))
            .unwrap();
        assert!(
            kc.content.contains("server: \"http://10.0.0.1:9090\""),
            "{}",
            kc.content
        );
        let p = plan(Scheduler, "v1.36.4");
        assert!(
            p.files[0]
                .content
                .contains("server: \"https://127.0.0.1:6443\"")
        );
        let p = plan(Kubelet, "v1.27.0");
        let cfg = p
            .files
            .iter()
            .find(|f| f.path.ends_with("kubelet-config.yaml"))
            .unwrap();
        assert!(cfg.content.contains("containerRuntimeEndpoint"));
        let p = plan(Kubelet, "v1.26.0");
        let cfg = p
            .files
            .iter()
            .find(|f| f.path.ends_with("kubelet-config.yaml"))
            .unwrap();
        assert!(!cfg.content.contains("containerRuntimeEndpoint"));
    }

    #[test]
    fn port_setting_and_leader_port_win() {
        let s = settings("v1.36.4", &[("KUBE_APISERVER_PORT", "8443")]);
        let p = compute(Apiserver, &s, &facts(), &[]).unwrap();
        assert!(p.args().contains(&"--secure-port=8443".to_string()));
        let mut f = facts();
        f.leader.as_mut().unwrap().value = parse_endpoint("leader.example:7443").unwrap();
        let p = compute(Proxy, &settings("v1.19.0", &[]), &f, &[]).unwrap();
        assert!(
            p.args()
                .contains(&"--master=http://leader.example:7443".to_string())
        );
    }

    #[test]
    fn extra_args_come_last_and_replace() {
        let s = settings(
            "v1.36.4",
            &[(
                "KUBE_KUBELET_EXTRA_ARGS",
                "--hostname-override=node-a --v=2",
            )],
        );
        let p = compute(Kubelet, &s, &facts(), &["--v=4".to_string()]).unwrap();
        let args = p.args();
        assert_eq!(
            args.iter()
                .filter(|a| a.starts_with("--hostname-override"))
                .count(),
            1
        );
        assert_eq!(
            &args[args.len() - 2..],
            ["--hostname-override=node-a", "--v=4"]
        );
    }

    #[test]
    fn newer_versions_use_newest_rules_with_a_warning_and_old_ones_fail() {
        let p = plan(Kubelet, "v1.40.0");
        assert_eq!(p.rules, "1.36");
        assert!(p.warnings[0].contains("newer"), "{:?}", p.warnings);
        let err = compute(Kubelet, &settings("v0.21.0", &[]), &facts(), &[]).unwrap_err();
        assert!(err.to_string().contains("v0.21.0"), "{err}");
        assert!(
            matches!(err, crate::flags::Error::UnsupportedVersion { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn missing_facts_name_flag_variable_and_file() {
        let mut f = facts();
        f.node_ip = Err(FactError::Unset {
            path: "/etc/network-environment".into(),
            var: "DEFAULT_IPV4",
        });
        let err = compute(Kubelet, &settings("v1.36.4", &[]), &f, &[]).unwrap_err();
        let text = format!("error: {}", crate::causes::chain(&err));
        assert!(text.contains("--hostname-override"), "{text}");
        assert!(text.contains("DEFAULT_IPV4"), "{text}");
        assert!(text.contains("/etc/network-environment"), "{text}");
        // The apiserver needs neither file.
        let mut f = facts();
        f.leader = Err(FactError::Unreadable {
            path: "/etc/leader".into(),
            var: "LEADER_ENDPOINT",
            reason: "not found".into(),
        });
        f.node_ip = Err(FactError::Unreadable {
            path: "/etc/network-environment".into(),
            var: "DEFAULT_IPV4",
            reason: "not found".into(),
        });
        assert!(compute(Apiserver, &settings("v1.36.4", &[]), &f, &[]).is_ok());
        f.node_ip = facts().node_ip;
        let err = compute(Proxy, &settings("v1.36.4", &[]), &f, &[]).unwrap_err();
        let text = format!("error: {}", crate::causes::chain(&err));
        assert!(
            text.starts_with("error: --kubeconfig needs LEADER_ENDPOINT from '/etc/leader'"),
            "{text}"
        );
    }
}
