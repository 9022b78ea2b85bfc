//! `kube-bootstrap doctor`: checks a node for the usual reasons a component does not come up,
//! and prints one line per check: ok, warn or fail, what was found, and what to do.
//!
//! Checks only read: files, the kernel's addresses, a TCP connect to the leader and health
//! requests to the apiserver and etcd, each bounded by [`TIMEOUT`]. Decisions (certificate
//! expiry, range overlaps, rendering) are pure functions with tests; I/O stays in the checks.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::cidr::Cidr;
use crate::component::{self, Component};
use crate::env_vars as var;
use crate::envfile;
use crate::error::{self, Error};
use crate::fetch::{self, Paths};
use crate::flags::{self, Required};
use crate::netenv::{self, Discovery};
use crate::node::{Endpoint, FactSource, NodeFacts};
use crate::settings::{Settings, Verify};

/// Bound on each connect and on each health request's connect.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on a whole health request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Certificates that expire sooner than this are a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// flannel's lease file (inside the root).
pub const FLANNEL_SUBNET_ENV: &str = "/run/flannel/subnet.env";
/// Most of a health answer worth reading.
const MAX_BODY: usize = 4096;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `config`, `leader`, `apiserver`, `node-address`, `etcd`,
    /// `service-range`, `cgroup`, `bin-dir`, `binary`, `flags`, `file`, `certificate`.
    pub check: &'static str,
    pub status: Status,
    pub finding: String,
    pub hint: Option<String>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    components: Vec<&'static str>,
    ok: bool,
    failed: usize,
    warnings: usize,
    checks: &'a [Check],
}

/// Collects the checks' findings.
#[derive(Default)]
struct Findings(Vec<Check>);

impl Findings {
    fn push(&mut self, check: &'static str, status: Status, finding: String, hint: Option<String>) {
        self.0.push(Check {
            check,
            status,
            finding,
            hint,
        });
    }

    fn ok(&mut self, check: &'static str, finding: String) {
        self.push(check, Status::Ok, finding, None);
    }

    fn warn(&mut self, check: &'static str, finding: String, hint: impl Into<Option<String>>) {
        self.push(check, Status::Warn, finding, hint.into());
    }

    fn fail(&mut self, check: &'static str, finding: String, hint: impl Into<Option<String>>) {
        self.push(check, Status::Fail, finding, hint.into());
    }
}

/// Runs the checks relevant to `named` (every component installed on this node when empty, or
/// all five when none is), prints them, and fails when any check failed.
pub fn run(settings: Result<Settings, Error>, named: &[String], json: bool) -> Result<(), Error> {
    let mut f = Findings::default();
    let components = if !named.is_empty() {
        // Validated by clap's value parser already.
        component::expand(named).map_err(|e| Error::InvalidSetting {
            var: "COMPONENT".into(),
            value: named.join(" "),
            origin: crate::settings::Origin::Cli("COMPONENT"),
            expected: e,
        })?
    } else {
        match &settings {
            Ok(s) => default_components(s),
            Err(_) => Component::ALL.to_vec(),
        }
    };
    match settings {
        Ok(settings) => {
            f.ok("config", configured(&settings));
            check_node(&settings, &components, &mut f);
        }
        Err(e) => f.fail(
            "config",
            error::chain(&e),
            Some(match e.hint() {
                Some(h) => format!("{h}; the other checks need valid settings"),
                None => "fix the setting; the other checks need valid settings".to_string(),
            }),
        ),
    }
    let checks = f.0;
    let text = if json {
        let doc = JsonReport {
            components: components.iter().map(|c| c.name()).collect(),
            ok: !checks.iter().any(|c| c.status == Status::Fail),
            failed: count(&checks, Status::Fail),
            warnings: count(&checks, Status::Warn),
            checks: &checks,
        };
        // Serializing strings, numbers and lists cannot fail.
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    } else {
        render(&checks)
    };
    crate::explain::print(&text)?;
    match count(&checks, Status::Fail) {
        0 => Ok(()),
        failed => Err(Error::ChecksFailed {
            failed,
            total: checks.len(),
        }),
    }
}

fn count(checks: &[Check], status: Status) -> usize {
    checks.iter().filter(|c| c.status == status).count()
}

/// One line per check: status, name, finding, then the hint after `hint:`.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{:<4}  {:<13} {}",
            c.status.as_str(),
            c.check,
            c.finding
        ));
        if let Some(hint) = &c.hint {
            out.push_str(&format!("; hint: {hint}"));
        }
        out.push('\n');
    }
    out
}

/// The components whose binary is recorded as installed here; all five when none is.
fn default_components(settings: &Settings) -> Vec<Component> {
    let installed: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|&c| Paths::new(settings, c).record.exists())
        .collect();
    if installed.is_empty() {
        Component::ALL.to_vec()
    } else {
        installed
    }
}

fn configured(settings: &Settings) -> String {
    format!(
        "every setting valid: Kubernetes {} for {}",
        settings.version, settings.arch
    )
}

fn check_node(settings: &Settings, components: &[Component], f: &mut Findings) {
    let node_side = components
        .iter()
        .any(|c| matches!(c, Component::Kubelet | Component::Proxy));
    let leader_side = components.iter().any(|c| {
        matches!(
            c,
            Component::Apiserver | Component::ControllerManager | Component::Scheduler
        )
    });
    let facts = NodeFacts::load(settings);
    let discovery = match netenv::discover() {
        Ok(d) => Some(d),
        Err(e) => {
            f.warn(
                "node-address",
                format!("cannot list this node's addresses: {}", error::chain(&e)),
                None,
            );
            None
        }
    };
    let mut http = Http::new(settings.path(settings.cluster.pki_dir.join("ca.crt")));
    if node_side {
        check_leader(settings, &facts, &mut http, f);
        if let Some(d) = &discovery {
            check_node_address(settings, &facts, d, f);
        }
    }
    if leader_side {
        check_etcd(settings, &mut http, f);
    }
    check_service_range(settings, discovery.as_ref(), f);
    if components.contains(&Component::Kubelet) {
        check_cgroup(settings, f);
    }
    check_binaries(settings, components, f);
    check_flags_and_files(settings, components, &facts, f);
}

/// Whether this kubelet release starts on the host's cgroup hierarchy (see `crate::cgroup`).
fn check_cgroup(settings: &Settings, f: &mut Findings) {
    let minor = flags::rules_minor(&settings.version);
    match crate::cgroup::detect(&settings.root) {
        Ok(Some(h)) => match crate::cgroup::kubelet_problem(minor, h) {
            Some((finding, hint)) => f.fail("cgroup", finding, hint),
            None => f.ok("cgroup", format!("kubelet 1.{minor} starts on {h}")),
        },
        Ok(None) => {}
        Err(e) => f.warn(
            "cgroup",
            format!(
                "cannot tell the cgroup hierarchy of '{}': {e}",
                crate::cgroup::CGROUP_DIR
            ),
            None,
        ),
    }
}

// ---- leader ----------------------------------------------------------------------------------

/// The minor release whose topology applies (newer than known: the newest known).
fn rules_minor(settings: &Settings) -> u32 {
    let v = &settings.version;
    if v.major > 1 || v.minor > flags::NEWEST_KNOWN_MINOR {
        flags::NEWEST_KNOWN_MINOR
    } else {
        v.minor
    }
}

/// The apiserver base URL node components use, as `flags` computes it.
fn apiserver_url(settings: &Settings, endpoint: &Endpoint) -> (String, u16) {
    let minor = rules_minor(settings);
    let default_port =
        settings
            .cluster
            .apiserver_port
            .unwrap_or(if minor < 20 { 9090 } else { 6443 });
    let scheme = if minor < 20 { "http" } else { "https" };
    let port = endpoint.port.unwrap_or(default_port);
    (endpoint.url(scheme, default_port), port)
}

fn check_leader(settings: &Settings, facts: &NodeFacts, http: &mut Http, f: &mut Findings) {
    let leader = match &facts.leader {
        Ok(known) => known,
        Err(e) => {
            let hint = format!(
                "write LEADER_ENDPOINT=<apiserver host> to '{}' (or point {} elsewhere)",
                settings.path(&settings.node.leader_file).display(),
                var::KUBE_LEADER_FILE
            );
            f.fail("leader", e.to_string(), hint);
            return;
        }
    };
    let (url, port) = apiserver_url(settings, &leader.value);
    f.ok(
        "leader",
        format!("the apiserver is {url} ({})", leader.source),
    );
    let host = leader.value.host.as_str();
    match connect(host, port, TIMEOUT) {
        Ok((addr, took)) => f.ok(
            "apiserver",
            format!("{addr} accepts TCP connections ({} ms)", took.as_millis()),
        ),
        Err(why) => {
            f.fail(
                "apiserver",
                format!("cannot connect to {host} port {port} within {} s: {why}", TIMEOUT.as_secs()),
                "check that kube-apiserver runs on the leader, that LEADER_ENDPOINT is its address, and that no firewall drops the port".to_string(),
            );
            return;
        }
    }
    let ca = http.ca.clone();
    let client = match http.client() {
        Ok(c) => c,
        Err(why) => {
            f.warn("apiserver", format!("health not checked: {why}"), None);
            return;
        }
    };
    let mut path = "/readyz";
    let mut answer = client.get(&format!("{url}{path}"));
    // Before 1.16 there is no /readyz.
    if matches!(answer, Ok((404, _))) {
        path = "/healthz";
        answer = client.get(&format!("{url}{path}"));
    }
    match answer {
        Ok((200, _)) => f.ok("apiserver", format!("GET {url}{path}: 200")),
        Ok((status @ (401 | 403), _)) => f.warn(
            "apiserver",
            format!("GET {url}{path}: {status}, anonymous requests are refused; readiness not checked"),
            None,
        ),
        Ok((status, body)) => f.fail(
            "apiserver",
            format!("GET {url}{path}: {status}: {}", excerpt(&body)),
            "the apiserver answers but is not ready: see 'journalctl -u kube-apiserver' on the leader".to_string(),
        ),
        Err(why) => f.warn(
            "apiserver",
            format!("GET {url}{path} failed: {why}"),
            (url.starts_with("https")).then(|| {
                format!("is '{}' the cluster's CA?", ca.display())
            }),
        ),
    }
}

/// Connects to `host:port`, trying each address.
fn connect(host: &str, port: u16, within: Duration) -> Result<(SocketAddr, Duration), String> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => resolve(host, within)?
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
    };
    let mut last = format!("'{host}' has no address");
    for addr in addrs {
        let started = Instant::now();
        match TcpStream::connect_timeout(&addr, within) {
            Ok(_) => return Ok((addr, started.elapsed())),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// Resolves a host name the way `fetch` does (hickory: /etc/hosts and /etc/resolv.conf), not
/// through glibc's NSS, which a static binary cannot load reliably.
fn resolve(host: &str, within: Duration) -> Result<Vec<IpAddr>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot resolve '{host}': {e}"))?;
    runtime.block_on(async {
        let resolver = hickory_resolver::TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the resolver configuration: {e}"))?
            .build();
        match tokio::time::timeout(within, resolver.lookup_ip(host)).await {
            Err(_) => Err(format!(
                "cannot resolve '{host}' within {}s",
                within.as_secs()
            )),
            Ok(Err(e)) => Err(format!("cannot resolve '{host}': {e}")),
            Ok(Ok(found)) => Ok(found.iter().collect()),
        }
    })
}

/// The first line of a body, shortened.
fn excerpt(body: &str) -> String {
    let line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(120).collect();
    if out.len() < line.len() {
        out.push_str("...");
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

// ---- node address ----------------------------------------------------------------------------

fn check_node_address(settings: &Settings, facts: &NodeFacts, d: &Discovery, f: &mut Findings) {
    let env_file = settings.path(&settings.node.network_env_file);
    let regenerate = format!(
        "run 'kube-bootstrap network-env --output {}' (or restart setup-network-environment)",
        settings.node.network_env_file.display()
    );
    let known = match &facts.node_ip {
        Ok(known) => known,
        Err(e) => {
            let hint = match e {
                crate::node::FactError::Undiscovered { .. } => format!(
                    "give the node a default route, write DEFAULT_IPV4=<address> to '{}', or set {}",
                    env_file.display(),
                    var::KUBE_NODE_IP
                ),
                _ => format!("{regenerate}, or set {}", var::KUBE_NODE_IP),
            };
            f.fail("node-address", e.to_string(), hint);
            return;
        }
    };
    let ip = known.value;
    let Some(owner) = d.owner(ip) else {
        let hint = match &known.source {
            FactSource::Setting { var, .. } => format!("set {var} to one of this node's addresses"),
            _ => format!("the file is stale: {regenerate}"),
        };
        f.fail(
            "node-address",
            format!(
                "{ip} ({}) is not assigned to any interface of this node; it has {}",
                known.source,
                d.describe()
            ),
            hint,
        );
        return;
    };
    let current = d.default_ipv4().ok();
    match (&known.source, current) {
        (FactSource::File { .. }, Some((now, iface))) if IpAddr::V4(now) != ip => f.warn(
            "node-address",
            format!(
                "{ip} ({}) is assigned to {owner}, but the default route now goes through {iface} ({now})",
                known.source
            ),
            format!("if the node moved, {regenerate}"),
        ),
        _ => f.ok(
            "node-address",
            format!("{ip} ({}) is assigned to {owner}", known.source),
        ),
    }
}

// ---- etcd ------------------------------------------------------------------------------------

fn check_etcd(settings: &Settings, http: &mut Http, f: &mut Findings) {
    for server in settings.cluster.etcd_servers.split(',').map(str::trim) {
        let url = format!("{}/health", server.trim_end_matches('/'));
        let hint = || {
            Some(format!(
                "start etcd beside the apiserver, or fix {}",
                var::KUBE_ETCD_SERVERS
            ))
        };
        let client = match http.client() {
            Ok(c) => c,
            Err(why) => {
                f.warn("etcd", format!("{url} not checked: {why}"), None);
                continue;
            }
        };
        match client.get(&url) {
            Ok((200, body)) if etcd_healthy(&body) => f.ok("etcd", format!("GET {url}: healthy")),
            Ok((status, body)) => f.fail(
                "etcd",
                format!("GET {url}: {status}, not healthy: {}", excerpt(&body)),
                Some("see etcd's log ('journalctl -u etcd')".to_string()),
            ),
            Err(why) => f.fail("etcd", format!("GET {url} failed: {why}"), hint()),
        }
    }
}

/// etcd's `/health` answer: `{"health":"true"}` (3.4 and later add a `reason`).
pub fn etcd_healthy(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("health").cloned())
        .is_some_and(|h| h == "true" || h == true)
}

// ---- service range ---------------------------------------------------------------------------

/// `FLANNEL_NETWORK` from flannel's `subnet.env` text.
pub fn parse_flannel_network(text: &str) -> Option<Cidr> {
    envfile::parse_str(text)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "FLANNEL_NETWORK")
        .and_then(|(_, v)| Cidr::parse_lenient(&v))
}

/// The named networks that overlap `range`.
pub fn conflicts<'a>(range: &Cidr, others: &'a [(String, Cidr)]) -> Vec<&'a (String, Cidr)> {
    others.iter().filter(|(_, c)| range.overlaps(c)).collect()
}

fn check_service_range(settings: &Settings, d: Option<&Discovery>, f: &mut Findings) {
    let range = settings.cluster.service_range;
    let mut others: Vec<(String, Cidr)> = Vec::new();
    let flannel = settings.path(FLANNEL_SUBNET_ENV);
    match std::fs::read_to_string(&flannel) {
        Ok(text) => match parse_flannel_network(&text) {
            Some(net) => others.push((format!("FLANNEL_NETWORK in '{}'", flannel.display()), net)),
            None => f.warn(
                "service-range",
                format!("'{}' has no valid FLANNEL_NETWORK", flannel.display()),
                None,
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => f.warn(
            "service-range",
            format!("cannot read '{}': {e}", flannel.display()),
            None,
        ),
    }
    if let Some(cidr) = settings.cluster.cluster_cidr {
        others.push((var::KUBE_CLUSTER_CIDR.to_string(), cidr));
    }
    for iface in d.map(|d| d.interfaces.as_slice()).unwrap_or_default() {
        for (ip, prefix) in &iface.addrs {
            if let Some(net) = Cidr::network_of(*ip, *prefix) {
                others.push((format!("the network of {ip} on {}", iface.name), net));
            }
        }
    }
    let found = conflicts(&range, &others);
    for (what, net) in &found {
        f.fail(
            "service-range",
            format!(
                "{} {range} overlaps {net}, {what}",
                var::KUBE_SERVICE_CLUSTER_IP_RANGE
            ),
            Some(format!(
                "choose a {} that no pod or node network uses",
                var::KUBE_SERVICE_CLUSTER_IP_RANGE
            )),
        );
    }
    if found.is_empty() {
        let compared: Vec<String> = others
            .iter()
            .filter(|(w, _)| !w.starts_with("the network of"))
            .map(|(w, n)| format!("{n} ({w})"))
            .collect();
        let nets = others.len() - compared.len();
        let mut finding = format!(
            "{} {range} overlaps none of the node's {nets} interface networks",
            var::KUBE_SERVICE_CLUSTER_IP_RANGE
        );
        if !compared.is_empty() {
            finding.push_str(&format!(", nor {}", compared.join(", ")));
        }
        f.ok("service-range", finding);
    }
}

// ---- binaries --------------------------------------------------------------------------------

/// Whether a mode lets group or others write.
fn writable_by_others(mode: u32) -> bool {
    mode & 0o022 != 0
}

fn check_binaries(settings: &Settings, components: &[Component], f: &mut Findings) {
    let bin_dir = settings.path(&settings.bin_dir);
    match std::fs::metadata(&bin_dir) {
        Ok(m) if writable_by_others(m.permissions().mode()) => f.fail(
            "bin-dir",
            format!(
                "'{}' is writable by group or others (mode {:04o}): they can replace what exec runs",
                bin_dir.display(),
                m.permissions().mode() & 0o7777
            ),
            format!("chmod go-w '{}'", bin_dir.display()),
        ),
        Ok(m) => f.ok(
            "bin-dir",
            format!(
                "'{}' is writable by its owner only (mode {:04o})",
                bin_dir.display(),
                m.permissions().mode() & 0o7777
            ),
        ),
        Err(e) => f.warn(
            "bin-dir",
            format!("cannot inspect '{}': {e}", bin_dir.display()),
            None,
        ),
    }
    let mut full = settings.clone();
    full.verify = Verify::Full;
    for &c in components {
        let target = Paths::new(settings, c).target;
        match fetch::verify_installed(&full, c) {
            Ok(record) => {
                let mode = std::fs::metadata(&target)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                if writable_by_others(mode) {
                    f.fail(
                        "binary",
                        format!(
                            "'{}' is writable by group or others (mode {:04o})",
                            target.display(),
                            mode & 0o7777
                        ),
                        format!("chmod go-w '{}'", target.display()),
                    );
                } else {
                    f.ok(
                        "binary",
                        format!(
                            "'{}' is {} {} as recorded (sha256 {}, re-hashed)",
                            target.display(),
                            c.binary(),
                            record.version,
                            record.sha256
                        ),
                    );
                }
            }
            Err(stale) => f.fail(
                "binary",
                format!("'{}': {stale}", target.display()),
                format!("run 'kube-bootstrap fetch {}'", c.name()),
            ),
        }
    }
}

// ---- flags and the files they need -----------------------------------------------------------

fn check_flags_and_files(
    settings: &Settings,
    components: &[Component],
    facts: &NodeFacts,
    f: &mut Findings,
) {
    let mut required: Vec<Required> = Vec::new();
    for &c in components {
        match flags::compute(c, settings, facts, &[]) {
            Ok(plan) => {
                f.ok(
                    "flags",
                    format!(
                        "{} flags computed ({} arguments, rules of Kubernetes {})",
                        c.binary(),
                        plan.flags.len(),
                        plan.rules
                    ),
                );
                for w in &plan.warnings {
                    f.warn("flags", w.clone(), None);
                }
                for r in plan.required {
                    match required.iter_mut().find(|q| q.path == r.path) {
                        Some(q) => {
                            for flag in r.flag.split(", ") {
                                if !q.flag.split(", ").any(|known| known == flag) {
                                    q.flag = format!("{}, {flag}", q.flag);
                                }
                            }
                        }
                        None => required.push(r),
                    }
                }
            }
            Err(e) => f.fail(
                "flags",
                format!("{}: {}", c.binary(), error::chain(&e)),
                e.hint(),
            ),
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for r in &required {
        check_file(r, now, f);
    }
    // Identity, names, chain and key pairs of KUBE_PKI_DIR, as 'kube-bootstrap pki check' reads them.
    if required
        .iter()
        .any(|r| r.path.starts_with(settings.path(&settings.cluster.pki_dir)))
    {
        use crate::pki::check::Level;
        for c in crate::pki::check::findings(settings) {
            let status = match c.level {
                Level::Ok => Status::Ok,
                Level::Warn => Status::Warn,
                Level::Fail => Status::Fail,
            };
            f.push(
                "pki",
                status,
                format!("'{}' {}", c.path.display(), c.text),
                c.hint,
            );
        }
    }
}

fn check_file(r: &Required, now: i64, f: &mut Findings) {
    let path = &r.path;
    let cert_hint = || Some(crate::pki::command_for(path));
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            f.fail(
                "file",
                format!("'{}' ({}) cannot be read: {e}", path.display(), r.flag),
                cert_hint(),
            );
            return;
        }
    };
    match certificate_expiry(&bytes) {
        Ok(Some(not_after)) => {
            let (status, text) = expiry(not_after, now);
            let finding = format!("'{}' ({}) {text}", path.display(), r.flag);
            let hint = (status != Status::Ok).then(|| crate::pki::command_for(path));
            f.push("certificate", status, finding, hint);
        }
        Ok(None) if path.extension().is_some_and(|e| e == "crt") => f.fail(
            "certificate",
            format!("'{}' ({}) holds no PEM certificate", path.display(), r.flag),
            cert_hint(),
        ),
        Ok(None) => {
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            let private = String::from_utf8_lossy(&bytes).contains("PRIVATE KEY-----");
            if private && mode & 0o044 != 0 {
                f.warn(
                    "file",
                    format!(
                        "'{}' ({}) holds a private key readable by group or others (mode {:04o})",
                        path.display(),
                        r.flag,
                        mode & 0o7777
                    ),
                    format!("chmod 600 '{}'", path.display()),
                );
            } else {
                f.ok(
                    "file",
                    format!("'{}' ({}) is readable", path.display(), r.flag),
                );
            }
        }
        Err(why) => f.fail(
            "certificate",
            format!("'{}' ({}): {why}", path.display(), r.flag),
            cert_hint(),
        ),
    }
}

/// The earliest `notAfter` (Unix seconds) of the PEM certificates in `bytes`; `None` when it
/// holds none.
pub fn certificate_expiry(bytes: &[u8]) -> Result<Option<i64>, String> {
    let mut earliest: Option<i64> = None;
    for pem in x509_parser::pem::Pem::iter_from_buffer(bytes) {
        let pem = pem.map_err(|e| format!("invalid PEM: {e}"))?;
        if pem.label != "CERTIFICATE" {
            continue;
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("invalid X.509 certificate: {e}"))?;
        let t = cert.validity().not_after.timestamp();
        earliest = Some(earliest.map_or(t, |e| e.min(t)));
    }
    Ok(earliest)
}

/// The verdict on a certificate that is valid until `not_after`, at `now` (Unix seconds).
pub fn expiry(not_after: i64, now: i64) -> (Status, String) {
    let date = format_utc(not_after);
    let left = not_after - now;
    if left <= 0 {
        (
            Status::Fail,
            format!("expired on {date} ({} days ago)", (-left) / 86_400),
        )
    } else if left < EXPIRY_WARNING_DAYS * 86_400 {
        (
            Status::Warn,
            format!("expires on {date}, in {} days", left / 86_400),
        )
    } else {
        (Status::Ok, format!("is valid until {date}"))
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds (civil-from-days, proleptic Gregorian).
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---- HTTP ------------------------------------------------------------------------------------

/// A blocking GET on top of the async client, built on first use; it trusts the cluster's CA
/// (`ca`, when readable) besides the system roots.
struct Http {
    ca: PathBuf,
    built: Option<Result<Client, String>>,
}

struct Client {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new(ca: PathBuf) -> Http {
        Http { ca, built: None }
    }

    fn client(&mut self) -> Result<&Client, String> {
        let ca = &self.ca;
        let built = self.built.get_or_insert_with(|| build(ca));
        built.as_ref().map_err(Clone::clone)
    }
}

fn build(ca: &Path) -> Result<Client, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("kube-bootstrap/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .hickory_dns(true)
        // Health endpoints are on the cluster's own network: never through a proxy.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none());
    if let Ok(pem) = std::fs::read(ca) {
        for cert in reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default() {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder.build().map_err(|e| error::chain(&e))?;
    Ok(Client { runtime, client })
}

impl Client {
    /// GET `url`: the status and the start of the body, or why there is no answer.
    fn get(&self, url: &str) -> Result<(u16, String), String> {
        self.runtime.block_on(async {
            let mut resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| error::chain(&e))?;
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            while body.len() < MAX_BODY {
                match resp.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(e) => return Err(error::chain(&e)),
                }
            }
            Ok((status, String::from_utf8_lossy(&body).into_owned()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_expire_in_three_steps() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert_eq!(expiry(now + 365 * day, now).0, Status::Ok);
        assert_eq!(expiry(now + 31 * day, now).0, Status::Ok);
        let (s, text) = expiry(now + 29 * day, now);
        assert_eq!(s, Status::Warn);
        assert!(text.contains("in 29 days"), "{text}");
        let (s, text) = expiry(now - 2 * day, now);
        assert_eq!(s, Status::Fail);
        assert!(text.contains("expired on"), "{text}");
        assert_eq!(expiry(now, now).0, Status::Fail);
    }

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(-86_400), "1969-12-31 00:00:00 UTC");
    }

    #[test]
    fn etcd_health_answers() {
        assert!(etcd_healthy(r#"{"health":"true"}"#));
        assert!(etcd_healthy(r#"{"health":"true","reason":""}"#));
        assert!(etcd_healthy(r#"{"health":true}"#));
        assert!(!etcd_healthy(
            r#"{"health":"false","reason":"RAFT NO LEADER"}"#
        ));
        assert!(!etcd_healthy("ok"));
        assert!(!etcd_healthy(""));
    }

    #[test]
    fn flannel_network_is_read_from_subnet_env() {
        let text = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";
        assert_eq!(
            parse_flannel_network(text).map(|c| c.to_string()),
            Some("10.244.0.0/16".to_string())
        );
        assert_eq!(
            parse_flannel_network("FLANNEL_SUBNET=10.244.3.1/24\n"),
            None
        );
        assert_eq!(parse_flannel_network("FLANNEL_NETWORK=banana\n"), None);
    }

    #[test]
    fn service_range_conflicts_name_the_other_network() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        let others = vec![
            ("flannel".to_string(), c("10.244.0.0/16")),
            ("eth0".to_string(), c("172.22.5.0/24")),
            ("lo".to_string(), c("127.0.0.0/8")),
        ];
        let found = conflicts(&c("172.22.0.0/16"), &others);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "eth0");
        assert!(conflicts(&c("10.96.0.0/12"), &others).is_empty());
        assert_eq!(conflicts(&c("10.0.0.0/8"), &others)[0].0, "flannel");
    }

    #[test]
    fn render_puts_status_check_finding_and_hint_on_one_line() {
        let checks = vec![
            Check {
                check: "config",
                status: Status::Ok,
                finding: "settings valid".into(),
                hint: None,
            },
            Check {
                check: "etcd",
                status: Status::Fail,
                finding: "GET http://127.0.0.1:2379/health failed: connection refused".into(),
                hint: Some("start etcd".into()),
            },
        ];
        assert_eq!(
            render(&checks),
            "ok    config        settings valid\n\
             fail  etcd          GET http://127.0.0.1:2379/health failed: connection refused; hint: start etcd\n"
        );
    }

    #[test]
    fn files_without_certificates_have_no_expiry() {
        assert_eq!(certificate_expiry(b"not a certificate\n"), Ok(None));
        assert_eq!(
            certificate_expiry(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Ok(None)
        );
        assert!(
            certificate_expiry(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }

    fn settings(config: &str) -> Settings {
        let overlay =
            crate::settings::Overlay::from_config_str(Path::new("/etc/kube-bootstrap.env"), config)
                .unwrap()
                .with_env([("KUBE_ARCH".to_string(), "amd64".to_string())].into());
        Settings::resolve(Path::new("/"), &overlay).unwrap()
    }

    #[test]
    fn apiserver_url_follows_the_version_topology() {
        let e = |s: &str| crate::node::parse_endpoint(s).unwrap();
        for (config, endpoint, url, port) in [
            (
                "KUBE_VERSION=v1.36.4",
                "10.0.0.1",
                "https://10.0.0.1:6443",
                6443,
            ),
            (
                "KUBE_VERSION=v1.19.0",
                "10.0.0.1",
                "http://10.0.0.1:9090",
                9090,
            ),
            (
                "KUBE_VERSION=v1.40.0",
                "10.0.0.1",
                "https://10.0.0.1:6443",
                6443,
            ),
            (
                "KUBE_VERSION=v1.36.4",
                "10.0.0.1:7443",
                "https://10.0.0.1:7443",
                7443,
            ),
            (
                "KUBE_VERSION=v1.36.4\nKUBE_APISERVER_PORT=8443",
                "leader",
                "https://leader:8443",
                8443,
            ),
            (
                "KUBE_VERSION=v1.36.4",
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                8080,
            ),
        ] {
            let s = settings(config);
            assert_eq!(
                apiserver_url(&s, &e(endpoint)),
                (url.to_string(), port),
                "{config} {endpoint}"
            );
        }
    }
}
