//! Per-component, per-version rules. Every flag and config field emitted for release 1.X is
//! listed in `docs/flags.md` with the reference it was checked against; a unit test holds the
//! two together. In short:
//!
//! - below 1.20 the fleet topology ran insecure: apiserver `--insecure-bind-address` and
//!   `--insecure-port` (deprecated from 1.10 with no other plain-http form, removed in 1.24),
//!   everything else reaching it over plain http;
//! - the apiserver allows privileged pods (`--allow-privileged`, default false) in every
//!   release, the kubelet until 1.12 (its default became true in 1.13, the flag went in 1.15);
//! - service-account keys from 1.10, where the ServiceAccount admission plugin is on by default
//!   (before, `--admission-control` defaulted to AlwaysAdmit and no pod needed a token);
//! - kubelet `--api-servers` until 1.3, `--kubeconfig --require-kubeconfig` for 1.4-1.7 (where
//!   `--api-servers` is deprecated), `--kubeconfig` from 1.8, a config file (`--config`,
//!   KubeletConfiguration v1beta1) from 1.10 instead of the deprecated `--cluster-dns` and
//!   `--cluster-domain` flags;
//! - kube-proxy `--master` alone in 1.0, `--hostname-override` from 1.1, `--cluster-cidr` from
//!   1.3, and a KubeProxyConfiguration file from 1.7, where every other flag is deprecated
//!   (`componentconfig/v1alpha1` in 1.7-1.8, `kubeproxy.config.k8s.io/v1alpha1` from 1.9);
//! - kube-scheduler `--master`, except a KubeSchedulerConfiguration (`componentconfig/v1alpha1`)
//!   in 1.10-1.11, which log that every flag but `--config` is deprecated, and `--kubeconfig` with
//!   `--port=0` in 1.20-1.22, whose config versions cannot close the plain-http port 10251;
//! - `KUBE_CLUSTER_CIDR` reaches the controller-manager (`--allocate-node-cidrs`,
//!   `--cluster-cidr`) and kube-proxy;
//! - from 1.20 TLS everywhere, service-account issuer and signing key (required since 1.20),
//!   kubeconfigs with client certificates, and a KubeSchedulerConfiguration instead of the
//!   scheduler's deprecated `--kubeconfig`;
//! - kubelet `--container-runtime=remote` for 1.20-1.23 (the default became remote in 1.24,
//!   the flag was removed in 1.27), `--container-runtime-endpoint` as a flag until 1.26 and in
//!   the config file (`containerRuntimeEndpoint`) from 1.27, where the flag is deprecated;
//! - no klog flags (`--logtostderr` and friends were removed in 1.26) and no
//!   `--pod-infra-container-image` (removed in 1.35);
//! - the host settings, only where the release has a place for them (a warning otherwise):
//!   kubelet `protectKernelDefaults` in the config file (`--protect-kernel-defaults` for
//!   1.4-1.9) and `failCgroupV1` from 1.31; kube-proxy `conntrack.maxPerCore` in its config
//!   file (`--conntrack-max-per-core` for 1.4-1.6), a 0 only from 1.9, which honours it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::Error;
use super::files::{self, ClientCert, KubeletConfig};
use super::{Ctx, Flag, GeneratedFile, Required};
use crate::cgroup::FAIL_CGROUP_V1_FIELD_FROM;
use crate::component::Component;
use crate::env_vars as var;

/// Where the evidence for every rule is, for `flags --explain`.
pub const EVIDENCE: &str = "docs/flags.md";

/// What the rules produce.
#[derive(Debug, Default)]
pub struct Out {
    pub flags: Vec<Flag>,
    pub files: Vec<GeneratedFile>,
    pub required: Vec<Required>,
    /// Settings this release has no place for, said once per plan.
    pub warnings: Vec<String>,
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
        self.files.push(GeneratedFile {
            path,
            content,
            why,
            secret: false,
        });
    }

    /// A setting the release has no flag or field for: said, and nothing written.
    fn ignored(&mut self, ctx: &Ctx<'_>, var: &str, why: String) {
        self.warnings.push(format!(
            "{} is ignored: {why} (see {EVIDENCE})",
            ctx.from(var)
        ));
    }
}

/// The reason attached to a deprecated flag written because its release has no other form.
fn deprecated(since: &str, instead: &str) -> String {
    format!(
        "deprecated since {since}, written because this release has no other way to say it ({instead}; see {EVIDENCE})"
    )
}

/// The reason attached to a deprecated flag written although the release has a current form,
/// because that form cannot say what is needed.
fn deprecated_over(since: &str, current_cannot: &str) -> String {
    format!(
        "deprecated since {since}, written instead of its current form, which, in {current_cannot} (see {EVIDENCE})"
    )
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
const PRIVILEGED: &str = "privileged pods (CNI and CSI daemons) are allowed; the default is false";

fn pki_why(ctx: &Ctx<'_>, file: &str) -> String {
    format!("{file} in {}", ctx.from(var::KUBE_PKI_DIR))
}

fn apiserver(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let (port, port_why) = ctx.port();
    let c = &ctx.settings.cluster;
    if ctx.minor < 20 {
        let mut why = vec![INSECURE.to_string()];
        if ctx.minor >= 10 {
            why.push(deprecated(
                "1.10",
                "the insecure port is the fleet topology's only listener",
            ));
        }
        let mut addr_why = why.clone();
        addr_why.push("all addresses".into());
        out.flag("--insecure-bind-address", "0.0.0.0", addr_why);
        why.push(port_why);
        out.flag("--insecure-port", port, why);
    } else {
        out.flag(
            "--bind-address",
            "0.0.0.0",
            [SECURE.to_string(), "all addresses".into()],
        );
        out.flag("--secure-port", port, [port_why]);
    }
    let etcd = super::etcd_servers(ctx.settings, ctx.minor);
    let etcd_why = match c.etcd_servers {
        Some(_) => ctx.from(var::KUBE_ETCD_SERVERS),
        None if ctx.minor < 20 => format!(
            "{}: etcd beside it over plain http, as the fleet units ran it (Kubernetes < 1.20)",
            ctx.from(var::KUBE_ETCD_SERVERS)
        ),
        None => format!(
            "{}: etcd beside it over TLS (Kubernetes >= 1.20)",
            ctx.from(var::KUBE_ETCD_SERVERS)
        ),
    };
    out.flag("--etcd-servers", &etcd, [etcd_why]);
    if super::etcd_tls(&etcd) && ctx.minor < 2 {
        out.warnings.push(format!(
            "{}: kube-apiserver 1.0-1.1 has no --etcd-cafile, --etcd-certfile or --etcd-keyfile, so it dials that https etcd with the system's roots and no client certificate (see {EVIDENCE})",
            ctx.from(var::KUBE_ETCD_SERVERS)
        ));
    } else if super::etcd_tls(&etcd) {
        for (flag, file, what) in [
            (
                "--etcd-cafile",
                ETCD_CA_CRT,
                "verifies etcd's server certificate",
            ),
            (
                "--etcd-certfile",
                "apiserver-etcd-client.crt",
                "the apiserver's client certificate for etcd",
            ),
            ("--etcd-keyfile", "apiserver-etcd-client.key", "its key"),
        ] {
            out.file_flag(
                flag,
                ctx.pki(file),
                format!("{}; {what} (--etcd-servers is https)", pki_why(ctx, file)),
            );
        }
    }
    out.flag(
        "--service-cluster-ip-range",
        c.service_range,
        [ctx.from(var::KUBE_SERVICE_CLUSTER_IP_RANGE)],
    );
    out.flag("--allow-privileged", "true", [PRIVILEGED.to_string()]);
    if ctx.minor < 10 {
        return Ok(());
    }
    out.file_flag(
        "--service-account-key-file",
        ctx.pki("sa.pub"),
        format!(
            "{}; verifies service-account tokens (the ServiceAccount admission plugin is on by default from 1.10)",
            pki_why(ctx, "sa.pub")
        ),
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
        "--service-account-signing-key-file",
        ctx.pki("sa.key"),
        pki_why(ctx, "sa.key"),
    );
    out.flag("--authorization-mode", "Node,RBAC", [SECURE.to_string()]);
    out.flag(
        "--enable-bootstrap-token-auth",
        "true",
        ["workers join with a bootstrap token from 'kube-bootstrap pki token' (TLS bootstrap: the kubelet asks for its certificate with a CSR)".to_string()],
    );
    out.flag(
        "--enable-admission-plugins",
        "NodeRestriction",
        ["lets the Node authorizer confine kubelets".to_string()],
    );
    Ok(())
}

/// The kubeconfig of a leader component reaching the apiserver on 127.0.0.1: over TLS with a
/// client certificate from 1.20, the insecure port without credentials before.
fn leader_kubeconfig(ctx: &Ctx<'_>, out: &mut Out, name: &str) -> PathBuf {
    let (port, port_why) = ctx.port();
    let path = ctx.conf(&format!("{name}.conf"));
    let user = format!("system:kube-{name}");
    let (server, content) = if ctx.minor < 20 {
        let server = format!("http://127.0.0.1:{port}");
        let doc = files::kubeconfig(&user, &server, None, None);
        (server, files::render(&doc))
    } else {
        let server = format!("https://127.0.0.1:{port}");
        let content = tls_kubeconfig(ctx, out, &user, name, &server);
        (server, content)
    };
    out.write(
        path.clone(),
        content,
        format!("kubeconfig: server {server} (the apiserver beside it; {port_why})"),
    );
    path
}

fn written_why(ctx: &Ctx<'_>) -> String {
    format!(
        "written by kube-bootstrap in {}",
        ctx.from(var::KUBE_CONFIG_DIR)
    )
}

/// The serving flags of a leader component on TLS: authn/authz kubeconfigs, local bind.
fn serving_flags(ctx: &Ctx<'_>, out: &mut Out, path: &Path) {
    for flag in ["--authentication-kubeconfig", "--authorization-kubeconfig"] {
        out.flag(flag, path.display(), [written_why(ctx)]);
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
    let c = &ctx.settings.cluster;
    if ctx.minor < 20 {
        local_master(ctx, out);
    } else {
        let kubeconfig = leader_kubeconfig(ctx, out, "controller-manager");
        out.flag("--kubeconfig", kubeconfig.display(), [written_why(ctx)]);
        serving_flags(ctx, out, &kubeconfig);
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
        out.flag(
            "--controllers",
            "*,tokencleaner",
            ["the default controllers, and tokencleaner, which deletes bootstrap tokens past their expiration (off by default)".to_string()],
        );
        if ctx.minor < 22 {
            // 1.22 disabled insecure serving (PR #96216): --port may then only be 0.
            out.flag(
                "--port",
                0,
                ["turns off the plain-http listener (default 10252, no authentication), which 1.20-1.21 still open".to_string()],
            );
        }
    }
    if ctx.minor >= 10 {
        // `pki init` makes ca.crt with sa.key, which this release already requires.
        out.file_flag(
            "--root-ca-file",
            ctx.pki("ca.crt"),
            format!(
                "{}; service-account token secrets carry it as ca.crt, for pods that reach the apiserver",
                pki_why(ctx, "ca.crt")
            ),
        );
        out.file_flag(
            "--service-account-private-key-file",
            ctx.pki("sa.key"),
            format!(
                "{}; signs service-account tokens (the token controller runs only with it)",
                pki_why(ctx, "sa.key")
            ),
        );
    }
    if let Some(cidr) = c.cluster_cidr {
        let why = ctx.from(var::KUBE_CLUSTER_CIDR);
        out.flag(
            "--allocate-node-cidrs",
            "true",
            [
                why.clone(),
                "gives each node a pod CIDR (node.spec.podCIDR)".into(),
            ],
        );
        out.flag("--cluster-cidr", cidr, [why]);
    }
    Ok(())
}

fn scheduler(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let Some(api_version) = files::scheduler_api_version(ctx.minor) else {
        if ctx.minor < 20 {
            local_master(ctx, out);
        } else {
            scheduler_without_config(ctx, out);
        }
        return Ok(());
    };
    let kubeconfig = leader_kubeconfig(ctx, out, "scheduler");
    let path = ctx.conf("scheduler-config.yaml");
    let deprecates = if ctx.minor < 20 {
        "kube-scheduler 1.10-1.11 logs that every flag but --config is deprecated"
    } else {
        "kube-scheduler >= 1.23 deprecates --kubeconfig in favour of the config file, which no longer opens a plain-http port"
    };
    out.write(
        path.clone(),
        files::render(&files::scheduler_config(api_version, &kubeconfig)),
        format!(
            "KubeSchedulerConfiguration {api_version} (the newest this release reads without deprecation): clientConnection.kubeconfig {}",
            kubeconfig.display()
        ),
    );
    out.flag(
        "--config",
        path.display(),
        [written_why(ctx), deprecates.into()],
    );
    if ctx.minor >= 20 {
        serving_flags(ctx, out, &kubeconfig);
    }
    Ok(())
}

/// kube-scheduler 1.20-1.22: flags instead of a config file, the only way to close the
/// plain-http port 10251 (healthz and metrics on every address, no authentication), which the
/// config versions of these releases open whatever they say and `--port` closes only without
/// `--config`.
fn scheduler_without_config(ctx: &Ctx<'_>, out: &mut Out) {
    let kubeconfig = leader_kubeconfig(ctx, out, "scheduler");
    out.flag(
        "--kubeconfig",
        kubeconfig.display(),
        [
            written_why(ctx),
            deprecated_over(
                "1.10",
                "the KubeSchedulerConfiguration of 1.20-1.22, cannot close port 10251 (its bind addresses default to 0.0.0.0:10251 and refuse an empty address or port 0, and --port is ignored next to --config)",
            ),
        ],
    );
    out.flag(
        "--port",
        0,
        ["turns off the plain-http listener (healthz and metrics on 0.0.0.0:10251, no authentication) that 1.20-1.22 open; honoured only without --config, as kubeadm ran these releases".to_string()],
    );
    serving_flags(ctx, out, &kubeconfig);
}

/// The node's address, the name it registers as.
fn node_ip(ctx: &Ctx<'_>, flag: &str) -> Result<(IpAddr, String), Error> {
    let ip = ctx.need(flag, &ctx.facts.node_ip)?;
    Ok((ip.value, ip.source.to_string()))
}

/// `--hostname-override` from the node's address.
fn hostname_override(ctx: &Ctx<'_>, out: &mut Out) -> Result<IpAddr, Error> {
    let (ip, why) = node_ip(ctx, "--hostname-override")?;
    out.flag("--hostname-override", ip, [why]);
    Ok(ip)
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
    let doc = files::kubeconfig(
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
    files::render(&doc)
}

/// Where a kubelet that joined with a token keeps its client certificate and key (one PEM file
/// its certificate manager links to the newest; `--cert-dir`'s default).
pub const KUBELET_CERT_DIR: &str = "/var/lib/kubelet/pki";
pub const KUBELET_CLIENT_CURRENT: &str = "kubelet-client-current.pem";
/// etcd's CA in `KUBE_PKI_DIR` (kubeadm's layout), which `pki init` makes.
pub const ETCD_CA_CRT: &str = "etcd/ca.crt";

/// The kubeconfig of a node component on a worker that joined with a bootstrap token: the
/// node's identity, the pair the kubelet's CSR got (kube-proxy uses it too: `pki rbac` binds
/// system:nodes to system:node-proxier, so no key of its own has to move).
fn joined_kubeconfig(ctx: &Ctx<'_>, out: &mut Out, name: &str, server: &str) -> String {
    let ca = ctx.pki("ca.crt");
    let pem = ctx.path(&Path::new(KUBELET_CERT_DIR).join(KUBELET_CLIENT_CURRENT));
    out.require("kubeconfig certificate-authority", ca.clone());
    if name != "kubelet" {
        // The kubelet makes it when it joins; kube-proxy waits for it.
        out.require(
            "kubeconfig client-certificate (the kubelet's, once it joined)",
            pem.clone(),
        );
    }
    files::render(&files::kubeconfig(
        &format!("system:{name}"),
        server,
        Some(&ca),
        Some(ClientCert {
            cert: &pem,
            key: &pem,
        }),
    ))
}

/// On a worker joining with a token: the bootstrap kubeconfig the kubelet asks for its
/// certificate with (`--bootstrap-kubeconfig`, holding the token: never printed) and where it
/// keeps what it gets (`--cert-dir`, which `kubelet.conf` names).
fn bootstrap_kubeconfig(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let Some(join) = &ctx.settings.pki.join else {
        return Ok(());
    };
    let (server, _) = leader_url(ctx, "--bootstrap-kubeconfig")?;
    let path = ctx.conf("bootstrap-kubelet.conf");
    let ca = ctx.pki("ca.crt");
    out.require("bootstrap kubeconfig certificate-authority", ca.clone());
    let doc = files::token_kubeconfig(
        &format!("system:bootstrap:{}", join.token.id),
        &server,
        &ca,
        join.token.reveal(),
    );
    out.files.push(GeneratedFile {
        path: path.clone(),
        content: files::render(&doc),
        why: format!(
            "bootstrap kubeconfig: server {server}, token {:?} ({}); ca.crt as 'kube-bootstrap pki join' checked it against {}",
            join.token,
            ctx.from(var::KUBE_BOOTSTRAP_TOKEN),
            var::KUBE_DISCOVERY_TOKEN_CA_CERT_HASH
        ),
        secret: true,
    });
    out.flag(
        "--bootstrap-kubeconfig",
        path.display(),
        [
            written_why(ctx),
            "TLS bootstrap: without a valid --kubeconfig certificate the kubelet asks for one with a CSR, which the controller-manager approves and signs".to_string(),
        ],
    );
    out.flag(
        "--cert-dir",
        ctx.path(Path::new(KUBELET_CERT_DIR)).display(),
        ["where the kubelet keeps the certificate it got (kubelet.conf names kubelet-client-current.pem there); the kubelet's default".to_string()],
    );
    Ok(())
}

/// Writes a node component's kubeconfig reaching the leader; returns its path and the server.
fn node_kubeconfig(
    ctx: &Ctx<'_>,
    out: &mut Out,
    flag: &str,
    name: &str,
) -> Result<(PathBuf, String), Error> {
    let (server, why) = leader_url(ctx, flag)?;
    let path = ctx.conf(&format!("{name}.conf"));
    let content = if ctx.minor < 20 {
        files::render(&files::kubeconfig(
            &format!("system:{name}"),
            &server,
            None,
            None,
        ))
    } else if ctx.settings.pki.join.is_some() {
        joined_kubeconfig(ctx, out, name, &server)
    } else {
        tls_kubeconfig(ctx, out, &format!("system:{name}"), name, &server)
    };
    out.write(
        path.clone(),
        content,
        format!("kubeconfig: server {server} ({})", why.join("; ")),
    );
    Ok((path, server))
}

fn kubelet(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let c = &ctx.settings.cluster;
    hostname_override(ctx, out)?;
    if ctx.minor < 4 {
        let (server, mut why) = leader_url(ctx, "--api-servers")?;
        why.push("kubelet < 1.4 has no other way to name the apiserver".into());
        out.flag("--api-servers", server, why);
    } else {
        let (path, server) = node_kubeconfig(ctx, out, "--kubeconfig", "kubelet")?;
        out.flag(
            "--kubeconfig",
            path.display(),
            [written_why(ctx), format!("server {server}")],
        );
        if ctx.minor < 8 {
            out.flag(
                "--require-kubeconfig",
                "true",
                ["kubelet 1.4-1.7 takes the server from the kubeconfig only with it; --api-servers is deprecated there".to_string()],
            );
        }
    }
    if ctx.minor < 13 {
        let mut why = vec![PRIVILEGED.to_string()];
        if ctx.minor >= 10 {
            why.push(deprecated(
                "1.10",
                "the default stays false until 1.13 and there is no config field",
            ));
        }
        out.flag("--allow-privileged", "true", why);
    }
    if ctx.minor < 10 {
        out.flag("--cluster-dns", c.dns, [ctx.from(var::KUBE_CLUSTER_DNS)]);
        out.flag(
            "--cluster-domain",
            &c.domain,
            [ctx.from(var::KUBE_CLUSTER_DOMAIN)],
        );
        protect_kernel_defaults_flag(ctx, out);
        fail_cgroup_v1_field(ctx, out);
        return Ok(());
    }
    let path = ctx.conf("kubelet-config.yaml");
    let ca = ctx.pki("ca.crt");
    let secure = ctx.minor >= 20;
    if secure {
        out.require("kubelet config x509.clientCAFile", ca.clone());
    }
    let runtime_in_file = ctx.minor >= 27;
    let protect_kernel_defaults = ctx.settings.host.protect_kernel_defaults;
    let fail_cgroup_v1 = fail_cgroup_v1_field(ctx, out);
    let doc = files::kubelet_config(&KubeletConfig {
        cluster_domain: &c.domain,
        cluster_dns: c.dns,
        secure: secure.then_some(ca.as_path()),
        runtime_endpoint: runtime_in_file.then_some(c.runtime_endpoint.as_str()),
        protect_kernel_defaults,
        fail_cgroup_v1,
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
        why.push("rotateCertificates: the client certificate renews itself through a CSR the controller-manager approves and signs ('kube-bootstrap pki rbac' binds system:nodes to selfnodeclient)".into());
    }
    if runtime_in_file {
        why.push(format!(
            "containerRuntimeEndpoint ({}; >= 1.27 reads it from the file)",
            ctx.from(var::KUBE_CONTAINER_RUNTIME_ENDPOINT)
        ));
    }
    if let Some(v) = protect_kernel_defaults {
        why.push(format!(
            "protectKernelDefaults {v} ({})",
            ctx.from(var::KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS)
        ));
    }
    if let Some(v) = fail_cgroup_v1 {
        why.push(format!(
            "failCgroupV1 {v} ({}; >= 1.{FAIL_CGROUP_V1_FIELD_FROM} has the field)",
            ctx.from(var::KUBE_KUBELET_FAIL_CGROUPV1)
        ));
    }
    out.write(
        path.clone(),
        files::render(&doc),
        format!("KubeletConfiguration: {}", why.join("; ")),
    );
    out.flag(
        "--config",
        path.display(),
        vec![
            written_why(ctx),
            "kubelet >= 1.10 prefers its config file to the deprecated flags".into(),
        ],
    );
    if secure {
        bootstrap_kubeconfig(ctx, out)?;
    }
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

/// `--protect-kernel-defaults` of a kubelet without a config file (1.4-1.9), from
/// `KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS`; older kubelets have no such flag.
fn protect_kernel_defaults_flag(ctx: &Ctx<'_>, out: &mut Out) {
    let name = var::KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS;
    match ctx.settings.host.protect_kernel_defaults {
        Some(v) if ctx.minor >= 4 => out.flag(
            "--protect-kernel-defaults",
            v,
            [
                ctx.from(name),
                "kubelet 1.4-1.9 has no config file to hold protectKernelDefaults".to_string(),
            ],
        ),
        Some(_) => out.ignored(
            ctx,
            name,
            format!(
                "kubelet 1.{} has no --protect-kernel-defaults (it arrived in 1.4) and sets the kernel tunables it wants",
                ctx.minor
            ),
        ),
        None => {}
    }
}

/// `failCgroupV1` for the kubelet's config file, from `KUBE_KUBELET_FAIL_CGROUPV1`, where the
/// release has the field (1.31+).
fn fail_cgroup_v1_field(ctx: &Ctx<'_>, out: &mut Out) -> Option<bool> {
    let value = ctx.settings.host.fail_cgroup_v1?;
    if ctx.minor >= FAIL_CGROUP_V1_FIELD_FROM {
        return Some(value);
    }
    out.ignored(
        ctx,
        var::KUBE_KUBELET_FAIL_CGROUPV1,
        format!(
            "kubelet 1.{} has no failCgroupV1 (it arrived in 1.{FAIL_CGROUP_V1_FIELD_FROM}) and starts on cgroup v1 hosts",
            ctx.minor
        ),
    );
    None
}

/// `KUBE_PROXY_CONNTRACK_MAX_PER_CORE` for a KubeProxyConfiguration of release 1.7+, and why.
/// 1.7 and 1.8 read a 0 as unset and apply their default, which is what a 0 asks them not to.
fn conntrack_field(ctx: &Ctx<'_>, out: &mut Out) -> Option<(u32, String)> {
    let name = var::KUBE_PROXY_CONNTRACK_MAX_PER_CORE;
    match ctx.settings.host.conntrack_max_per_core? {
        0 if ctx.minor < 9 => {
            out.ignored(
                ctx,
                name,
                format!(
                    "kube-proxy 1.{} replaces a conntrack.maxPerCore of 0 with its default 32768 and sets nf_conntrack_max anyway (1.9 honours 0, PR #55261)",
                    ctx.minor
                ),
            );
            None
        }
        0 => Some((
            0,
            format!(
                "conntrack.maxPerCore 0 ({}): nf_conntrack_max is left as the host has it",
                ctx.from(name)
            ),
        )),
        n => Some((n, format!("conntrack.maxPerCore {n} ({})", ctx.from(name)))),
    }
}

/// `--conntrack-max-per-core` of a kube-proxy on flags (before 1.7), from 1.4.
fn conntrack_flag(ctx: &Ctx<'_>, out: &mut Out) {
    let name = var::KUBE_PROXY_CONNTRACK_MAX_PER_CORE;
    match ctx.settings.host.conntrack_max_per_core {
        Some(n) if ctx.minor >= 4 => {
            let mut why = vec![ctx.from(name)];
            if n == 0 {
                why.push("0: nf_conntrack_max is left as the host has it".into());
            }
            out.flag("--conntrack-max-per-core", n, why);
        }
        Some(_) => out.ignored(
            ctx,
            name,
            format!(
                "kube-proxy 1.{} has no --conntrack-max-per-core (it arrived in 1.4; 1.3 patch releases carry it through PR #29068, give it with KUBE_PROXY_EXTRA_ARGS there)",
                ctx.minor
            ),
        ),
        None => {}
    }
}

fn proxy(ctx: &Ctx<'_>, out: &mut Out) -> Result<(), Error> {
    let cidr = ctx.settings.cluster.cluster_cidr;
    if let Some(api_version) = files::proxy_api_version(ctx.minor) {
        let (ip, ip_why) = node_ip(ctx, "--config")?;
        let (kubeconfig, server) = node_kubeconfig(ctx, out, "--config", "proxy")?;
        let path = ctx.conf("proxy-config.yaml");
        let conntrack = conntrack_field(ctx, out);
        let doc = files::proxy_config(
            api_version,
            &kubeconfig,
            &ip.to_string(),
            cidr.map(|c| c.to_string()),
            conntrack.as_ref().map(|(n, _)| *n),
        );
        let mut why = vec![
            format!(
                "clientConnection.kubeconfig {} (server {server})",
                kubeconfig.display()
            ),
            format!("hostnameOverride {ip} ({ip_why})"),
        ];
        if let Some(cidr) = cidr {
            why.push(format!(
                "clusterCIDR {cidr} ({})",
                ctx.from(var::KUBE_CLUSTER_CIDR)
            ));
        }
        if let Some((_, conntrack_why)) = conntrack {
            why.push(conntrack_why);
        }
        out.write(
            path.clone(),
            files::render(&doc),
            format!("KubeProxyConfiguration {api_version}: {}", why.join("; ")),
        );
        out.flag(
            "--config",
            path.display(),
            [
                written_why(ctx),
                "kube-proxy >= 1.7 deprecates every flag but --config (and ignores them beside it)"
                    .into(),
            ],
        );
        return Ok(());
    }
    let (server, why) = leader_url(ctx, "--master")?;
    out.flag("--master", server, why);
    // kube-proxy 1.0 registers neither flag: an unknown flag makes it exit.
    if ctx.minor >= 1 {
        hostname_override(ctx, out)?;
    }
    if let (Some(cidr), 3..) = (cidr, ctx.minor) {
        out.flag("--cluster-cidr", cidr, [ctx.from(var::KUBE_CLUSTER_CIDR)]);
    }
    conntrack_flag(ctx, out);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// Every argument of `want` is in the plan's argv, and no flag named in `absent` is.
    fn assert_args(p: &Plan, label: &str, want: &[&str], absent: &[&str]) {
        let args = p.args();
        for w in want {
            assert!(
                args.iter().any(|a| a == w),
                "{label}: missing {w} in {args:?}"
            );
        }
        for a in absent {
            assert!(
                !names(p).iter().any(|n| n == a),
                "{label}: unexpected {a} in {args:?}"
            );
        }
    }

    pub(crate) fn plan_with(c: Component, version: &str, extra: &[(&str, &str)]) -> Plan {
        compute(c, &settings(version, extra), &facts(), &[]).unwrap()
    }

    /// The generated document whose path ends with `name`, parsed.
    pub(crate) fn doc(p: &Plan, name: &str) -> serde_json::Value {
        let f = p
            .files
            .iter()
            .find(|f| f.path.ends_with(name))
            .unwrap_or_else(|| panic!("{} {}: no {name}", p.component, p.version));
        serde_json::from_str(&f.content).unwrap()
    }

    pub(crate) const CIDR: &[(&str, &str)] = &[("KUBE_CLUSTER_CIDR", "10.244.0.0/16")];

    /// Which flags each (component, version) must and must not emit.
    #[test]
    fn flags_at_version_boundaries() {
        #[rustfmt::skip]
        let table: &[(Component, &str, &[&str], &[&str])] = &[
            (Apiserver, "v1.0.0", &["--insecure-bind-address=0.0.0.0", "--insecure-port=9090", "--etcd-servers=http://127.0.0.1:2379", "--service-cluster-ip-range=172.22.0.0/16", "--allow-privileged=true"], &["--secure-port", "--authorization-mode", "--service-account-key-file"]),
            (Apiserver, "v1.9.11", &["--allow-privileged=true"], &["--service-account-key-file"]),
            (Apiserver, "v1.10.0", &["--insecure-port=9090", "--service-account-key-file=/etc/kubernetes/pki/sa.pub", "--allow-privileged=true"], &["--service-account-issuer", "--service-account-signing-key-file"]),
            (Apiserver, "v1.19.16", &["--insecure-port=9090", "--service-account-key-file=/etc/kubernetes/pki/sa.pub"], &["--service-account-issuer"]),
            (Apiserver, "v1.20.0", &["--secure-port=6443", "--authorization-mode=Node,RBAC", "--service-account-issuer=https://kubernetes.default.svc.cluster.local", "--service-account-key-file=/etc/kubernetes/pki/sa.pub", "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key", "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt", "--allow-privileged=true"], &["--insecure-port", "--insecure-bind-address"]),
            (Apiserver, "v1.24.0", &["--secure-port=6443"], &["--insecure-port"]),
            (Apiserver, "v1.36.4", &["--client-ca-file=/etc/kubernetes/pki/ca.crt", "--allow-privileged=true"], &["--insecure-port", "--logtostderr"]),
            (ControllerManager, "v1.0.0", &["--master=http://127.0.0.1:9090"], &["--kubeconfig", "--service-account-private-key-file", "--allocate-node-cidrs"]),
            (ControllerManager, "v1.9.11", &["--master=http://127.0.0.1:9090"], &["--service-account-private-key-file", "--root-ca-file"]),
            (ControllerManager, "v1.10.0", &["--master=http://127.0.0.1:9090", "--root-ca-file=/etc/kubernetes/pki/ca.crt", "--service-account-private-key-file=/etc/kubernetes/pki/sa.key"], &["--kubeconfig"]),
            (ControllerManager, "v1.19.0", &["--master=http://127.0.0.1:9090", "--root-ca-file=/etc/kubernetes/pki/ca.crt", "--service-account-private-key-file=/etc/kubernetes/pki/sa.key"], &["--kubeconfig", "--cluster-signing-key-file"]),
            (ControllerManager, "v1.20.0", &["--kubeconfig=/etc/kubernetes/controller-manager.conf", "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key", "--root-ca-file=/etc/kubernetes/pki/ca.crt", "--service-account-private-key-file=/etc/kubernetes/pki/sa.key", "--port=0"], &["--master"]),
            (ControllerManager, "v1.21.14", &["--port=0", "--bind-address=127.0.0.1"], &["--master"]),
            // 1.22 disabled insecure serving: --port is inert there and removed in 1.24.
            (ControllerManager, "v1.22.0", &["--bind-address=127.0.0.1"], &["--port", "--master"]),
            (ControllerManager, "v1.36.4", &["--root-ca-file=/etc/kubernetes/pki/ca.crt"], &["--port"]),
            (Scheduler, "v1.7.0", &["--master=http://127.0.0.1:9090"], &["--kubeconfig", "--config"]),
            (Scheduler, "v1.9.11", &["--master=http://127.0.0.1:9090"], &["--kubeconfig", "--config"]),
            // 1.10-1.11 log that every flag but --config is deprecated.
            (Scheduler, "v1.10.0", &["--config=/etc/kubernetes/scheduler-config.yaml"], &["--master", "--kubeconfig", "--bind-address", "--authentication-kubeconfig"]),
            (Scheduler, "v1.11.10", &["--config=/etc/kubernetes/scheduler-config.yaml"], &["--master", "--kubeconfig", "--bind-address"]),
            (Scheduler, "v1.12.0", &["--master=http://127.0.0.1:9090"], &["--kubeconfig", "--config"]),
            (Scheduler, "v1.19.16", &["--master=http://127.0.0.1:9090"], &["--kubeconfig", "--config"]),
            (Scheduler, "v1.20.0", &["--kubeconfig=/etc/kubernetes/scheduler.conf", "--port=0", "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf", "--bind-address=127.0.0.1"], &["--master", "--config"]),
            (Scheduler, "v1.22.0", &["--kubeconfig=/etc/kubernetes/scheduler.conf", "--port=0", "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf"], &["--config"]),
            (Scheduler, "v1.23.0", &["--config=/etc/kubernetes/scheduler-config.yaml", "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf", "--bind-address=127.0.0.1"], &["--master", "--kubeconfig", "--port"]),
            (Scheduler, "v1.36.4", &["--config=/etc/kubernetes/scheduler-config.yaml", "--bind-address=127.0.0.1"], &["--master", "--kubeconfig"]),
            (Kubelet, "v1.0.0", &["--hostname-override=10.0.0.5", "--api-servers=http://10.0.0.1:9090", "--cluster-dns=172.22.0.10", "--cluster-domain=cluster.local", "--allow-privileged=true"], &["--kubeconfig", "--config", "--require-kubeconfig"]),
            (Kubelet, "v1.3.10", &["--api-servers=http://10.0.0.1:9090"], &["--kubeconfig"]),
            (Kubelet, "v1.4.0", &["--kubeconfig=/etc/kubernetes/kubelet.conf", "--require-kubeconfig=true"], &["--api-servers"]),
            (Kubelet, "v1.5.0", &["--kubeconfig=/etc/kubernetes/kubelet.conf", "--require-kubeconfig=true"], &["--api-servers"]),
            (Kubelet, "v1.7.16", &["--kubeconfig=/etc/kubernetes/kubelet.conf", "--require-kubeconfig=true", "--allow-privileged=true"], &["--api-servers"]),
            (Kubelet, "v1.8.0", &["--kubeconfig=/etc/kubernetes/kubelet.conf", "--cluster-dns=172.22.0.10"], &["--api-servers", "--config", "--require-kubeconfig"]),
            (Kubelet, "v1.10.0", &["--config=/etc/kubernetes/kubelet-config.yaml", "--allow-privileged=true"], &["--api-servers", "--cluster-dns", "--cluster-domain"]),
            (Kubelet, "v1.12.10", &["--allow-privileged=true"], &[]),
            (Kubelet, "v1.13.0", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--allow-privileged"]),
            (Kubelet, "v1.19.0", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--container-runtime", "--allow-privileged"]),
            (Kubelet, "v1.20.0", &["--container-runtime=remote", "--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], &["--api-servers"]),
            (Kubelet, "v1.23.17", &["--container-runtime=remote"], &[]),
            (Kubelet, "v1.24.0", &["--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], &["--container-runtime"]),
            (Kubelet, "v1.26.0", &["--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], &["--container-runtime"]),
            (Kubelet, "v1.27.0", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--container-runtime", "--container-runtime-endpoint"]),
            (Kubelet, "v1.34.0", &["--kubeconfig=/etc/kubernetes/kubelet.conf"], &["--pod-infra-container-image"]),
            (Kubelet, "v1.35.0", &["--hostname-override=10.0.0.5"], &["--pod-infra-container-image", "--container-runtime-endpoint"]),
            (Kubelet, "v1.36.4", &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--cluster-dns", "--logtostderr"]),
            (Proxy, "v1.0.0", &["--master=http://10.0.0.1:9090"], &["--kubeconfig", "--hostname-override", "--cluster-cidr"]),
            (Proxy, "v1.1.0", &["--master=http://10.0.0.1:9090", "--hostname-override=10.0.0.5"], &["--cluster-cidr"]),
            (Proxy, "v1.6.13", &["--master=http://10.0.0.1:9090", "--hostname-override=10.0.0.5"], &["--config"]),
            // 1.7 deprecates every flag but --config (PR #34727).
            (Proxy, "v1.7.0", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--master", "--hostname-override", "--kubeconfig"]),
            (Proxy, "v1.8.15", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--master", "--hostname-override", "--kubeconfig"]),
            (Proxy, "v1.9.0", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--master", "--hostname-override", "--kubeconfig"]),
            (Proxy, "v1.10.0", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--master", "--hostname-override", "--kubeconfig"]),
            (Proxy, "v1.19.0", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--master", "--hostname-override"]),
            (Proxy, "v1.20.0", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--master", "--kubeconfig"]),
            (Proxy, "v1.27.0", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--kubeconfig"]),
            (Proxy, "v1.36.4", &["--config=/etc/kubernetes/proxy-config.yaml"], &["--kubeconfig", "--hostname-override"]),
        ];
        for (component, version, want, absent) in table {
            let p = plan(*component, version);
            assert_args(&p, &format!("{component} {version}"), want, absent);
            assert_eq!(p.argv()[0], format!("/opt/bin/{}", component.binary()));
            // No flag may appear twice.
            let mut seen = names(&p);
            seen.sort();
            seen.dedup();
            assert_eq!(
                seen.len(),
                p.flags.len(),
                "{component} {version}: duplicate flags {:?}",
                p.args()
            );
        }
    }

    #[test]
    fn cluster_cidr_reaches_controller_manager_and_proxy() {
        #[rustfmt::skip]
        let table: &[(Component, &str, &[&str], &[&str])] = &[
            (ControllerManager, "v1.0.0", &["--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/16"], &[]),
            (ControllerManager, "v1.36.4", &["--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/16"], &[]),
            (Proxy, "v1.0.0", &[], &["--cluster-cidr"]),
            (Proxy, "v1.2.0", &[], &["--cluster-cidr"]),
            (Proxy, "v1.3.0", &["--cluster-cidr=10.244.0.0/16"], &[]),
            (Proxy, "v1.6.13", &["--cluster-cidr=10.244.0.0/16"], &[]),
            (Proxy, "v1.7.0", &[], &["--cluster-cidr"]),
            (Proxy, "v1.9.0", &[], &["--cluster-cidr"]),
        ];
        for (component, version, want, absent) in table {
            let args = plan_with(*component, version, CIDR).args();
            for w in *want {
                assert!(
                    args.iter().any(|a| a == w),
                    "{component} {version}: {args:?}"
                );
            }
            for a in *absent {
                assert!(
                    !args.iter().any(|x| x.starts_with(a)),
                    "{component} {version}: {args:?}"
                );
            }
        }
        for v in ["v1.7.0", "v1.9.0", "v1.36.4"] {
            let d = doc(&plan_with(Proxy, v, CIDR), "proxy-config.yaml");
            assert_eq!(d["clusterCIDR"], "10.244.0.0/16", "{v}");
        }
        // Unset: no CIDR anywhere.
        assert!(
            doc(&plan(Proxy, "v1.36.4"), "proxy-config.yaml")
                .get("clusterCIDR")
                .is_none()
        );
        assert!(
            !plan(ControllerManager, "v1.36.4")
                .args()
                .iter()
                .any(|a| a.contains("cidr"))
        );
    }

    /// The parsed config documents at each boundary: (component, version, file, JSON pointer,
    /// value; `null` for absent).
    #[test]
    fn config_documents_at_version_boundaries() {
        use serde_json::{Value, json};
        #[rustfmt::skip]
        let table: Vec<(Component, &str, &str, &str, Value)> = vec![
            (Kubelet, "v1.4.0", "kubelet.conf", "/clusters/0/cluster/server", json!("http://10.0.0.1:9090")),
            (Kubelet, "v1.4.0", "kubelet.conf", "/users/0/user", json!({})),
            (Kubelet, "v1.8.0", "kubelet.conf", "/clusters/0/cluster/server", json!("http://10.0.0.1:9090")),
            (Kubelet, "v1.10.0", "kubelet-config.yaml", "/apiVersion", json!("kubelet.config.k8s.io/v1beta1")),
            (Kubelet, "v1.10.0", "kubelet-config.yaml", "/clusterDNS", json!(["172.22.0.10"])),
            (Kubelet, "v1.10.0", "kubelet-config.yaml", "/authorization/mode", json!("AlwaysAllow")),
            (Kubelet, "v1.19.0", "kubelet-config.yaml", "/cgroupDriver", Value::Null),
            (Kubelet, "v1.20.0", "kubelet-config.yaml", "/cgroupDriver", json!("systemd")),
            (Kubelet, "v1.20.0", "kubelet-config.yaml", "/authentication/x509/clientCAFile", json!("/etc/kubernetes/pki/ca.crt")),
            (Kubelet, "v1.26.0", "kubelet-config.yaml", "/containerRuntimeEndpoint", Value::Null),
            (Kubelet, "v1.27.0", "kubelet-config.yaml", "/containerRuntimeEndpoint", json!("unix:///run/containerd/containerd.sock")),
            // 1.35 refuses cgroup v1 by default; the rules leave that default alone.
            (Kubelet, "v1.35.0", "kubelet-config.yaml", "/failCgroupV1", Value::Null),
            (Kubelet, "v1.35.0", "kubelet-config.yaml", "/cgroupDriver", json!("systemd")),
            (Kubelet, "v1.36.4", "kubelet.conf", "/clusters/0/cluster/server", json!("https://10.0.0.1:6443")),
            (Kubelet, "v1.36.4", "kubelet.conf", "/users/0/user/client-certificate", json!("/etc/kubernetes/pki/kubelet.crt")),
            (Scheduler, "v1.10.0", "scheduler-config.yaml", "/apiVersion", json!("componentconfig/v1alpha1")),
            (Scheduler, "v1.10.0", "scheduler-config.yaml", "/kind", json!("KubeSchedulerConfiguration")),
            (Scheduler, "v1.11.10", "scheduler-config.yaml", "/clientConnection/kubeconfig", json!("/etc/kubernetes/scheduler.conf")),
            (Scheduler, "v1.11.10", "scheduler.conf", "/clusters/0/cluster/server", json!("http://127.0.0.1:9090")),
            (Scheduler, "v1.11.10", "scheduler.conf", "/users/0/user", json!({})),
            (Scheduler, "v1.23.0", "scheduler-config.yaml", "/kind", json!("KubeSchedulerConfiguration")),
            (Scheduler, "v1.23.0", "scheduler-config.yaml", "/clientConnection/kubeconfig", json!("/etc/kubernetes/scheduler.conf")),
            (Scheduler, "v1.23.0", "scheduler-config.yaml", "/apiVersion", json!("kubescheduler.config.k8s.io/v1beta3")),
            (Scheduler, "v1.25.0", "scheduler-config.yaml", "/apiVersion", json!("kubescheduler.config.k8s.io/v1")),
            (Scheduler, "v1.36.4", "scheduler-config.yaml", "/apiVersion", json!("kubescheduler.config.k8s.io/v1")),
            (Scheduler, "v1.36.4", "scheduler.conf", "/clusters/0/cluster/server", json!("https://127.0.0.1:6443")),
            (Proxy, "v1.7.0", "proxy-config.yaml", "/apiVersion", json!("componentconfig/v1alpha1")),
            (Proxy, "v1.7.0", "proxy-config.yaml", "/kind", json!("KubeProxyConfiguration")),
            (Proxy, "v1.8.15", "proxy-config.yaml", "/apiVersion", json!("componentconfig/v1alpha1")),
            (Proxy, "v1.8.15", "proxy-config.yaml", "/hostnameOverride", json!("10.0.0.5")),
            (Proxy, "v1.8.15", "proxy-config.yaml", "/clientConnection/kubeconfig", json!("/etc/kubernetes/proxy.conf")),
            (Proxy, "v1.8.15", "proxy.conf", "/clusters/0/cluster/server", json!("http://10.0.0.1:9090")),
            (Proxy, "v1.9.0", "proxy-config.yaml", "/apiVersion", json!("kubeproxy.config.k8s.io/v1alpha1")),
            (Proxy, "v1.10.0", "proxy-config.yaml", "/kind", json!("KubeProxyConfiguration")),
            (Proxy, "v1.10.0", "proxy-config.yaml", "/hostnameOverride", json!("10.0.0.5")),
            (Proxy, "v1.10.0", "proxy-config.yaml", "/clientConnection/kubeconfig", json!("/etc/kubernetes/proxy.conf")),
            (Proxy, "v1.10.0", "proxy.conf", "/clusters/0/cluster/server", json!("http://10.0.0.1:9090")),
            (Proxy, "v1.27.0", "proxy-config.yaml", "/apiVersion", json!("kubeproxy.config.k8s.io/v1alpha1")),
            (Proxy, "v1.36.4", "proxy.conf", "/clusters/0/cluster/server", json!("https://10.0.0.1:6443")),
            (Proxy, "v1.36.4", "proxy.conf", "/users/0/user/client-key", json!("/etc/kubernetes/pki/proxy.key")),
            // The host settings unset: each component's default stands.
            (Kubelet, "v1.36.4", "kubelet-config.yaml", "/failCgroupV1", Value::Null),
            (Kubelet, "v1.36.4", "kubelet-config.yaml", "/protectKernelDefaults", Value::Null),
            (Proxy, "v1.36.4", "proxy-config.yaml", "/conntrack", Value::Null),
        ];
        for (component, version, file, pointer, want) in table {
            let d = doc(&plan(component, version), file);
            let got = d.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(got, want, "{component} {version} {file} {pointer}");
        }
    }

    /// Settings a table row adds to `KUBE_ARCH` and `KUBE_VERSION`.
    type Vars = &'static [(&'static str, &'static str)];
    /// Arguments, flag names or variable names a table row lists.
    type Names = &'static [&'static str];

    /// A container node's host settings, as kind sets them: cgroup v1 allowed, the kernel's
    /// tunables refused rather than changed, nf_conntrack_max left alone.
    pub(crate) const HOST: Vars = &[
        ("KUBE_KUBELET_FAIL_CGROUPV1", "false"),
        ("KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS", "true"),
        ("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "0"),
    ];

    /// Every setting that reaches a flag or field, for the evidence test (a conntrack limit that
    /// 1.7 and 1.8 write too).
    pub(crate) const EVERY_SETTING: Vars = &[
        ("KUBE_CLUSTER_CIDR", "10.244.0.0/16"),
        ("KUBE_ETCD_SERVERS", "https://127.0.0.1:2379"),
        ("KUBE_BOOTSTRAP_TOKEN", "abcdef.0123456789abcdef"),
        (
            "KUBE_DISCOVERY_TOKEN_CA_CERT_HASH",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ),
        ("KUBE_KUBELET_FAIL_CGROUPV1", "false"),
        ("KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS", "true"),
        ("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "65536"),
    ];

    /// etcd over TLS: the default from 1.20, any https `KUBE_ETCD_SERVERS` from 1.2 (the first
    /// release with the TLS flags); (version, settings, arguments wanted, flags absent, warned).
    #[test]
    fn etcd_tls_flags_follow_the_scheme_and_the_release() {
        const HTTPS: Vars = &[("KUBE_ETCD_SERVERS", "https://10.0.0.9:2379")];
        const HTTP: Vars = &[("KUBE_ETCD_SERVERS", "http://127.0.0.1:2379")];
        const TLS: &[&str] = &["--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"];
        let files = [
            "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
            "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
            "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
        ];
        type Row<'a> = (&'a str, Vars, &'a [&'a str], &'a [&'a str], bool);
        #[rustfmt::skip]
        let table: &[Row] = &[
            ("v1.19.16", &[], &["--etcd-servers=http://127.0.0.1:2379"], TLS, false),
            ("v1.20.0", &[], &["--etcd-servers=https://127.0.0.1:2379", files[0], files[1], files[2]], &[], false),
            ("v1.36.4", &[], &["--etcd-servers=https://127.0.0.1:2379", files[0], files[1], files[2]], &[], false),
            ("v1.36.4", HTTP, &["--etcd-servers=http://127.0.0.1:2379"], TLS, false),
            ("v1.2.0", HTTPS, &["--etcd-servers=https://10.0.0.9:2379", files[0], files[1], files[2]], &[], false),
            ("v1.1.8", HTTPS, &["--etcd-servers=https://10.0.0.9:2379"], TLS, true),
        ];
        for (version, extra, want, absent, warned) in table {
            let p = plan_with(Apiserver, version, extra);
            assert_args(&p, version, want, absent);
            let said = p.warnings.iter().any(|w| w.contains("--etcd-cafile"));
            assert_eq!(said, *warned, "{version}: {:?}", p.warnings);
        }
        // The files are required: exec refuses to start without them.
        let p = plan_with(Apiserver, "v1.36.4", &[]);
        for f in [
            "etcd/ca.crt",
            "apiserver-etcd-client.crt",
            "apiserver-etcd-client.key",
        ] {
            assert!(
                p.required.iter().any(|r| r.path.ends_with(f)),
                "{f} not required: {:?}",
                p.required
            );
        }
    }

    /// The host settings at each boundary: (component, version, settings, arguments wanted, flag
    /// names absent, the settings a warning names because the release has no place for them).
    #[test]
    fn host_settings_at_version_boundaries() {
        const PER_CORE: Vars = &[("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "65536")];
        const KEEP_TUNABLES: Vars = &[("KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS", "false")];
        const FAIL: &str = "KUBE_KUBELET_FAIL_CGROUPV1";
        const PROTECT: &str = "KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS";
        const CONNTRACK: &str = "KUBE_PROXY_CONNTRACK_MAX_PER_CORE";
        #[rustfmt::skip]
        let table: &[(Component, &str, Vars, Names, Names, Names)] = &[
            (Kubelet, "v1.3.10", HOST, &[], &["--protect-kernel-defaults", "--fail-cgroupv1"], &[PROTECT, FAIL]),
            (Kubelet, "v1.4.0", HOST, &["--protect-kernel-defaults=true"], &["--fail-cgroupv1"], &[FAIL]),
            (Kubelet, "v1.4.0", KEEP_TUNABLES, &["--protect-kernel-defaults=false"], &[], &[]),
            (Kubelet, "v1.9.11", HOST, &["--protect-kernel-defaults=true", "--cluster-dns=172.22.0.10"], &["--config"], &[FAIL]),
            (Kubelet, "v1.10.0", HOST, &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--protect-kernel-defaults"], &[FAIL]),
            (Kubelet, "v1.30.0", HOST, &[], &["--protect-kernel-defaults", "--fail-cgroupv1"], &[FAIL]),
            (Kubelet, "v1.31.0", HOST, &[], &["--protect-kernel-defaults", "--fail-cgroupv1"], &[]),
            (Kubelet, "v1.36.4", HOST, &["--config=/etc/kubernetes/kubelet-config.yaml"], &["--protect-kernel-defaults", "--fail-cgroupv1"], &[]),
            (Kubelet, "v1.36.4", &[], &[], &["--protect-kernel-defaults"], &[]),
            (Proxy, "v1.3.10", HOST, &["--master=http://10.0.0.1:9090"], &["--conntrack-max-per-core"], &[CONNTRACK]),
            (Proxy, "v1.4.0", HOST, &["--conntrack-max-per-core=0"], &["--config"], &[]),
            (Proxy, "v1.6.13", PER_CORE, &["--conntrack-max-per-core=65536"], &["--config"], &[]),
            (Proxy, "v1.7.0", HOST, &["--config=/etc/kubernetes/proxy-config.yaml"], &["--conntrack-max-per-core"], &[CONNTRACK]),
            (Proxy, "v1.8.15", HOST, &[], &["--conntrack-max-per-core"], &[CONNTRACK]),
            (Proxy, "v1.8.15", PER_CORE, &[], &["--conntrack-max-per-core"], &[]),
            (Proxy, "v1.9.0", HOST, &[], &["--conntrack-max-per-core"], &[]),
            (Proxy, "v1.36.4", HOST, &["--config=/etc/kubernetes/proxy-config.yaml"], &["--conntrack-max-per-core"], &[]),
        ];
        for (component, version, extra, want, absent, warned) in table {
            let p = plan_with(*component, version, extra);
            assert_args(&p, &format!("{component} {version}"), want, absent);
            for var in [FAIL, PROTECT, CONNTRACK] {
                let n = p.warnings.iter().filter(|w| w.contains(var)).count();
                let want = usize::from(warned.contains(&var));
                assert_eq!(n, want, "{component} {version} {var}: {:?}", p.warnings);
            }
        }
    }

    /// The documents with host settings: (component, version, settings, file, JSON pointer,
    /// value; `null` for absent).
    #[test]
    fn host_settings_in_config_documents() {
        use serde_json::{Value, json};
        const PER_CORE: Vars = &[("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "65536")];
        #[rustfmt::skip]
        let table: Vec<(Component, &str, Vars, &str, &str, Value)> = vec![
            (Kubelet, "v1.10.0", HOST, "kubelet-config.yaml", "/protectKernelDefaults", json!(true)),
            (Kubelet, "v1.10.0", HOST, "kubelet-config.yaml", "/failCgroupV1", Value::Null),
            (Kubelet, "v1.30.0", HOST, "kubelet-config.yaml", "/failCgroupV1", Value::Null),
            (Kubelet, "v1.31.0", HOST, "kubelet-config.yaml", "/failCgroupV1", json!(false)),
            (Kubelet, "v1.35.0", HOST, "kubelet-config.yaml", "/failCgroupV1", json!(false)),
            (Kubelet, "v1.36.4", HOST, "kubelet-config.yaml", "/failCgroupV1", json!(false)),
            (Kubelet, "v1.36.4", HOST, "kubelet-config.yaml", "/protectKernelDefaults", json!(true)),
            (Kubelet, "v1.36.4", &[("KUBE_KUBELET_FAIL_CGROUPV1", "true")], "kubelet-config.yaml", "/failCgroupV1", json!(true)),
            (Proxy, "v1.7.0", PER_CORE, "proxy-config.yaml", "/conntrack/maxPerCore", json!(65536)),
            (Proxy, "v1.7.0", HOST, "proxy-config.yaml", "/conntrack", Value::Null),
            (Proxy, "v1.8.15", HOST, "proxy-config.yaml", "/conntrack", Value::Null),
            (Proxy, "v1.9.0", HOST, "proxy-config.yaml", "/conntrack/maxPerCore", json!(0)),
            (Proxy, "v1.36.4", HOST, "proxy-config.yaml", "/conntrack", json!({"maxPerCore": 0})),
            (Proxy, "v1.36.4", PER_CORE, "proxy-config.yaml", "/conntrack/maxPerCore", json!(65536)),
        ];
        for (component, version, extra, file, pointer, want) in table {
            let d = doc(&plan_with(component, version, extra), file);
            let got = d.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(got, want, "{component} {version} {file} {pointer}");
        }
    }

    #[test]
    fn explain_says_where_each_host_setting_came_from() {
        let p = plan_with(Kubelet, "v1.36.4", HOST);
        let why = &doc_why(&p, "kubelet-config.yaml");
        assert!(
            why.contains("failCgroupV1 false (KUBE_KUBELET_FAIL_CGROUPV1 from the environment"),
            "{why}"
        );
        assert!(
            why.contains(
                "protectKernelDefaults true (KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS from the environment)"
            ),
            "{why}"
        );
        let p = plan_with(Proxy, "v1.36.4", HOST);
        let why = &doc_why(&p, "proxy-config.yaml");
        assert!(
            why.contains("conntrack.maxPerCore 0 (KUBE_PROXY_CONNTRACK_MAX_PER_CORE from the environment): nf_conntrack_max is left"),
            "{why}"
        );
        let p = plan_with(Kubelet, "v1.9.11", HOST);
        let flag = p
            .flags
            .iter()
            .find(|f| f.name == "--protect-kernel-defaults")
            .unwrap();
        assert_eq!(
            flag.why[0],
            "KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS from the environment"
        );
        let p = plan_with(Kubelet, "v1.30.0", HOST);
        assert_eq!(
            p.warnings,
            [
                "KUBE_KUBELET_FAIL_CGROUPV1 from the environment is ignored: kubelet 1.30 has no failCgroupV1 (it arrived in 1.31) and starts on cgroup v1 hosts (see docs/flags.md)"
            ]
        );
    }

    fn doc_why(p: &Plan, name: &str) -> String {
        p.files
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| f.why.clone())
            .unwrap_or_else(|| panic!("{} {}: no {name}", p.component, p.version))
    }

    #[test]
    fn a_relative_root_never_reaches_a_document() {
        let overlay = Overlay::from_config_str(Path::new("/etc/kube-bootstrap.env"), "")
            .unwrap()
            .with_env(
                [("KUBE_ARCH", "amd64"), ("KUBE_VERSION", "v1.36.4")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        let s = Settings::resolve(Path::new("sandbox"), &overlay).unwrap();
        assert!(s.root.is_absolute(), "{}", s.root.display());
        let p = compute(Kubelet, &s, &facts(), &[]).unwrap();
        for f in &p.files {
            assert!(f.path.is_absolute(), "{}", f.path.display());
            assert!(!f.content.contains("\"sandbox/"), "{}", f.content);
        }
        assert!(
            p.args().iter().all(|a| !a.contains("=sandbox/")),
            "{:?}",
            p.args()
        );
    }

    #[test]
    fn port_setting_and_leader_port_win() {
        let s = settings("v1.36.4", &[("KUBE_APISERVER_PORT", "8443")]);
        let p = compute(Apiserver, &s, &facts(), &[]).unwrap();
        assert!(p.args().contains(&"--secure-port=8443".to_string()));
        let mut f = facts();
        f.leader.as_mut().unwrap().value = parse_endpoint("leader.example:7443").unwrap();
        let p = compute(Proxy, &settings("v1.6.13", &[]), &f, &[]).unwrap();
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
        // Settings refuse such a release before any mirror is asked; flags refuse it too.
        let mut old = settings("v1.0.0", &[]);
        old.version = "v0.21.0".parse().unwrap();
        let err = compute(Kubelet, &old, &facts(), &[]).unwrap_err();
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
            text.starts_with("error: --config needs LEADER_ENDPOINT from '/etc/leader'"),
            "{text}"
        );
    }
}
