//! The unit files in `systemd/`, checked by `systemd-analyze verify` and run unchanged under a
//! real systemd user manager and journald on a throwaway node (`support::node`).
//!
//! The components are a fake (`tests/systemd/fake-component.c`) served from a local mirror: it
//! records its argv and PID under /run and sleeps until killed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::artifact::{artifact_path, sha256_hex};
use crate::support::mirror::Mirror;
use crate::support::node::{self, Entry, Node};
use crate::support::{VERSION, cmd::bin};

const KUBELET: Unit = Unit {
    name: "kube-kubelet.service",
    component: "kubelet",
    binary: "kubelet",
};
const APISERVER: Unit = Unit {
    name: "kube-apiserver.service",
    component: "apiserver",
    binary: "kube-apiserver",
};

/// MESSAGE_ID of the manager's "Scheduled restart job" entries (sd-messages.h,
/// SD_MESSAGE_UNIT_RESTART_SCHEDULED).
const RESTART_SCHEDULED: &str = "5eb03494b6584870a536b337290809b3";

/// Bound on a unit reaching active with its component running.
const START_LIMIT: Duration = Duration::from_secs(30);

/// A shipped unit and what it runs.
#[derive(Clone, Copy)]
struct Unit {
    name: &'static str,
    component: &'static str,
    binary: &'static str,
}

impl Unit {
    /// Where the fake records its PID once it runs (written after its argv).
    fn pid_file(self) -> String {
        format!("/run/fake-{}.pid", self.binary)
    }

    fn args_file(self) -> String {
        format!("/run/fake-{}.args", self.binary)
    }
}

/// The fake component of these tests (it needs no environment: the shipped units run it
/// unchanged), compiled once per test run.
fn fake_component() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        std::fs::read(crate::support::fake::compile(
            "tests/systemd/fake-component.c",
        ))
        .expect("read the fake component")
    })
}

/// Writes the node files every role needs: settings pointing at the mirror `mirrors`, the
/// leader and the node's address, all on loopback.
fn configure(node: &Node, mirrors: &str) {
    let settings = format!(
        "KUBE_MIRRORS={mirrors}\n\
         KUBE_ALLOW_HTTP=1\n\
         KUBE_ARCH=amd64\n\
         KUBE_VERSION={VERSION}\n\
         KUBE_FETCH_RETRIES=1\n\
         KUBE_FETCH_STALL_TIMEOUT=5\n\
         KUBE_FETCH_DEADLINE=20\n"
    );
    node.write("/etc/kube-bootstrap.env", settings.as_bytes(), 0o644);
    node.write("/etc/leader", b"LEADER_ENDPOINT=127.0.0.1\n", 0o644);
    node.write(
        "/etc/network-environment",
        b"DEFAULT_IPV4=127.0.0.1\n",
        0o644,
    );
}

/// Puts placeholders where the component's flags name files the operator provides
/// (certificates and keys), as `flags --json` lists them: the fake reads none of them. The
/// apiserver's unit makes its own with `pki init`.
fn provide_required_files(node: &Node, unit: Unit) {
    if unit.name == APISERVER.name {
        return;
    }
    let out = node.run(
        "/opt/bin/kube-bootstrap",
        &["flags", unit.component, "--json"],
    );
    if out.code() != Some(0) {
        node.fail(&format!("flags {} --json failed\n{out}", unit.component));
    }
    let plan: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| node.fail(&format!("flags --json is not JSON ({e})\n{out}")));
    for required in plan["required"].as_array().into_iter().flatten() {
        if required["exists"] == false {
            let path = required["path"].as_str().expect("required file path");
            node.write(path, b"placeholder for the systemd test\n", 0o600);
        }
    }
}

/// What `kube-bootstrap flags COMPONENT` prints on the node: the argv, binary first.
fn expected_argv(node: &Node, unit: Unit) -> Vec<String> {
    let out = node.run("/opt/bin/kube-bootstrap", &["flags", unit.component]);
    if out.code() != Some(0) {
        node.fail(&format!("flags {} failed\n{out}", unit.component));
    }
    out.stdout.lines().map(str::to_owned).collect()
}

/// Waits for `unit` to run its component and returns the component's PID, failing early
/// if the unit restarts instead.
fn await_component(node: &Node, unit: Unit) -> u32 {
    node.wait_until(
        START_LIMIT,
        &format!("{} to run its component", unit.name),
        || {
            if node.show(unit.name, "NRestarts") != "0" {
                node.fail(&format!("{} failed and is restarting", unit.name));
            }
            node.exists(&unit.pid_file())
        },
    );
    let pid_text = node.read(&unit.pid_file()).expect("pid file");
    let pid: u32 = pid_text.trim().parse().expect("pid file holds a PID");
    node.wait_until(
        Duration::from_secs(30),
        &format!("{} to be active", unit.name),
        || node.show(unit.name, "ActiveState") == "active",
    );
    pid
}

/// Asserts that `unit` runs the component in place with the flags `flags` prints.
fn assert_runs_component(node: &Node, unit: Unit, pid: u32) {
    let main_pid = node.show(unit.name, "MainPID");
    if main_pid != pid.to_string() {
        node.fail(&format!(
            "{}: MainPID is {main_pid}, the component runs as {pid}: not exec'd in place",
            unit.name
        ));
    }
    let argv: Vec<String> = node
        .read(&unit.args_file())
        .expect("args file")
        .lines()
        .map(str::to_owned)
        .collect();
    let expected = expected_argv(node, unit);
    if argv != expected {
        node.fail(&format!(
            "{}: the component got argv {argv:#?}\nbut `flags {}` prints {expected:#?}",
            unit.name, unit.component
        ));
    }
}

/// Whether a process with this PID exists (the node shares the host's PID namespace).
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Stops `unit` and asserts its component is gone with it.
fn assert_stop_ends_component(node: &Node, unit: Unit, pid: u32) {
    let out = node.systemctl(&["stop", unit.name]);
    if out.code() != Some(0) {
        node.fail(&format!("systemctl stop {} failed\n{out}", unit.name));
    }
    assert_eq!(
        node.show(unit.name, "ActiveState"),
        "inactive",
        "{}",
        unit.name
    );
    node.wait_until(
        Duration::from_secs(20),
        &format!("pid {pid} to be gone"),
        || !process_exists(pid),
    );
}

/// kube-bootstrap's journal entries logged from `unit`'s current run: attributed to the unit
/// by journald, or sent by its last `fetch` or its main process. journald learns a sender's
/// unit from its cgroup in /proc, which is gone when a short-lived `fetch` has already exited;
/// the sender's PID always comes with the message.
fn unit_entries(node: &Node, unit: Unit) -> Vec<Entry> {
    let mut pids = vec![node.show(unit.name, "MainPID")];
    // `ExecStartPre={ path=... ; pid=1234 ; code=exited ; status=0 }`
    let pre = node.show(unit.name, "ExecStartPre");
    pids.extend(
        pre.split(" ; ")
            .filter_map(|part| part.strip_prefix("pid="))
            .map(str::to_owned),
    );
    node.journal(&["SYSLOG_IDENTIFIER=kube-bootstrap"])
        .into_iter()
        .filter(|e| {
            e.is("_SYSTEMD_USER_UNIT", unit.name)
                || e.get("_PID").is_some_and(|pid| pids.contains(&pid))
        })
        .collect()
}

/// Asserts the journal holds kube-bootstrap's structured entries for `unit`: the download,
/// with the component, version, URL and sha256, and the exec'd main process's own entry.
fn assert_journal_fields(node: &Node, unit: Unit, url: &str, sha256: &str) {
    // fetch logs COMPONENT as the binary name (kube-apiserver) on download and the component
    // name (apiserver) elsewhere; either names the component.
    let names = [unit.component, unit.binary];
    let main_pid = node.show(unit.name, "MainPID");
    let downloaded = |e: &Entry| {
        names.iter().any(|n| e.is("COMPONENT", n))
            && e.is("VERSION", VERSION)
            && e.is("SHA256", sha256)
            && e.is("URL", url)
    };
    // The main process is alive, so journald attributes its entries to the unit: this is what
    // `journalctl --user-unit` (or `-u` under the system manager) filters on.
    let from_main = |e: &Entry| {
        e.is("_PID", &main_pid)
            && e.is("_SYSTEMD_USER_UNIT", unit.name)
            && names.iter().any(|n| e.is("COMPONENT", n))
            && e.is("VERSION", VERSION)
            && e.is("SHA256", sha256)
    };
    let mut entries = Vec::new();
    node.wait_until(
        Duration::from_secs(30),
        &format!("kube-bootstrap's journal entries for {}", unit.name),
        || {
            entries = unit_entries(node, unit);
            entries.iter().any(downloaded) && entries.iter().any(from_main)
        },
    );
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if !node::systemd_tests_runnable() {
        return;
    }
    let units = node::unit_files();
    assert_eq!(
        units
            .iter()
            .map(|u| u.file_name().unwrap().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        [
            "kube-apiserver.service",
            "kube-bootstrap-pki-renew.service",
            "kube-bootstrap-pki-renew.timer",
            "kube-bootstrap-rbac.service",
            "kube-controller-manager.service",
            "kube-kubelet.service",
            "kube-network-env.service",
            "kube-proxy.service",
            "kube-scheduler.service",
        ]
    );
    // verify checks that ExecStart= binaries exist: give it /opt/bin/kube-bootstrap on a tmpfs
    // in a private mount namespace.
    let script = "set -e; mount -t tmpfs tmpfs /opt; mkdir /opt/bin; \
                  install -m 0755 \"$1\" /opt/bin/kube-bootstrap; shift; \
                  exec systemd-analyze verify --man=no \"$@\"";
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        bin(),
    ])
    .args(&units)
    .env_clear()
    .env(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    let out =
        crate::support::cmd::spawn_bounded(cmd, "systemd-analyze verify", Duration::from_secs(60))
            .wait();
    assert_eq!(out.code(), Some(0), "systemd-analyze verify failed\n{out}");
    // verify exits 0 on unknown keys and unparsable values, and only warns: any line about
    // our units is a failure.
    let names: Vec<String> = units
        .iter()
        .map(|u| u.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let complaints: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| names.iter().any(|n| l.contains(n.as_str())))
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify warns:\n{}",
        complaints.join("\n")
    );
}

#[test]
fn units_run_components_in_place_restart_offline_and_stop_cleanly() {
    let fake = fake_component();
    let sha256 = sha256_hex(fake);
    let mirror = Mirror::start();
    mirror.publish(VERSION, KUBELET.binary, fake);
    mirror.publish(VERSION, APISERVER.binary, fake);
    let Some(node) = Node::start() else { return };
    configure(&node, &mirror.url());
    node.install_units();

    // 1. Both units reach active, each running its component as the main process, with the
    // flags `flags` prints; 2. kube-bootstrap's entries are in the journal with their fields.
    let mut pids = BTreeMap::new();
    // The apiserver first: its unit's `pki init` makes the leader's certificates and keys, the
    // kubelet's included, so neither needs placeholders.
    for unit in [APISERVER, KUBELET] {
        provide_required_files(&node, unit);
        let out = node.systemctl(&["start", unit.name]);
        if out.code() != Some(0) {
            node.fail(&format!("systemctl start {} failed\n{out}", unit.name));
        }
        let pid = await_component(&node, unit);
        let ca = node.read("/etc/kubernetes/pki/ca.crt").unwrap_or_default();
        if !ca.starts_with("-----BEGIN CERTIFICATE-----") {
            node.fail(&format!("the apiserver unit's pki init made no CA: {ca:?}"));
        }
        assert_runs_component(&node, unit, pid);
        assert_journal_fields(
            &node,
            unit,
            &mirror.artifact_url(VERSION, unit.binary),
            &sha256,
        );
        pids.insert(unit.name, pid);
    }

    // 3. With the mirror gone, a restart still brings the kubelet up: the warm path makes no
    // network request.
    drop(mirror);
    let old = pids[KUBELET.name];
    node.ok(&format!("rm -f {}", KUBELET.pid_file()));
    let out = node.systemctl(&["restart", KUBELET.name]);
    if out.code() != Some(0) {
        node.fail(&format!("systemctl restart {} failed\n{out}", KUBELET.name));
    }
    let pid = await_component(&node, KUBELET);
    assert_ne!(pid, old, "restart kept the old component process");
    assert!(
        !process_exists(old),
        "the old kubelet {old} survived the restart"
    );
    assert_runs_component(&node, KUBELET, pid);
    let warm = unit_entries(&node, KUBELET);
    assert!(
        warm.iter().any(|e| e.is("MESSAGE", "already installed")),
        "the restart's fetch did not take the warm path: {warm:#?}"
    );
    pids.insert(KUBELET.name, pid);

    // 5. Stopping a unit stops its component: no stray process.
    for unit in [KUBELET, APISERVER] {
        assert_stop_ends_component(&node, unit, pids[unit.name]);
    }
}

#[test]
fn corrupted_artifact_fails_the_unit_without_running_anything_and_is_retried() {
    let good = fake_component();
    let mut bad = good.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let (expected, actual) = (sha256_hex(good), sha256_hex(&bad));
    let mirror = Mirror::start();
    // The side file names the genuine binary; the artifact itself was damaged on the mirror.
    mirror.publish_with_side(VERSION, KUBELET.binary, &bad, expected.clone());
    let Some(node) = Node::start() else { return };
    configure(&node, &mirror.url());
    node.install_units();

    let out = node.systemctl(&["start", "--no-block", KUBELET.name]);
    if out.code() != Some(0) {
        node.fail(&format!("systemctl start {} failed\n{out}", KUBELET.name));
    }
    // Restart=always: systemd starts it again and again (RestartSec=5 as shipped).
    node.wait_until(
        Duration::from_secs(90),
        "two restarts of the failing unit",
        || {
            node.show(KUBELET.name, "NRestarts")
                .parse::<u32>()
                .unwrap_or(0)
                >= 2
        },
    );
    // Each start attempt downloaded again (the third may still be on its way).
    let path = artifact_path(VERSION, KUBELET.binary);
    assert!(
        mirror.gets(&path).len() >= 2,
        "each start should download again: {:?}",
        mirror.requests()
    );
    // The manager's own journal entries show the restarts it scheduled.
    let scheduled = node
        .journal(&[
            &format!("USER_UNIT={}", KUBELET.name),
            &format!("MESSAGE_ID={RESTART_SCHEDULED}"),
        ])
        .len();
    assert!(
        scheduled >= 2,
        "{scheduled} restarts scheduled in the journal\n{}",
        node.logs()
    );

    // Nothing ran and nothing was installed.
    assert_eq!(
        node.show(KUBELET.name, "MainPID"),
        "0",
        "a main process runs"
    );
    assert_ne!(node.show(KUBELET.name, "ActiveState"), "active");
    assert!(
        !node.exists(&KUBELET.pid_file()),
        "the corrupted component ran"
    );
    assert!(
        !node.exists("/opt/bin/kubelet"),
        "the corrupted binary was installed"
    );

    // The journal says which URL failed and both checksums. On this node only kube-kubelet
    // runs kube-bootstrap: its structured entries and its stderr (the error report) count.
    let url = mirror.artifact_url(VERSION, KUBELET.binary);
    let text: String = node
        .journal(&["SYSLOG_IDENTIFIER=kube-bootstrap"])
        .iter()
        .map(Entry::text)
        .collect();
    for (what, needle) in [
        ("URL", &url),
        ("expected sha256", &expected),
        ("computed sha256", &actual),
    ] {
        if !text.contains(needle.as_str()) {
            node.fail(&format!(
                "the unit's journal does not name the {what} {needle}"
            ));
        }
    }
}

/// The environment a unit gets from `EnvironmentFile=path`, as systemd parses it: runs
/// `env -0` in a transient unit of the node's manager.
fn systemd_environment(node: &Node, path: &str) -> BTreeMap<String, String> {
    let property = format!("EnvironmentFile={path}");
    let out = node.run(
        "systemd-run",
        &[
            "--user",
            "--wait",
            "--pipe",
            "--quiet",
            "-p",
            &property,
            "/usr/bin/env",
            "-0",
        ],
    );
    if out.code() != Some(0) {
        node.fail(&format!("systemd-run env -0 failed\n{out}"));
    }
    out.stdout
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn env_files_round_trip_through_systemds_environment_file_parser() {
    let Some(node) = Node::start() else { return };

    // Values systemd's parser treats specially, written by the crate's own quoting.
    let hard: Vec<(&str, String)> = [
        ("KB_PLAIN", "plain"),
        ("KB_SPACES", "with  two spaces"),
        ("KB_DOUBLE", "double \"quoted\" words"),
        ("KB_SINGLE", "single 'quoted' words"),
        ("KB_BACKSLASH", r"back\slash \n \\ \t and at the end\"),
        ("KB_DOLLAR", "$HOME ${PATH} $$ $(id) $"),
        ("KB_BACKTICK", "`id`"),
        ("KB_MIXED", r#"'"\$`'"#),
        ("KB_LEADING", "  leading spaces"),
        ("KB_TRAILING", "trailing spaces  "),
        ("KB_NEWLINE", "two\nlines"),
        ("KB_EQUALS", "a=b==c"),
        ("KB_HASH", "#not a comment"),
        ("KB_SEMICOLON", ";not a comment"),
        ("KB_EMPTY", ""),
        ("KB_UNICODE", "grüße ✓"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    let text = kube_bootstrap::envfile::render("values systemd must read back exactly", &hard);
    node.write("/run/hard.env", text.as_bytes(), 0o644);
    let env = systemd_environment(&node, "/run/hard.env");
    for (key, value) in &hard {
        assert_eq!(
            env.get(*key),
            Some(value),
            "{key} read back by systemd from:\n{text}"
        );
    }

    // The file fetch writes, with hard characters in the values fetch takes from its input:
    // the install directory (KUBE_BINARY) and the mirror's URL (KUBE_SOURCE).
    let fake = fake_component();
    let mirror = Mirror::start();
    let prefix = "/mirror$HOME'x";
    let artifact = format!("{prefix}{}", artifact_path(VERSION, "kubelet"));
    mirror.put(&artifact, fake);
    mirror.put(&format!("{artifact}.sha256"), sha256_hex(fake));
    let base = format!("{}{prefix}", mirror.url());
    let bin_dir = r#"/opt/k8s bin/"q" 'q' \ $HOME `x`"#;
    let out = node.run(
        "env",
        &[
            "KUBE_ALLOW_HTTP=1",
            "KUBE_ARCH=amd64",
            // The units' own bin dir (a `--bin-dir` install leaves their env file alone).
            &format!("KUBE_BIN_DIR={bin_dir}"),
            "/opt/bin/kube-bootstrap",
            "fetch",
            "kubelet",
            "--kube-version",
            VERSION,
            "--mirror",
            &base,
        ],
    );
    if out.code() != Some(0) {
        node.fail(&format!("fetch failed\n{out}"));
    }
    let path = "/run/kube-bootstrap/kubelet.env";
    let written = node.read(path).expect("fetch wrote the environment file");
    let env = systemd_environment(&node, path);
    let want = [
        ("KUBE_VERSION", VERSION.to_owned()),
        ("KUBE_ARCH", "amd64".to_owned()),
        ("KUBE_BINARY", format!("{bin_dir}/kubelet")),
        ("KUBE_SHA256", sha256_hex(fake)),
        ("KUBE_SOURCE", format!("{}{artifact}", mirror.url())),
    ];
    for (key, value) in &want {
        assert_eq!(
            env.get(*key),
            Some(value),
            "{key} read back by systemd from:\n{written}"
        );
    }
    // Whatever else fetch writes (KUBE_ARGS...) reads back as the crate itself parses it.
    for (key, value) in
        kube_bootstrap::envfile::parse_str(&written).expect("fetch writes a valid env file")
    {
        assert_eq!(
            env.get(&key),
            Some(&value),
            "{key} read back by systemd from:\n{written}"
        );
    }
}

#[test]
fn node_script_names_the_missing_cgroup_namespace_from_a_nested_cgroup() {
    if !node::systemd_tests_runnable() {
        return;
    }
    // Started from a cgroup below the root without `unshare -C`, node.sh would nest the
    // manager below the caller's cgroup, where journald cannot attribute entries to user units:
    // it must refuse before setting anything up, and say why.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = tempfile::tempdir().expect("scratch dir");
    let cgroup = format!("/kube-bootstrap-it-nested-{}.scope", std::process::id());
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("tests/systemd/in-cgroup.sh"))
        .arg(&cgroup)
        .args(["unshare", "-m", "--propagation", "private", "bash"])
        .arg(root.join("tests/systemd/node.sh"))
        .arg(bin())
        .arg(scratch.path())
        .arg("5")
        .stdin(std::process::Stdio::null());
    let out = crate::support::cmd::spawn_bounded(
        cmd,
        "in-cgroup.sh then node.sh",
        Duration::from_secs(60),
    )
    .wait();
    // in-cgroup.sh speaks first: a failure there is the harness's, not node.sh's.
    assert!(
        !out.stderr.contains("in-cgroup.sh: cannot")
            && !out.stderr.contains("in-cgroup.sh: no cgroup2"),
        "tests/systemd/in-cgroup.sh could not place node.sh in cgroup {cgroup}\n{out}"
    );
    assert_eq!(
        out.code(),
        Some(1),
        "node.sh outside a cgroup namespace\n{out}"
    );
    assert!(
        !out.stdout.contains("ready"),
        "node.sh came up outside a cgroup namespace\n{out}"
    );
    assert!(
        out.stderr.contains("not in a private cgroup namespace")
            && out.stderr.contains("unshare -m -C"),
        "node.sh does not say what is missing\n{out}"
    );
}

/// The variables `EnvironmentFile=path` adds to a unit's environment: the names a unit gets
/// from an empty file (the manager's own, `INVOCATION_ID`...) are taken out.
fn systemd_file_vars(node: &Node, path: &str) -> BTreeMap<String, String> {
    node.write("/run/empty.env", b"", 0o644);
    let base = systemd_environment(node, "/run/empty.env");
    systemd_environment(node, path)
        .into_iter()
        .filter(|(k, _)| !base.contains_key(k))
        .collect()
}

#[test]
fn env_file_reader_reads_exactly_what_systemd_reads() {
    let Some(node) = Node::start() else { return };
    // Files the reader accepts: systemd must read the very same variables.
    let accepted = [
        "A=$HOME ${PATH} $(id) `id`\nB=\"x\\$y\\`z\\\\w\\q\"\nC='$x \\n'\n",
        "A=1\r\nB=two words\r\nC=\"quoted\"\r\n",
        "A=one\\\n  two\nB=\"one\\\ntwo\"\n",
        "A=\"x\"  y  \nB='a' \"b\"\nC=x \"y\"\n",
        "A=\nB=  \n  C  =  spaced value  \n",
        "# comment \\\n\nB=1\n; other \\\n#C=1\n",
        "A=1\nA=2\nB=a#b ;c\n",
        "A=\\ lead\nB=trail\\ \nC=\"multi\nline\"\nD=tab\there\n",
        "LEADER_ENDPOINT=https://10.0.0.1:6443\nDEFAULT_IPV4=192.0.2.7\nKUBE_ARGS=\"--v=2 --x='y z'\"",
        "A=grüße ✓\nB=\"\\\"nested\\\" 'q'\"\n",
    ];
    for (i, text) in accepted.iter().enumerate() {
        let path = format!("/run/accepted-{i}.env");
        node.write(&path, text.as_bytes(), 0o644);
        let ours: BTreeMap<String, String> = kube_bootstrap::envfile::parse_str(text)
            .unwrap_or_else(|e| panic!("the reader refuses {text:?}: {e:?}"))
            .into_iter()
            .collect();
        let systemds = systemd_file_vars(&node, &path);
        assert_eq!(ours, systemds, "file {text:?}");
    }
    // Files the reader refuses, and why: systemd reads something else than the file says.
    let export = "export A=1\nB=2\n";
    node.write("/run/export.env", export.as_bytes(), 0o644);
    let vars = systemd_file_vars(&node, "/run/export.env");
    assert!(
        !vars.contains_key("A") && vars.get("B").map(String::as_str) == Some("2"),
        "systemd reads {vars:?} from {export:?}"
    );
    let err = kube_bootstrap::envfile::parse_str(export).expect_err("export is refused");
    assert_eq!((err.line, err.column), (1, 1));
    let unterminated = "A=\"open\nB=2\n";
    node.write("/run/unterminated.env", unterminated.as_bytes(), 0o644);
    let vars = systemd_file_vars(&node, "/run/unterminated.env");
    assert_eq!(
        vars.get("A").map(String::as_str),
        Some("open\nB=2\n"),
        "systemd takes the following lines into an unterminated value"
    );
    let err = kube_bootstrap::envfile::parse_str(unterminated).expect_err("unterminated quote");
    assert_eq!((err.line, err.column), (1, 3));
    let continued = "# pinned release \\\nKUBE_VERSION=v1.35.2\nB=1\n";
    node.write("/run/continued.env", continued.as_bytes(), 0o644);
    let vars = systemd_file_vars(&node, "/run/continued.env");
    assert!(
        !vars.contains_key("KUBE_VERSION") && vars.contains_key("B"),
        "systemd reads {vars:?} from {continued:?}"
    );
    let err = kube_bootstrap::envfile::parse_str(continued).expect_err("comment continues");
    assert_eq!((err.line, err.column), (1, 18));
    let inline = "A=\"--v=2\" # verbose\n";
    node.write("/run/inline.env", inline.as_bytes(), 0o644);
    let vars = systemd_file_vars(&node, "/run/inline.env");
    assert_eq!(
        vars.get("A").map(String::as_str),
        Some("--v=2# verbose"),
        "systemd keeps an inline comment in the value"
    );
    let err = kube_bootstrap::envfile::parse_str(inline).expect_err("inline comment");
    assert_eq!((err.line, err.column), (1, 11));
}

/// Arguments `$KUBE_ARGS` must carry unchanged, as `KUBE_KUBELET_EXTRA_ARGS` writes them (split
/// like a systemd command line): spaces, both quotes, backslashes, `$`, `%`, an empty argument
/// and a value that looks like a second flag.
const HARD_EXTRA_ARGS: &str = r#"--hard-space="a b  c" --hard-double='say "hi"' --hard-single="it's" --hard-backslash='a\b\\c\' --hard-dollar='$HOME ${PATH} $$ $(id)' --hard-percent='%n %% %' --hard-mixed='"\$`'"'" '' --hard-injected='http://127.0.0.1:2379/ --etcd-injected=1'"#;

#[test]
fn kube_args_expanded_by_systemd_are_exactly_execs_argv() {
    let fake = fake_component();
    let mirror = Mirror::start();
    mirror.publish(VERSION, KUBELET.binary, fake);
    let Some(node) = Node::start() else { return };
    configure(&node, &mirror.url());
    let extra = format!("KUBE_KUBELET_EXTRA_ARGS={HARD_EXTRA_ARGS}");
    let run = |args: &[&str]| {
        let mut all = vec![extra.as_str(), "/opt/bin/kube-bootstrap"];
        all.extend_from_slice(args);
        let out = node.run("env", &all);
        if out.code() != Some(0) {
            node.fail(&format!("kube-bootstrap {args:?} failed\n{out}"));
        }
        out.stdout
    };
    run(&["fetch", "kubelet"]);
    // `flags` prints exec's argv, one argument a line, the binary first.
    let flags = run(&["flags", "kubelet"]);
    let want: Vec<&str> = flags.lines().skip(1).collect();
    assert!(
        want.contains(&"--hard-space=a b  c") && want.contains(&""),
        "the extra arguments reach exec's argv: {want:#?}"
    );

    // systemd itself expands `ExecStart=... $KUBE_ARGS` from the file fetch wrote.
    let out = node.run(
        "systemd-run",
        &[
            "--user",
            "--wait",
            "--pipe",
            "--quiet",
            "-p",
            "EnvironmentFile=/run/kube-bootstrap/kubelet.env",
            "/usr/bin/printf",
            r"%s\n",
            "BEGIN",
            "$KUBE_ARGS",
        ],
    );
    if out.code() != Some(0) {
        node.fail(&format!("systemd-run printf $KUBE_ARGS failed\n{out}"));
    }
    let got: Vec<&str> = out.stdout.lines().collect();
    let env = node
        .read("/run/kube-bootstrap/kubelet.env")
        .unwrap_or_default();
    assert_eq!(got.first(), Some(&"BEGIN"), "{out}");
    assert_eq!(
        got[1..],
        want[..],
        "systemd's argv differs from exec's; the env file:\n{env}"
    );
}
