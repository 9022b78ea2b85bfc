//! A throwaway systemd node: a real journald and `systemd --user` manager in a private mount
//! namespace, with its own /etc, /opt, /run and /var/lib (see `tests/systemd/node.sh`).
//!
//! The namespace lives as long as the [`Node`]: commands run inside it through `nsenter`, and
//! dropping the node closes the holder script's stdin, which tears everything down.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::cmd::{Outcome, bin, spawn_bounded, try_spawn_bounded};
use super::shell_quote;

/// The script that sets up and tears down the namespace.
const NODE_SH: &str = include_str!("../../systemd/node.sh");

/// PATH inside the node.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Where the user manager's runtime directory is inside the node.
const XDG_RUNTIME_DIR: &str = "/run/user/0";
/// Where the user manager reads unit files from (one of its unit paths under the runtime dir).
pub const UNIT_DIR: &str = "/run/user/0/systemd/user";
/// The journal directory inside the node.
pub const JOURNAL_DIR: &str = "/run/log/journal";

/// Bound on the setup: mounts, journald and the user manager reaching `running`.
const SETUP_LIMIT: Duration = Duration::from_secs(45);
/// Bound on one command run inside the node.
const COMMAND_LIMIT: Duration = Duration::from_secs(30);
/// The holder tears the node down by itself after this long, whatever the test does.
const MAX_LIFETIME_SECS: u64 = 300;
/// Bound on the teardown after stdin closes (its own waits add up to less).
const TEARDOWN_LIMIT: Duration = Duration::from_secs(60);

/// The repository's `systemd/` directory, holding the unit files under test.
pub fn unit_source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

/// Every `*.service` and `*.timer` file in `systemd/`, sorted.
pub fn unit_files() -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = fs::read_dir(unit_source_dir())
        .expect("read systemd/")
        .map(|e| e.expect("systemd/ entry").path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "service" || e == "timer")
        })
        .collect();
    units.sort();
    units
}

/// Set to `1` to skip the systemd tests on a host that cannot run them (not root, no mount or
/// cgroup namespaces). Without it such a host fails them, saying what is missing.
pub const SKIP_VAR: &str = "KUBE_BOOTSTRAP_SKIP_SYSTEMD_TESTS";

/// `Err(reason)` when this machine cannot give a test a private mount and cgroup namespace (not
/// root, unshare forbidden, a kernel without cgroup namespaces).
pub fn namespaces_available() -> Result<(), String> {
    cgroup2_hierarchy()?;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "-C", "--propagation", "private", "true"])
        .stdin(Stdio::null());
    let running = try_spawn_bounded(cmd, "unshare", COMMAND_LIMIT)
        .map_err(|e| format!("cannot run unshare (util-linux): {e}"))?;
    match running.finish() {
        Ok(out) if out.code() == Some(0) => Ok(()),
        Ok(out) | Err(out) => Err(format!(
            "`unshare -m -C` (private mount and cgroup namespaces, as root) is not permitted \
             here ({}): {}",
            out.status,
            out.stderr.trim()
        )),
    }
}

/// Where the host's cgroup2 hierarchy is mounted (unified, or hybrid's `unified`), or why
/// there is none: a pure cgroup v1 host cannot place a test in a cgroup of its own.
pub fn cgroup2_hierarchy() -> Result<PathBuf, String> {
    use nix::sys::statfs::{CGROUP2_SUPER_MAGIC, statfs};
    for dir in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if statfs(dir).is_ok_and(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC) {
            return Ok(PathBuf::from(dir));
        }
    }
    Err(
        "no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified (a pure cgroup v1 host)"
            .into(),
    )
}

/// `Ok(true)` when the systemd tests can run; `Ok(false)` (after saying so) when the host
/// cannot and [`SKIP_VAR`] asks to skip them; panics with what is missing otherwise.
pub fn systemd_tests_runnable() -> bool {
    match namespaces_available() {
        Ok(()) => true,
        Err(reason) if std::env::var(SKIP_VAR).as_deref() == Ok("1") => {
            eprintln!("skipped ({SKIP_VAR}=1): {reason}");
            false
        }
        Err(reason) => panic!(
            "this host cannot run the systemd tests: {reason}\n\
             (they need root, util-linux's unshare, Linux 4.6+ and a cgroup2 hierarchy; set {SKIP_VAR}=1 to skip them)"
        ),
    }
}

/// A running node; torn down on drop.
pub struct Node {
    holder: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    scratch: TempDir,
    inputs: std::cell::Cell<u32>,
}

impl Node {
    /// Starts a node, or returns `None` when the host cannot and [`SKIP_VAR`] asks to skip
    /// (see [`systemd_tests_runnable`]). Any other setup failure panics with the reason.
    pub fn start() -> Option<Node> {
        if !systemd_tests_runnable() {
            return None;
        }
        let scratch = tempfile::Builder::new()
            .prefix("kb-node-")
            .tempdir()
            .expect("create node scratch dir");
        let script = scratch.path().join("node.sh");
        fs::write(&script, NODE_SH).expect("write node.sh");
        let stderr = fs::File::create(scratch.path().join("node.stderr")).expect("stderr file");
        let mut holder = Command::new("unshare")
            .args(["-m", "-C", "--propagation", "private", "bash"])
            .arg(&script)
            .arg(bin())
            .arg(scratch.path())
            .arg(MAX_LIFETIME_SECS.to_string())
            .env_clear()
            .env("PATH", PATH)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn unshare");
        let stdin = holder.stdin.take();
        let stdout = holder.stdout.take().expect("holder stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut node = Node {
            holder,
            stdin,
            pid: 0,
            scratch,
            inputs: std::cell::Cell::new(0),
        };
        match rx.recv_timeout(SETUP_LIMIT) {
            Ok(line) => match line.strip_prefix("ready ").map(str::parse::<u32>) {
                Some(Ok(pid)) => node.pid = pid,
                _ => panic!("unexpected line from node.sh: {line:?}\n{}", node.logs()),
            },
            Err(e) => panic!("node did not come up ({e})\n{}", node.logs()),
        }
        Some(node)
    }

    /// A command running `program args...` inside the node's mount namespace, with the
    /// user manager's runtime directory in its environment.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid.to_string())
            .args(["-m", "--", program])
            .args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("XDG_RUNTIME_DIR", XDG_RUNTIME_DIR)
            .env("HOME", "/run/home")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `program args...` inside the node, bounded in time.
    pub fn run(&self, program: &str, args: &[&str]) -> Outcome {
        spawn_bounded(self.command(program, args), program, COMMAND_LIMIT).wait()
    }

    /// Runs a bash script inside the node.
    pub fn sh(&self, script: &str) -> Outcome {
        self.run("bash", &["-c", script])
    }

    /// Runs a bash script inside the node and returns its stdout; panics if it fails.
    pub fn ok(&self, script: &str) -> String {
        let out = self.sh(script);
        if out.code() != Some(0) {
            self.fail(&format!("`{script}` failed\n{out}"));
        }
        out.stdout
    }

    /// Writes `contents` to `path` inside the node (parents created), with `mode`.
    pub fn write(&self, path: &str, contents: &[u8], mode: u32) {
        let n = self.inputs.get() + 1;
        self.inputs.set(n);
        let source = self.scratch.path().join(format!("input-{n}"));
        fs::write(&source, contents).expect("write node input");
        self.ok(&format!(
            "install -D -m {mode:o} {} {}",
            shell_quote(&source.to_string_lossy()),
            shell_quote(path)
        ));
    }

    /// The contents of `path` inside the node, `None` if it cannot be read.
    pub fn read(&self, path: &str) -> Option<String> {
        let out = self.run("cat", &["--", path]);
        (out.code() == Some(0)).then_some(out.stdout)
    }

    /// Whether `path` exists inside the node.
    pub fn exists(&self, path: &str) -> bool {
        self.run("test", &["-e", path]).code() == Some(0)
    }

    /// `systemctl --user ARGS...`.
    pub fn systemctl(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["--user", "--no-pager"];
        all.extend_from_slice(args);
        self.run("systemctl", &all)
    }

    /// One property of a unit (`systemctl --user show -p PROP --value UNIT`).
    pub fn show(&self, unit: &str, property: &str) -> String {
        let out = self.systemctl(&["show", "-p", property, "--value", unit]);
        if out.code() != Some(0) {
            self.fail(&format!("systemctl show {unit} failed\n{out}"));
        }
        out.stdout.trim_end_matches('\n').to_owned()
    }

    /// Copies every unit file of `systemd/`, byte for byte, into the user manager's unit path
    /// and reloads it.
    pub fn install_units(&self) {
        for unit in unit_files() {
            let name = unit.file_name().expect("unit name").to_string_lossy();
            let bytes = fs::read(&unit).expect("read unit file");
            self.write(&format!("{UNIT_DIR}/{name}"), &bytes, 0o644);
        }
        self.ok("systemctl --user daemon-reload");
    }

    /// Journal entries matching journalctl `matches` (e.g. `SYSLOG_IDENTIFIER=kube-bootstrap`).
    pub fn journal(&self, matches: &[&str]) -> Vec<Entry> {
        let mut args = vec!["-D", JOURNAL_DIR, "-o", "json", "--no-pager"];
        args.extend_from_slice(matches);
        let out = self.run("journalctl", &args);
        // journalctl exits 1 when nothing matches a field that was never logged.
        if !matches!(out.code(), Some(0 | 1)) {
            self.fail(&format!("journalctl failed\n{out}"));
        }
        out.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Entry(serde_json::from_str(l).expect("journalctl -o json line")))
            .collect()
    }

    /// Polls `cond` every 100 ms for up to `limit`; panics with the node's logs if it stays false.
    pub fn wait_until(&self, limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !cond() {
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {limit:?} waiting for {what}"));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Panics with `msg` and the node's logs.
    pub fn fail(&self, msg: &str) -> ! {
        panic!("{msg}\n{}", self.logs())
    }

    /// Diagnostics: the holder's stderr, the manager's and journald's own output, unit
    /// states and the tail of the journal.
    pub fn logs(&self) -> String {
        let mut out = self.file_logs();
        if self.pid == 0 {
            return out;
        }
        for (name, program, args) in [
            (
                "units",
                "systemctl",
                &["--user", "--no-pager", "--all", "list-units", "kube-*"][..],
            ),
            (
                "journal (last 150 entries)",
                "journalctl",
                &[
                    "-D",
                    JOURNAL_DIR,
                    "--no-pager",
                    "-n",
                    "150",
                    "-o",
                    "short-monotonic",
                ][..],
            ),
        ] {
            let text =
                match spawn_bounded(self.command(program, args), program, COMMAND_LIMIT).finish() {
                    Ok(o) => o.stdout,
                    Err(o) => format!("(killed after {COMMAND_LIMIT:?})\n{}", o.stdout),
                };
            let _ = writeln!(out, "--- {name} ---\n{text}");
        }
        out
    }

    /// The logs node.sh, the manager and journald wrote to the scratch directory.
    fn file_logs(&self) -> String {
        let mut out = String::new();
        for name in ["node.stderr", "manager.log", "journald.log"] {
            let text = fs::read_to_string(self.scratch.path().join(name)).unwrap_or_default();
            let _ = writeln!(out, "--- {name} ---\n{text}");
        }
        out
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // End of input tells node.sh to tear down.
        drop(self.stdin.take());
        let deadline = Instant::now() + TEARDOWN_LIMIT;
        loop {
            match self.holder.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        eprintln!("node.sh exited with {status}\n{}", self.file_logs());
                    }
                    return;
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        eprintln!(
            "node.sh did not tear down within {TEARDOWN_LIMIT:?}; killing it\n{}",
            self.file_logs()
        );
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// One journal entry, as `journalctl -o json` prints it.
#[derive(Debug, Clone)]
pub struct Entry(pub Value);

impl Entry {
    /// A field as text. journalctl prints fields that are not plain text as arrays of bytes,
    /// and fields given several times as arrays of values (the first one is taken).
    pub fn get(&self, field: &str) -> Option<String> {
        match self.0.get(field)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) if items.iter().all(Value::is_u64) => {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(Value::as_u64)
                    .map(|b| b as u8)
                    .collect();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            Value::Array(items) => items
                .first()
                .and_then(|v| Entry(serde_json::json!({ "v": v })).get("v")),
            _ => None,
        }
    }

    /// Whether `field` is `value`.
    pub fn is(&self, field: &str, value: &str) -> bool {
        self.get(field).as_deref() == Some(value)
    }

    /// The entry's MESSAGE and every other field as `NAME=value` lines, for searching.
    pub fn text(&self) -> String {
        let Value::Object(map) = &self.0 else {
            return String::new();
        };
        map.keys()
            .filter_map(|k| self.get(k).map(|v| format!("{k}={v}\n")))
            .collect()
    }
}
