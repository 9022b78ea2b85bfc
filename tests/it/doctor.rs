//! `doctor` on real nodes: each test runs it inside a network namespace of its own, with the
//! leader's apiserver played by a listener on 127.0.0.1 in that namespace, a real etcd,
//! certificates made by `kube-bootstrap pki` (and openssl where they must be broken), and
//! flannel's lease file.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::netenv::Netns;
use crate::support::cmd::Outcome;
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, fake, kb};

/// The node's address inside its namespace.
const NODE_IP: &str = "10.213.0.2";

/// An apiserver stand-in: answers `GET /readyz` with `status` (200 unless changed), `GET
/// /version` with `version` (the installed kubelet's v1.36.4 unless changed), and everything
/// else with 404.
struct Apiserver {
    port: u16,
    status: Arc<AtomicU16>,
    version: Arc<std::sync::Mutex<String>>,
}

impl Apiserver {
    fn start(listener: TcpListener) -> Apiserver {
        let port = listener.local_addr().unwrap().port();
        let status = Arc::new(AtomicU16::new(200));
        let answer = Arc::clone(&status);
        let version = Arc::new(std::sync::Mutex::new("v1.36.4".to_string()));
        let release = Arc::clone(&version);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(n) if n > 2 => {}
                        _ => break,
                    }
                }
                let (code, body) = if request.starts_with("GET /readyz ") {
                    match answer.load(Ordering::SeqCst) {
                        200 => (200, "ok".to_string()),
                        c => (c, "[-]etcd failed: reason withheld".to_string()),
                    }
                } else if request.starts_with("GET /version ") {
                    let git = release.lock().unwrap().clone();
                    let minor = git.split('.').nth(1).unwrap_or("0").to_string();
                    let body = format!(
                        r#"{{"major":"1","minor":"{minor}","gitVersion":"{git}","platform":"linux/amd64"}}"#
                    );
                    (200, body)
                } else {
                    (404, "not found".to_string())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Apiserver {
            port,
            status,
            version,
        }
    }
}

/// A worker node in its own namespace: the fake kubelet installed, `/etc/leader` pointing at
/// the apiserver stand-in, `/etc/network-environment`, and valid certificates.
struct Node {
    ns: Netns,
    sb: Sandbox,
    /// The leader whose `pki init` made the cluster CA that signs this node's bundle.
    leader: Sandbox,
    mirror: Mirror,
    apiserver: Apiserver,
}

impl Node {
    fn new() -> Option<Node> {
        let ns = Netns::create()?;
        ns.veth("kb-d", "kb-d-peer", &format!("{NODE_IP}/24"), None);
        ns.ip(&["route", "add", "default", "via", "10.213.0.1"]);
        let apiserver = Apiserver::start(ns.listen());
        let sb = Sandbox::new();
        let mirror = Mirror::start();
        let leader = Sandbox::new();
        fs::create_dir_all(leader.root().join("etc")).unwrap();
        fs::write(
            leader.root().join("etc/leader"),
            "LEADER_ENDPOINT=10.213.0.1\n",
        )
        .unwrap();
        kb(leader.root())
            .env("KUBE_NODE_IP", "10.213.0.1")
            .args(&["pki", "init"])
            .run()
            .success();
        let node = Node {
            ns,
            sb,
            leader,
            mirror,
            apiserver,
        };
        node.write(
            "etc/leader",
            &format!("LEADER_ENDPOINT=http://127.0.0.1:{}\n", node.apiserver.port),
        );
        node.write(
            "etc/network-environment",
            &format!("LO_IPV4=127.0.0.1\nKB_D_IPV4={NODE_IP}\nDEFAULT_IPV4={NODE_IP}\n"),
        );
        node.mirror.publish(VERSION, "kubelet", &fake::bytes());
        kb(node.root())
            .mirrors(&[&node.mirror.url()])
            .allow_http()
            .env("KUBE_NODE_IP", "127.0.0.1")
            .fetch(&["kubelet"])
            .run()
            .success();
        node.install_bundle(365);
        for path in node.required("kubelet") {
            assert!(path.exists(), "{} not provided", path.display());
        }
        Some(node)
    }

    fn root(&self) -> &Path {
        self.sb.root()
    }

    /// The README's steps: `pki node` on the leader (leaves valid for `days`), then
    /// `pki install` on this node.
    fn install_bundle(&self, days: u32) {
        kb(self.leader.root())
            .env("KUBE_PKI_CERT_DAYS", days.to_string())
            // Short-lived leaves need a renewal window shorter than their life.
            .env("KUBE_PKI_RENEW_BEFORE", (days / 2).max(1).to_string())
            .in_dir(self.leader.root())
            .args(&["pki", "node", NODE_IP, "--out", "bundle.tar"])
            .run()
            .success();
        fs::copy(
            self.leader.root().join("bundle.tar"),
            self.root().join("bundle.tar"),
        )
        .unwrap();
        kb(self.root())
            .in_dir(self.root())
            .args(&["pki", "install", "bundle.tar"])
            .run()
            .success();
    }

    fn write(&self, rel: &str, content: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// The files the component's flags need, as `flags --json` lists them.
    fn required(&self, component: &str) -> Vec<PathBuf> {
        let out = kb(self.root())
            .env("KUBE_NODE_IP", "127.0.0.1")
            .args(&["flags", component, "--json"])
            .run();
        out.success();
        let plan: Value = serde_json::from_str(&out.stdout).unwrap();
        plan["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| PathBuf::from(r["path"].as_str().unwrap()))
            .collect()
    }

    /// `doctor ARGS... --json` inside the namespace, with `env`.
    fn doctor(&self, args: &[&str], env: &[(&str, &str)]) -> Report {
        let mut cmd = self.ns.kb(&self.sb).args(&["doctor", "--json"]).args(args);
        for (k, v) in env {
            cmd = cmd.env(k, *v);
        }
        let out = cmd.run();
        let doc: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e})\n{out}"));
        Report { out, doc }
    }
}

/// A doctor run: its outcome and its JSON.
struct Report {
    out: Outcome,
    doc: Value,
}

impl Report {
    /// `(status, finding, hint)` of every check named `check`.
    fn checks(&self, check: &str) -> Vec<(String, String, String)> {
        self.doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == check)
            .map(|c| {
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["finding"].as_str().unwrap().to_string(),
                    c["hint"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The one check named `check` whose finding contains `needle`.
    fn one(&self, check: &str, needle: &str) -> (String, String, String) {
        let found: Vec<_> = self
            .checks(check)
            .into_iter()
            .filter(|(_, f, _)| f.contains(needle))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {check} check mentioning {needle:?}\n{}",
            self.out
        );
        found.into_iter().next().unwrap()
    }

    /// Asserts that `check` (the one mentioning `needle`) has `status`.
    fn expect(&self, check: &str, needle: &str, status: &str) -> (String, String) {
        let (s, finding, hint) = self.one(check, needle);
        assert_eq!(s, status, "{check}: {finding}\n{}", self.out);
        (finding, hint)
    }

    fn exit(&self) -> Option<i32> {
        self.out.code()
    }
}

fn run(program: &str, args: &[&str], more: &[&std::ffi::OsStr]) {
    let out = Command::new(program)
        .args(args)
        .args(more)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} {more:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate valid for `days` from now (negative: expired that many days
/// ago), and its key.
fn certificate(cert: &Path, key: &Path, days: i32) {
    fs::create_dir_all(cert.parent().unwrap()).unwrap();
    run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=kube-bootstrap-test",
            "-days",
            "1",
            "-keyout",
        ],
        &[key.as_os_str(), "-out".as_ref(), cert.as_os_str()],
    );
    // `openssl req -days` refuses what `openssl x509 -days` accepts: re-sign for the span.
    let days = days.to_string();
    let resigned = cert.with_extension("resigned");
    run(
        "openssl",
        &["x509", "-days", &days, "-signkey"],
        &[
            key.as_os_str(),
            "-in".as_ref(),
            cert.as_os_str(),
            "-out".as_ref(),
            resigned.as_os_str(),
        ],
    );
    fs::rename(&resigned, cert).unwrap();
    let expired = !Command::new("openssl")
        .args(["x509", "-noout", "-checkend", "0", "-in"])
        .arg(cert)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert_eq!(
        expired,
        days.starts_with('-'),
        "openssl made a certificate with the wrong validity ({days} days)"
    );
}

#[test]
fn doctor_passes_a_healthy_worker_and_exits_0() {
    let Some(node) = Node::new() else { return };
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(0), "{}", r.out);
    assert_eq!(r.doc["ok"], true);
    assert_eq!(r.doc["components"], serde_json::json!(["kubelet"]));
    // The stand-in apiserver speaks plain HTTP, which 1.20+ apiservers do not: said, with a hint.
    for c in r.doc["checks"].as_array().unwrap() {
        if c["check"] == "leader" && c["status"] == "warn" {
            continue;
        }
        // The sandbox has no cgroup filesystem: the check says it skipped the host.
        if c["check"] == "cgroup" && c["status"] == "skip" {
            continue;
        }
        assert_eq!(c["status"], "ok", "{c}\n{}", r.out);
    }
    let (_, hint) = r.expect("leader", "asks for http://", "warn");
    assert!(hint.contains("LEADER_ENDPOINT=https://127.0.0.1"), "{hint}");
    r.expect("leader", "http://127.0.0.1:", "ok");
    r.expect("apiserver", "accepts TCP connections", "ok");
    r.expect("apiserver", "/readyz: 200", "ok");
    r.expect(
        "node-address",
        &format!("{NODE_IP} (DEFAULT_IPV4 from"),
        "ok",
    );
    r.expect("binary", "kubelet v1.36.4 as recorded", "ok");
    r.expect("certificate", "kubelet.crt", "ok");

    // Without components: those installed on this node.
    let r = node.doctor(&[], &[]);
    assert_eq!(
        r.doc["components"],
        serde_json::json!(["kubelet"]),
        "{}",
        r.out
    );
    assert_eq!(r.exit(), Some(0), "{}", r.out);

    // The text form: one line per check, status first.
    let out = node.ns.kb(&node.sb).args(&["doctor", "kubelet"]).run();
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), r.doc["checks"].as_array().unwrap().len());
    assert!(
        lines.iter().all(|l| l.starts_with("ok    ")
            || l.starts_with("warn  leader        LEADER_ENDPOINT")
            || l.starts_with("skip  cgroup ")),
        "{out}"
    );
}

#[test]
fn doctor_on_a_worker_checks_skew_against_the_apiservers_version() {
    let Some(node) = Node::new() else { return };
    let r = node.doctor(&["kubelet"], &[]);
    r.expect(
        "skew",
        "within the version-skew policy: kube-apiserver v1.36.4 (its /version), kubelet v1.36.4",
        "ok",
    );
    // A leader older than the installed kubelet: the policy is broken, both versions named.
    *node.apiserver.version.lock().unwrap() = "v1.35.2".to_string();
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("skew", "installed kubelet v1.36.4 is newer than", "fail");
    assert!(
        finding.contains("kube-apiserver v1.35.2 (its /version)"),
        "{finding}"
    );
    assert!(hint.contains("KUBE_VERSION="), "{hint}");
}

#[test]
fn doctor_fails_a_stale_default_ipv4_and_lists_the_nodes_addresses() {
    let Some(node) = Node::new() else { return };
    node.write("etc/network-environment", "DEFAULT_IPV4=10.213.0.77\n");
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    r.out.mentions("error: ").mentions("doctor checks failed");
    let (finding, hint) = r.expect("node-address", "10.213.0.77", "fail");
    assert!(
        finding.contains("not assigned to any interface"),
        "{finding}"
    );
    assert!(finding.contains(&format!("{NODE_IP} (kb-d)")), "{finding}");
    assert!(
        hint.contains("kube-bootstrap network-env --output"),
        "{hint}"
    );

    // KUBE_NODE_IP that is not the node's is the same mistake, with another hint.
    let r = node.doctor(&["kubelet"], &[("KUBE_NODE_IP", "10.213.0.78")]);
    let (_, hint) = r.expect("node-address", "10.213.0.78", "fail");
    assert!(hint.contains("KUBE_NODE_IP"), "{hint}");

    // Without the file, the address is discovered and right.
    fs::remove_file(node.root().join("etc/network-environment")).unwrap();
    let r = node.doctor(&["kubelet"], &[]);
    r.expect("node-address", "discovered from the kernel", "ok");
    assert_eq!(r.exit(), Some(0), "{}", r.out);
}

#[test]
fn doctor_fails_when_the_apiserver_refuses_or_is_not_ready() {
    let Some(node) = Node::new() else { return };
    node.apiserver.status.store(500, Ordering::SeqCst);
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    r.expect("apiserver", "accepts TCP connections", "ok");
    let (finding, _) = r.expect("apiserver", "/readyz: 500", "fail");
    assert!(finding.contains("etcd failed"), "{finding}");

    // A port nobody listens on, in the node's own namespace.
    let closed = node.ns.listen().local_addr().unwrap().port();
    node.write(
        "etc/leader",
        &format!("LEADER_ENDPOINT=http://127.0.0.1:{closed}\n"),
    );
    let started = Instant::now();
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("apiserver", "cannot connect", "fail");
    assert!(finding.contains("refused"), "{finding}");
    assert!(hint.contains("kube-apiserver"), "{hint}");
    assert!(started.elapsed() < Duration::from_secs(10));

    fs::remove_file(node.root().join("etc/leader")).unwrap();
    let r = node.doctor(&["kubelet"], &[]);
    let (_, hint) = r.expect("leader", "etc/leader", "fail");
    assert!(hint.contains("LEADER_ENDPOINT="), "{hint}");
}

/// etcd run by the test inside `ns` on 127.0.0.1; killed on drop.
struct Etcd {
    child: Child,
    _data: tempfile::TempDir,
}

impl Etcd {
    const CLIENT: &str = "http://127.0.0.1:22379";

    fn start(ns: &Netns) -> Etcd {
        let data = tempfile::Builder::new()
            .prefix("kb-etcd-")
            .tempdir()
            .unwrap();
        let peer = "http://127.0.0.1:22380";
        let initial = format!("kbt={peer}");
        let args = [
            "--listen-client-urls",
            Self::CLIENT,
            "--advertise-client-urls",
            Self::CLIENT,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            &initial,
        ];
        Self::spawn(ns, data, &args, Vec::new())
    }

    /// etcd configured as the shipped drop-in configures it (its `Environment=ETCD_*` lines,
    /// with the sandbox's pki directory for /etc/kubernetes/pki and the test's ports), and no
    /// flag but the name and data directory, as the OS's unit runs it.
    const TLS_CLIENT: &str = "https://127.0.0.1:22479";

    fn start_tls(ns: &Netns, pki: &Path) -> Etcd {
        let data = tempfile::Builder::new()
            .prefix("kb-etcd-")
            .tempdir()
            .unwrap();
        let dropin = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("systemd/etcd.service.d/kube-bootstrap-tls.conf"),
        )
        .unwrap();
        let vars: Vec<(String, String)> = dropin
            .lines()
            .filter_map(|l| l.strip_prefix("Environment=ETCD_"))
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                let v = v
                    .replace("/etc/kubernetes/pki", &pki.display().to_string())
                    .replace(":2379", ":22479")
                    .replace(":2380", ":22480")
                    .replace("%H", "kbt");
                (format!("ETCD_{k}"), v)
            })
            .collect();
        assert!(
            vars.iter()
                .any(|(k, v)| k == "ETCD_LISTEN_CLIENT_URLS" && v == Self::TLS_CLIENT),
            "the drop-in's client URL: {vars:?}"
        );
        Self::spawn(ns, data, &[], vars)
    }

    /// etcd in `ns` with the name kbt, its data in `data`, then `args` and the variables `vars`.
    fn spawn(
        ns: &Netns,
        data: tempfile::TempDir,
        args: &[&str],
        vars: Vec<(String, String)>,
    ) -> Etcd {
        let log = fs::File::create(data.path().join("etcd.log")).unwrap();
        let child = Command::new("nsenter")
            .args(&ns.exec_prefix()[1..])
            .args(["etcd", "--name", "kbt", "--data-dir"])
            .arg(data.path().join("data"))
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start etcd (Debian package etcd-server)");
        Etcd { child, _data: data }
    }

    fn log(&self) -> String {
        fs::read_to_string(self._data.path().join("etcd.log")).unwrap_or_default()
    }

    /// Runs doctor (for the apiserver, with `env`) until its finding for `health` is ok, at
    /// most 30 s; returns that report.
    fn until_healthy(&self, node: &Node, env: &[(&str, &str)], health: &str) -> Report {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = node.doctor(&["apiserver"], env);
            let (status, finding, _) = r.one("etcd", health);
            if status == "ok" {
                assert!(finding.contains("/health: healthy"), "{finding}");
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not become healthy: {finding}\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn doctor_checks_etcd_health_beside_the_apiserver() {
    let Some(node) = Node::new() else { return };
    let env = [("KUBE_ETCD_SERVERS", Etcd::CLIENT)];
    let health = format!("{}/health", Etcd::CLIENT);
    let mut etcd = Etcd::start(&node.ns);
    etcd.until_healthy(&node, &env, &health);
    // Plain http is said loudly, with the way to TLS.
    let r = node.doctor(&["apiserver"], &env);
    let (finding, hint) = r.expect("etcd", "plain http", "warn");
    assert!(finding.contains(Etcd::CLIENT), "{finding}");
    assert!(hint.contains("KUBE_ETCD_SERVERS=https://"), "{hint}");

    etcd.stop();
    let r = node.doctor(&["apiserver"], &env);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("etcd", &health, "fail");
    assert!(finding.to_lowercase().contains("refused"), "{finding}");
    assert!(hint.contains("start etcd"), "{hint}");

    // Worker components do not check etcd.
    let r = node.doctor(&["kubelet"], &env);
    assert!(r.checks("etcd").is_empty(), "{}", r.out);
}

#[test]
fn etcd_with_the_shipped_tls_dropin_serves_tls_only_and_doctor_checks_it_as_the_apiserver_dials_it()
{
    let Some(node) = Node::new() else { return };
    // The leader's etcd files, as `pki init` made them, in this node's pki directory.
    let (from, to) = (
        node.leader.root().join("etc/kubernetes/pki"),
        node.root().join("etc/kubernetes/pki"),
    );
    fs::create_dir_all(to.join("etcd")).unwrap();
    for f in [
        "etcd/ca.crt",
        "etcd/server.crt",
        "etcd/server.key",
        "etcd/peer.crt",
        "etcd/peer.key",
        "apiserver-etcd-client.crt",
        "apiserver-etcd-client.key",
    ] {
        fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let env = [("KUBE_ETCD_SERVERS", Etcd::TLS_CLIENT)];
    let health = format!("{}/health", Etcd::TLS_CLIENT);
    let etcd = Etcd::start_tls(&node.ns, &to);
    let r = etcd.until_healthy(&node, &env, &health);
    assert!(
        r.checks("etcd").iter().all(|(s, _, _)| s == "ok"),
        "no plain-http warning for an https etcd\n{}",
        r.out
    );
    // Plain http on its client port gets no answer, nor does TLS without a client certificate.
    let curl = |args: &[&str]| {
        Command::new("nsenter")
            .args(&node.ns.exec_prefix()[1..])
            .args(["curl", "-sS", "--max-time", "5"])
            .args(args)
            .output()
            .expect("run curl")
    };
    let plain = curl(&["http://127.0.0.1:22479/health"]);
    assert!(!plain.status.success(), "plain http answered: {plain:?}");
    let ca = to.join("etcd/ca.crt");
    let anonymous = curl(&["--cacert", ca.to_str().unwrap(), &health]);
    assert!(
        !anonymous.status.success(),
        "TLS without a certificate answered: {anonymous:?}"
    );

    // Without the apiserver's client pair doctor fails naming it, with the command that makes it.
    fs::remove_file(to.join("apiserver-etcd-client.key")).unwrap();
    let r = node.doctor(&["apiserver"], &env);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("etcd", "apiserver-etcd-client", "fail");
    assert!(finding.contains(&health), "{finding}");
    assert!(hint.contains("pki init"), "{hint}");
}

#[test]
fn doctor_fails_a_service_range_that_overlaps_flannel_the_pod_network_or_the_node() {
    let Some(node) = Node::new() else { return };
    let subnet_env = "run/flannel/subnet.env";

    node.write(
        subnet_env,
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\n",
    );
    let r = node.doctor(&["kubelet"], &[]);
    let (finding, _) = r.expect("service-range", "172.22.0.0/16", "ok");
    assert!(
        finding.contains("10.244.0.0/16 (FLANNEL_NETWORK"),
        "{finding}"
    );
    assert_eq!(r.exit(), Some(0), "{}", r.out);

    node.write(
        subnet_env,
        "FLANNEL_NETWORK=172.16.0.0/12\nFLANNEL_SUBNET=172.22.3.1/24\n",
    );
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("service-range", "FLANNEL_NETWORK", "fail");
    assert!(
        finding.contains("172.22.0.0/16 overlaps 172.16.0.0/12"),
        "{finding}"
    );
    assert!(hint.contains("KUBE_SERVICE_CLUSTER_IP_RANGE"), "{hint}");
    fs::remove_file(node.root().join(subnet_env)).unwrap();

    let r = node.doctor(&["kubelet"], &[("KUBE_CLUSTER_CIDR", "172.22.0.0/20")]);
    r.expect("service-range", "KUBE_CLUSTER_CIDR", "fail");

    // The node's own network, 10.213.0.0/24 on kb-d.
    let r = node.doctor(
        &["kubelet"],
        &[("KUBE_SERVICE_CLUSTER_IP_RANGE", "10.213.0.0/16")],
    );
    let (finding, _) = r.expect("service-range", "on kb-d", "fail");
    assert!(finding.contains("overlaps 10.213.0.0/24"), "{finding}");
}

#[test]
fn doctor_fails_a_tampered_binary_and_a_bin_dir_others_can_write() {
    let Some(node) = Node::new() else { return };
    let kubelet = node.sb.installed("kubelet");

    // The same bytes in a new file: `exec` and `fetch` re-hash it as doctor does, and
    // all three find it intact.
    let bytes = fs::read(&kubelet).unwrap();
    fs::remove_file(&kubelet).unwrap();
    fs::write(&kubelet, &bytes).unwrap();
    fs::set_permissions(&kubelet, fs::Permissions::from_mode(0o755)).unwrap();
    node.doctor(&["kubelet"], &[])
        .expect("binary", "kubelet", "ok");

    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    fs::write(&kubelet, &tampered).unwrap();
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("binary", "kubelet", "fail");
    assert!(
        finding.contains("changed since it was fetched"),
        "{finding}"
    );
    assert!(hint.contains("kube-bootstrap fetch kubelet"), "{hint}");

    fs::set_permissions(node.sb.bin_dir(), fs::Permissions::from_mode(0o777)).unwrap();
    let r = node.doctor(&["kubelet"], &[]);
    let (finding, hint) = r.expect("bin-dir", "opt/bin", "fail");
    assert!(
        finding.contains("writable by group or others (mode 0777)"),
        "{finding}"
    );
    assert!(hint.starts_with("chmod go-w"), "{hint}");
}

#[test]
fn doctor_warns_on_expiring_and_fails_on_expired_or_missing_certificates() {
    let Some(node) = Node::new() else { return };
    let pki = node.root().join("etc/kubernetes/pki");
    let (crt, key) = (pki.join("kubelet.crt"), pki.join("kubelet.key"));

    node.install_bundle(10);
    let r = node.doctor(&["kubelet"], &[]);
    let (finding, _) = r.expect("certificate", "kubelet.crt", "warn");
    assert!(finding.contains("expires on"), "{finding}");
    assert_eq!(
        r.exit(),
        Some(0),
        "a warning alone does not fail\n{}",
        r.out
    );

    certificate(&crt, &key, -1);
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("certificate", "kubelet.crt", "fail");
    assert!(finding.contains("expired on"), "{finding}");
    assert!(hint.contains("kube-bootstrap pki"), "{hint}");

    fs::write(&crt, "not a certificate\n").unwrap();
    let r = node.doctor(&["kubelet"], &[]);
    r.expect("certificate", "holds no PEM certificate", "fail");

    fs::remove_file(&key).unwrap();
    let r = node.doctor(&["kubelet"], &[]);
    let (finding, _) = r.expect("file", "kubelet.key", "fail");
    assert!(finding.contains("cannot be read"), "{finding}");
}

#[test]
fn doctor_fails_kubelet_1_36_on_cgroup_v1_unless_the_setting_allows_it() {
    let Some(node) = Node::new() else { return };
    if !crate::exec::fake_cgroup_v1(node.root()) {
        return;
    }
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("cgroup", "cgroup v1", "fail");
    assert!(
        finding.contains("refuses to start on cgroup v1"),
        "{finding}"
    );
    assert!(hint.contains("KUBE_KUBELET_FAIL_CGROUPV1=false"), "{hint}");
    assert!(!hint.contains("--fail-cgroupv1"), "{hint}");

    // Allowed: a warning with a hint, and nothing else fails because of it.
    let r = node.doctor(&["kubelet"], &[("KUBE_KUBELET_FAIL_CGROUPV1", "false")]);
    let (finding, hint) = r.expect("cgroup", "cgroup v1", "warn");
    assert!(finding.contains("deprecated cgroup version"), "{finding}");
    assert!(hint.contains("unified"), "{hint}");
    assert_eq!(r.checks("cgroup").len(), 1, "{}", r.out);
    assert_eq!(r.exit(), Some(0), "{}", r.out);
}

#[test]
fn doctor_reports_an_invalid_setting_as_a_failed_check_and_stops_there() {
    let Some(node) = Node::new() else { return };
    let r = node.doctor(
        &["kubelet"],
        &[("KUBE_SERVICE_CLUSTER_IP_RANGE", "172.22.0.1/16")],
    );
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let checks = r.doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{}", r.out);
    let (finding, hint) = r.expect("config", "KUBE_SERVICE_CLUSTER_IP_RANGE", "fail");
    assert!(finding.contains("'172.22.0.1/16'"), "{finding}");
    assert!(
        hint.contains("the other checks need valid settings"),
        "{hint}"
    );
}

/// `openssl s_server -www` inside `ns` on 127.0.0.1:`port`: answers any GET with 200 over TLS,
/// with a certificate for 127.0.0.1 signed by `ca`. Killed on drop.
struct TlsApiserver {
    child: Child,
    _dir: tempfile::TempDir,
}

impl TlsApiserver {
    fn start(ns: &Netns, port: u16, ca: &Path, ca_key: &Path) -> TlsApiserver {
        let dir = tempfile::Builder::new()
            .prefix("kb-tls-")
            .tempdir()
            .unwrap();
        let (crt, key) = (dir.path().join("srv.crt"), dir.path().join("srv.key"));
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=kube-apiserver",
                "-days",
                "2",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-CA",
            ],
            &[
                ca.as_os_str(),
                "-CAkey".as_ref(),
                ca_key.as_os_str(),
                "-keyout".as_ref(),
                key.as_os_str(),
                "-out".as_ref(),
                crt.as_os_str(),
            ],
        );
        let child = Command::new("nsenter")
            .args(&ns.exec_prefix()[1..])
            .args(["openssl", "s_server", "-quiet", "-www"])
            .args(["-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(&crt)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        TlsApiserver { child, _dir: dir }
    }
}

impl Drop for TlsApiserver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn doctor_checks_an_https_apiserver_against_the_clusters_ca() {
    let Some(node) = Node::new() else { return };
    let pki = node.root().join("etc/kubernetes/pki");
    let (ca, ca_key) = (pki.join("ca.crt"), pki.join("ca.key"));
    certificate(&ca, &ca_key, 30 * 12);
    let port = 16443;
    let _tls = TlsApiserver::start(&node.ns, port, &ca, &ca_key);
    // No scheme: Kubernetes 1.36 nodes reach the apiserver over https.
    node.write("etc/leader", &format!("LEADER_ENDPOINT=127.0.0.1:{port}\n"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let r = loop {
        let r = node.doctor(&["kubelet"], &[]);
        if r.checks("apiserver").iter().all(|(s, _, _)| s == "ok") || Instant::now() > deadline {
            break r;
        }
        thread::sleep(Duration::from_millis(100));
    };
    r.expect("leader", &format!("https://127.0.0.1:{port}"), "ok");
    r.expect("apiserver", "/readyz: 200", "ok");

    // A certificate from another CA is not the cluster's apiserver.
    certificate(&ca, &ca_key, 30 * 12);
    let r = node.doctor(&["kubelet"], &[]);
    let (finding, hint) = r.expect("apiserver", "/readyz failed", "warn");
    assert!(finding.to_lowercase().contains("certificate"), "{finding}");
    assert!(hint.contains("ca.crt' the cluster's CA"), "{hint}");
}

#[test]
fn doctor_fails_a_bundle_made_for_another_node_name() {
    let Some(node) = Node::new() else { return };
    // Unpacked by hand with tar (the README's other way), so `pki install` cannot refuse it.
    kb(node.leader.root())
        .in_dir(node.leader.root())
        .args(&["pki", "node", "10.213.0.9", "--out", "other.tar"])
        .run()
        .success();
    let pki = node.root().join("etc/kubernetes/pki");
    run(
        "tar",
        &["-xpf"],
        &[
            node.leader.root().join("other.tar").as_os_str(),
            "-C".as_ref(),
            pki.as_os_str(),
        ],
    );
    let r = node.doctor(&["kubelet"], &[]);
    assert_eq!(r.exit(), Some(1), "{}", r.out);
    let (finding, hint) = r.expect("pki", "kubelet.crt", "fail");
    assert!(
        finding.contains("made for another node name") && finding.contains(NODE_IP),
        "{finding}"
    );
    assert!(
        hint.contains(&format!("kube-bootstrap pki node {NODE_IP}")),
        "{hint}"
    );
}

#[test]
fn doctor_refuses_a_fifo_at_flannels_subnet_file_without_hanging() {
    let sb = Sandbox::new();
    let subnet = sb.root().join("run/flannel/subnet.env");
    fs::create_dir_all(subnet.parent().unwrap()).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&subnet)
            .status()
            .unwrap()
            .success()
    );
    // As a worker: a machine that is no node yet gets one finding and no network checks.
    let out = kb(sb.root())
        .args(&["doctor", "--offline", "--role", "worker"])
        .limit(std::time::Duration::from_secs(60))
        .run();
    assert!(out.code().is_some(), "{out}");
    assert!(
        out.stdout.contains("subnet.env") && out.stdout.contains("not a regular file"),
        "{out}"
    );
}
