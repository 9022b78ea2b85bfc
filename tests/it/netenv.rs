//! `network-env` and the discovery `exec` and `flags` fall back to, inside network namespaces
//! the tests create (veth pairs, addresses, default routes), so the kernel's answers are known.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::support::cmd::Kb;
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, fake, kb};

/// A network namespace created by the test, held by a process of its own and entered through
/// `/proc/PID/ns/net`; gone when that process is killed on drop. Not `ip netns add`: the first
/// one on a machine bind-mounts `/run/netns` over itself for good, and tests leave the host's
/// mounts as they found them.
pub struct Netns {
    pub name: String,
    holder: std::process::Child,
}

impl Netns {
    /// Creates a namespace with its loopback up, or returns `None` after printing why when this
    /// machine does not permit one (the only reason to skip).
    pub fn create() -> Option<Netns> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kbt-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut holder = Command::new("unshare")
            .args(["--net", "--", "sleep", "3600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run `unshare` (util-linux) to create a network namespace");
        // Until unshare has made the namespace, /proc/PID/ns/net is still ours: never enter
        // it before it differs (or the test would configure the host's network).
        let ours = fs::read_link("/proc/self/ns/net").expect("read /proc/self/ns/net");
        let path = format!("/proc/{}/ns/net", holder.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = holder.try_wait() {
                let mut why = String::new();
                if let Some(mut err) = holder.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut err, &mut why);
                }
                eprintln!(
                    "skipped: `unshare --net` is not permitted here ({status}): {}",
                    why.trim()
                );
                return None;
            }
            if fs::read_link(&path).is_ok_and(|l| l != ours) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "unshare --net did not make a namespace within 10 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let ns = Netns { name, holder };
        ns.ip(&["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// The namespace's file, for `nsenter --net=` and `setns`.
    fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.holder.id())
    }

    /// The words that run a command inside the namespace: `nsenter --net=... --`.
    pub fn exec_prefix(&self) -> Vec<String> {
        vec![
            "nsenter".into(),
            format!("--net={}", self.path()),
            "--".into(),
        ]
    }

    /// `ip ARGS...` inside the namespace; panics if it fails.
    pub fn ip(&self, args: &[&str]) {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", self.path()))
            .arg("ip")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ip");
        assert!(
            out.status.success(),
            "ip (in {}) {}: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A veth pair with both ends in the namespace and up; `iface` gets `cidr` (and the IPv6
    /// `cidr6`, without duplicate address detection so it is usable at once).
    pub fn veth(&self, iface: &str, peer: &str, cidr: &str, cidr6: Option<&str>) {
        self.ip(&["link", "add", iface, "type", "veth", "peer", "name", peer]);
        self.ip(&["link", "set", iface, "up"]);
        self.ip(&["link", "set", peer, "up"]);
        self.ip(&["addr", "add", cidr, "dev", iface]);
        if let Some(v6) = cidr6 {
            self.ip(&["-6", "addr", "add", v6, "dev", iface, "nodad"]);
        }
    }

    /// kube-bootstrap run inside the namespace.
    pub fn kb(&self, sb: &Sandbox) -> Kb {
        let prefix = self.exec_prefix();
        let words: Vec<&str> = prefix.iter().map(String::as_str).collect();
        kb(sb.root()).wrapped(&words)
    }

    /// A listener on 127.0.0.1 inside the namespace: bound by a thread that joined it (a
    /// socket stays in the namespace it was created in).
    pub fn listen(&self) -> TcpListener {
        let path = self.path();
        std::thread::spawn(move || {
            let ns = fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("join the test's network namespace");
            TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 in the namespace")
        })
        .join()
        .expect("listener thread")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // The namespace goes with its last process: the holder, and whatever the test ran in it.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A namespace whose default routes go through `kb-up.0` (10.213.0.2, fd42:213::2), with a
/// second interface `kb-b` (10.213.2.2) holding a default route of a higher metric.
fn routed() -> Option<Netns> {
    let ns = Netns::create()?;
    ns.veth(
        "kb-up.0",
        "kb-up-peer",
        "10.213.0.2/24",
        Some("fd42:213::2/64"),
    );
    ns.veth("kb-b", "kb-b-peer", "10.213.2.2/24", None);
    ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "10.213.2.1",
        "dev",
        "kb-b",
        "metric",
        "200",
    ]);
    ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        "10.213.0.1",
        "dev",
        "kb-up.0",
        "metric",
        "100",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "fd42:213::1",
        "dev",
        "kb-up.0",
    ]);
    Some(ns)
}

/// The `KEY=value` lines of an environment file, comments left out.
fn vars(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

#[test]
fn network_env_writes_every_interface_and_the_default_routes_addresses() {
    let Some(ns) = routed() else { return };
    let sb = Sandbox::new();
    let path = sb.root().join("etc/network-environment");
    fs::create_dir_all(sb.root().join("etc")).unwrap();
    ns.kb(&sb)
        .args(&["network-env", "--output", path.to_str().unwrap()])
        .run()
        .success();
    let text = fs::read_to_string(&path).expect("network-env wrote the file under --root");
    let lines = vars(&text);
    for want in [
        "LO_IPV4=127.0.0.1",
        "LO_IPV6=::1",
        "KB_UP_0_IPV4=10.213.0.2",
        "KB_UP_0_IPV6=fd42:213::2",
        "KB_B_IPV4=10.213.2.2",
        // The default route with the lower metric.
        "DEFAULT_IPV4=10.213.0.2",
        "DEFAULT_IPV6=fd42:213::2",
    ] {
        assert!(lines.contains(&want), "{want} missing from\n{text}");
    }
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("DEFAULT_IPV4="))
            .count(),
        1
    );
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let leftovers: Vec<_> = fs::read_dir(sb.root().join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["network-environment"], "temporary file left");

    // Without --output the same file goes to stdout.
    let printed = ns.kb(&sb).args(&["network-env"]).run();
    printed.success();
    assert_eq!(printed.stdout, text);
}

#[test]
fn network_env_without_a_default_route_fails_and_writes_nothing() {
    let Some(ns) = Netns::create() else { return };
    ns.veth("kb-lonely", "kb-lonely-peer", "10.213.1.2/24", None);
    let sb = Sandbox::new();
    let path = sb.root().join("etc/network-environment");
    let out = ns
        .kb(&sb)
        .args(&["network-env", "--output", path.to_str().unwrap()])
        .run();
    out.failure(1)
        .mentions("no IPv4 default route")
        .mentions("10.213.1.2 (kb-lonely)")
        .mentions("hint: add a default route");
    assert!(
        !sb.root().join("etc/network-environment").exists(),
        "a file without DEFAULT_IPV4 was written"
    );
}

#[test]
fn network_env_on_an_ipv4_only_node_writes_no_ipv6_default() {
    let Some(ns) = Netns::create() else { return };
    ns.veth("kb-v4", "kb-v4-peer", "10.213.3.2/24", None);
    ns.ip(&["route", "add", "default", "via", "10.213.3.1"]);
    let sb = Sandbox::new();
    let out = ns.kb(&sb).args(&["network-env"]).run();
    out.success();
    let lines = vars(&out.stdout);
    assert!(lines.contains(&"DEFAULT_IPV4=10.213.3.2"), "{}", out.stdout);
    assert!(
        !lines.iter().any(|l| l.starts_with("DEFAULT_IPV6=")),
        "{}",
        out.stdout
    );
}

/// A sandbox with the fake kubelet fetched, `/etc/leader`, and every file the kubelet's flags
/// need, but no `/etc/network-environment`.
fn kubelet_node(mirror: &Mirror) -> Sandbox {
    let sb = Sandbox::new();
    let write = |rel: &str, content: &str| {
        let path = sb.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    };
    write("etc/leader", "LEADER_ENDPOINT=127.0.0.1\n");
    mirror.publish(VERSION, "kubelet", &fake::bytes());
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&["kubelet"])
        .run()
        .success();
    // Outside the test's namespace: the address does not matter for the list of files.
    let plan = kb(sb.root())
        .env("KUBE_NODE_IP", "127.0.0.1")
        .args(&["flags", "kubelet", "--json"])
        .run();
    plan.success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    for r in plan["required"].as_array().unwrap() {
        let path = r["path"].as_str().unwrap();
        fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        fs::write(path, "placeholder\n").unwrap();
    }
    assert!(!sb.root().join("etc/network-environment").exists());
    sb
}

#[test]
fn exec_and_flags_discover_the_address_when_network_environment_is_absent() {
    let Some(ns) = routed() else { return };
    let mirror = Mirror::start();
    let sb = kubelet_node(&mirror);

    let explain = ns.kb(&sb).args(&["flags", "kubelet", "--explain"]).run();
    explain.success();
    explain.mentions("node address discovered from the kernel");
    let text = &explain.stdout;
    let at = text
        .find("--hostname-override=10.213.0.2\n")
        .unwrap_or_else(|| panic!("no discovered --hostname-override in\n{text}"));
    let why = text[at..].lines().nth(1).unwrap_or("");
    assert!(
        why.contains("DEFAULT_IPV4 discovered from the kernel")
            && why.contains("'kb-up.0'")
            && why.contains("etc/network-environment' does not exist"),
        "{why}"
    );

    let record = sb.root().join("fake.record");
    let out = ns
        .kb(&sb)
        .env("FAKE_RECORD", record.display().to_string())
        .args(&["exec", "kubelet"])
        .run();
    out.success();
    let (_, argv) = fake::read_record(&record).expect("the fake kubelet ran");
    assert!(
        argv.contains(&"--hostname-override=10.213.0.2".to_string()),
        "{argv:?}"
    );
}

#[test]
fn exec_without_network_environment_or_default_route_fails_with_exit_2() {
    let Some(ns) = Netns::create() else { return };
    ns.veth("kb-lonely", "kb-lonely-peer", "10.213.1.2/24", None);
    let mirror = Mirror::start();
    let sb = kubelet_node(&mirror);
    let record = sb.root().join("fake.record");
    let out = ns
        .kb(&sb)
        .env("FAKE_RECORD", record.display().to_string())
        .args(&["exec", "kubelet"])
        .run();
    out.failure(2)
        .mentions("--hostname-override needs DEFAULT_IPV4 from '")
        .mentions("does not exist, and the kernel does not tell DEFAULT_IPV4 either")
        .mentions("no IPv4 default route")
        .mentions("hint: give the node a default route");
    assert!(!record.exists(), "the component ran without an address");
}
