//! `exec`, `flags` and `env` against real files and a real fake component: the process is
//! replaced in place, the argv is what `flags` prints, and bad node files stop it with exit 2.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, fake, kb};

const LEADER: &str = "10.0.0.1";
const NODE_IP: &str = "10.0.0.5";

/// A node with `/etc/leader`, `/etc/network-environment`, certificates, and the fake
/// component fetched as `binary` at `version`.
pub(crate) struct Node {
    pub(crate) sb: Sandbox,
    pub(crate) mirror: Mirror,
    version: &'static str,
}

impl Node {
    pub(crate) fn new(version: &'static str, binaries: &[&str]) -> Node {
        let node = Node {
            sb: Sandbox::new(),
            mirror: Mirror::start(),
            version,
        };
        node.write("etc/leader", &format!("LEADER_ENDPOINT={LEADER}\n"));
        node.write(
            "etc/network-environment",
            &format!("LO_IPV4=127.0.0.1\nETH0_IPV4={NODE_IP}\nDEFAULT_IPV4={NODE_IP}\n"),
        );
        for name in [
            "ca.crt",
            "ca.key",
            "kubelet.crt",
            "kubelet.key",
            "proxy.crt",
            "proxy.key",
        ] {
            node.write(
                &format!("etc/kubernetes/pki/{name}"),
                "not a real certificate\n",
            );
        }
        let bytes = fake::bytes();
        for binary in binaries {
            node.mirror.publish(version, binary, &bytes);
        }
        node.kb().args(&["fetch"]).args(binaries).run().success();
        node
    }

    pub(crate) fn root(&self) -> &Path {
        self.sb.root()
    }

    pub(crate) fn write(&self, rel: &str, content: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    pub(crate) fn kb(&self) -> crate::support::cmd::Kb {
        kb(self.root())
            .version(self.version)
            .mirrors(&[&self.mirror.url()])
            .allow_http()
    }

    pub(crate) fn record_file(&self) -> PathBuf {
        self.root().join("fake.record")
    }

    /// `flags COMPONENT [-- extra]` as lines.
    pub(crate) fn flags(&self, component: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["flags", component];
        if !extra.is_empty() {
            args.push("--");
            args.extend(extra);
        }
        let out = self.kb().args(&args).run();
        out.success();
        out.stdout.lines().map(str::to_owned).collect()
    }

    /// Runs `exec COMPONENT [-- extra]`; returns the child's PID and the fake's record.
    pub(crate) fn exec(
        &self,
        component: &str,
        extra: &[&str],
    ) -> (u32, Option<(u32, Vec<String>)>, std::process::Output) {
        self.exec_with(component, extra, &[])
    }

    /// [`Node::exec`] with `env` added to the process environment.
    pub(crate) fn exec_with(
        &self,
        component: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (u32, Option<(u32, Vec<String>)>, std::process::Output) {
        let _ = fs::remove_file(self.record_file());
        let mut args = vec!["exec", component];
        if !extra.is_empty() {
            args.push("--");
            args.extend(extra);
        }
        let mut kb = self
            .kb()
            .args(&args)
            .env("FAKE_RECORD", self.record_file().display().to_string());
        for (k, v) in env {
            kb = kb.env(k, *v);
        }
        let mut cmd = kb.command();
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn exec");
        let pid = child.id();
        let output = child.wait_with_output().expect("wait for exec");
        (pid, fake::read_record(&self.record_file()), output)
    }
}

#[test]
fn exec_replaces_the_process_and_passes_the_argv_flags_prints() {
    let node = Node::new(VERSION, &["kubelet"]);
    let flags = node.flags("kubelet", &[]);
    assert_eq!(flags[0], node.sb.installed("kubelet").display().to_string());
    assert!(
        flags.contains(&format!("--hostname-override={NODE_IP}")),
        "{flags:?}"
    );
    let (pid, record, output) = node.exec("kubelet", &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (fake_pid, argv) = record.expect("the fake component ran");
    assert_eq!(
        fake_pid, pid,
        "exec must replace kube-bootstrap in place (same PID)"
    );
    assert_eq!(argv, flags, "argv differs from what `flags` printed");
}

#[test]
fn exec_args_after_double_dash_come_last_and_replace_computed_flags() {
    let node = Node::new(VERSION, &["kubelet"]);
    let extra = ["--hostname-override=node-a", "--v=3"];
    let flags = node.flags("kubelet", &extra);
    let (_, record, _) = node.exec("kubelet", &extra);
    let (_, argv) = record.expect("the fake component ran");
    assert_eq!(argv, flags);
    assert_eq!(&argv[argv.len() - 2..], extra);
    assert_eq!(
        argv.iter()
            .filter(|a| a.starts_with("--hostname-override"))
            .count(),
        1,
        "{argv:?}"
    );
}

#[test]
fn bad_leader_endpoints_fail_with_exit_2_naming_file_variable_and_value() {
    let node = Node::new(VERSION, &["kubelet"]);
    for bad in [
        "10.0.0.1 extra",
        "$(reboot)",
        "leader;id",
        "/etc/leader",
        "10.0.0.256",
        "ftp://leader",
        "https://leader/api",
    ] {
        node.write("etc/leader", &format!("LEADER_ENDPOINT='{bad}'\n"));
        let (_, record, output) = node.exec("kubelet", &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("LEADER_ENDPOINT"), "{bad:?}: {stderr}");
        assert!(stderr.contains("etc/leader'"), "{bad:?}: {stderr}");
        assert!(stderr.contains(&format!("'{bad}'")), "{bad:?}: {stderr}");
        assert!(record.is_none(), "{bad:?}: the component ran");
    }
    node.write("etc/leader", "LEADER_ENDPOINT=\n");
    let (_, _, output) = node.exec("kubelet", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not set LEADER_ENDPOINT"));
}

#[test]
fn node_and_config_files_systemd_would_misread_fail_with_file_line_and_column() {
    let node = Node::new(VERSION, &["kubelet"]);
    // `export` makes systemd's EnvironmentFile= drop the line: the unit would run without the
    // leader, so exec says so where the line is.
    node.write(
        "etc/leader",
        "# the leader\nexport LEADER_ENDPOINT=10.0.0.1\n",
    );
    let (_, record, output) = node.exec("kubelet", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2, column 1"), "{stderr}");
    assert!(stderr.contains("remove 'export '"), "{stderr}");
    assert!(record.is_none(), "the component ran");
    node.write("etc/leader", "LEADER_ENDPOINT=10.0.0.1\n");

    // The config file: an unterminated quote, which systemd would extend over the next lines.
    node.write(
        "etc/kube-bootstrap.env",
        "KUBE_ALLOW_HTTP=1\nKUBE_KUBELET_EXTRA_ARGS=\"--v=2\n",
    );
    let out = node.kb().args(&["flags", "kubelet"]).run();
    out.failure(2)
        .mentions("etc/kube-bootstrap.env':2:25: unterminated double quote");
    assert!(out.stdout.is_empty(), "flags printed {}", out.stdout);
}

#[test]
fn missing_leader_file_fails_with_exit_2_naming_flag_and_file() {
    let node = Node::new(VERSION, &["kube-proxy"]);
    fs::remove_file(node.root().join("etc/leader")).unwrap();
    let (_, record, output) = node.exec("proxy", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: --config needs LEADER_ENDPOINT from '"),
        "{stderr}"
    );
    assert!(stderr.contains("etc/leader'"), "{stderr}");
    assert!(record.is_none());
}

#[test]
fn missing_default_ipv4_fails_with_exit_2_and_node_ip_overrides_it() {
    let node = Node::new(VERSION, &["kubelet"]);
    // setup-network-environment omits DEFAULT_IPV4 when there is no default route.
    node.write(
        "etc/network-environment",
        "LO_IPV4=127.0.0.1\nETH0_IPV4=10.0.0.5\n",
    );
    let (_, record, output) = node.exec("kubelet", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--hostname-override needs DEFAULT_IPV4 from '"),
        "{stderr}"
    );
    assert!(stderr.contains("etc/network-environment"), "{stderr}");
    assert!(record.is_none());

    let flags = node
        .kb()
        .env("KUBE_NODE_IP", "10.0.0.9")
        .args(&["flags", "kubelet"])
        .run();
    flags.success();
    assert!(
        flags.stdout.contains("--hostname-override=10.0.0.9"),
        "{}",
        flags.stdout
    );
}

#[test]
fn invalid_service_range_fails_with_exit_2_naming_the_variable() {
    let node = Node::new(VERSION, &["kubelet"]);
    node.write(
        "etc/kube-bootstrap.env",
        "KUBE_SERVICE_CLUSTER_IP_RANGE=172.22.0.1/16\n",
    );
    let (_, record, output) = node.exec("kubelet", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("KUBE_SERVICE_CLUSTER_IP_RANGE='172.22.0.1/16'"),
        "{stderr}"
    );
    assert!(stderr.contains("etc/kube-bootstrap.env"), "{stderr}");
    assert!(record.is_none());
}

#[test]
fn binary_modified_after_fetch_is_refused_and_never_run() {
    let node = Node::new(VERSION, &["kubelet"]);
    let installed = node.sb.installed("kubelet");
    let mut bytes = fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"tampered");
    fs::write(&installed, bytes).unwrap();
    let (_, record, output) = node.exec("kubelet", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to run"), "{stderr}");
    assert!(stderr.contains("changed since it was fetched"), "{stderr}");
    assert!(
        stderr.contains("hint: run 'kube-bootstrap fetch kubelet' first"),
        "{stderr}"
    );
    assert!(record.is_none(), "a modified binary was executed");

    // Same size, same mtime, different bytes: only a full re-hash notices.
    let node = Node::new(VERSION, &["kubelet"]);
    let installed = node.sb.installed("kubelet");
    let meta = fs::metadata(&installed).unwrap();
    let mut bytes = fs::read(&installed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let f = fs::OpenOptions::new().write(true).open(&installed).unwrap();
    std::os::unix::fs::FileExt::write_at(&f, &bytes[last..], last as u64).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
    drop(f);
    let out = node
        .kb()
        .env("KUBE_VERIFY", "full")
        .env("FAKE_RECORD", node.record_file().display().to_string())
        .args(&["exec", "kubelet"])
        .run();
    out.failure(1).mentions("refusing to run");
    assert!(
        !node.record_file().exists(),
        "a modified binary was executed"
    );
}

#[test]
fn missing_binary_is_refused_with_a_hint() {
    let node = Node::new(VERSION, &["kubelet"]);
    fs::remove_file(node.sb.installed("kubelet")).unwrap();
    node.kb()
        .args(&["exec", "kubelet"])
        .run()
        .failure(1)
        .mentions("installed binary is missing")
        .mentions("kube-bootstrap fetch kubelet");
}

#[test]
fn missing_certificates_are_errors_in_exec_and_warnings_in_flags() {
    let node = Node::new(VERSION, &["kubelet"]);
    fs::remove_file(node.root().join("etc/kubernetes/pki/kubelet.key")).unwrap();
    let (_, record, output) = node.exec("kubelet", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("pki/kubelet.key"), "{stderr}");
    // The hint names the command that makes the file.
    assert!(
        stderr.contains("hint: run 'kube-bootstrap pki init' on the leader; on a worker, 'kube-bootstrap pki install FILE'"),
        "{stderr}"
    );
    assert!(record.is_none());
    let explain = node.kb().args(&["flags", "kubelet", "--explain"]).run();
    explain.success();
    assert!(explain.stdout.contains("MISSING"), "{}", explain.stdout);
    assert!(
        explain
            .stdout
            .contains("<- run 'kube-bootstrap pki init' on the leader; on a worker"),
        "{}",
        explain.stdout
    );
    // Said once: on stdout, not logged as well.
    assert!(explain.stdout.contains("kubelet.key"), "{}", explain.stdout);
    assert!(
        !explain.stderr.contains("kubelet.key"),
        "{}",
        explain.stderr
    );
}

#[test]
fn edited_leader_shows_up_in_the_kubeconfig_on_the_next_exec() {
    let node = Node::new(VERSION, &["kubelet"]);
    let kubeconfig = node.root().join("etc/kubernetes/kubelet.conf");
    let (_, record, _) = node.exec("kubelet", &[]);
    assert!(record.is_some());
    let text = fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        text.contains("\"server\": \"https://10.0.0.1:6443\""),
        "{text}"
    );
    node.write("etc/leader", "LEADER_ENDPOINT=leader.example:7443\n");
    let (_, record, _) = node.exec("kubelet", &[]);
    assert!(record.is_some());
    let text = fs::read_to_string(&kubeconfig).unwrap();
    assert!(
        text.contains("\"server\": \"https://leader.example:7443\""),
        "{text}"
    );
}

#[test]
fn fetch_writes_kube_args_and_env_prints_the_same_file() {
    let node = Node::new(VERSION, &["kubelet"]);
    let written = fs::read_to_string(node.sb.env_file("kubelet")).unwrap();
    let args = node.flags("kubelet", &[])[1..].join(" ");
    assert!(
        written.contains(&format!("KUBE_ARGS=\"{args}\"")),
        "{written}"
    );
    assert!(
        node.root()
            .join("etc/kubernetes/kubelet-config.yaml")
            .exists()
    );
    let env = node.kb().args(&["env", "kubelet"]).run();
    env.success();
    assert_eq!(env.stdout, written);
}

#[test]
fn old_releases_get_the_insecure_fleet_topology() {
    let node = Node::new("v1.7.16", &["kubelet", "kube-apiserver"]);
    // 1.7 deprecates --api-servers: the server comes from the kubeconfig.
    let flags = node.flags("kubelet", &[]);
    assert!(
        flags.contains(&"--require-kubeconfig=true".to_string()),
        "{flags:?}"
    );
    let json = node.kb().args(&["flags", "kubelet", "--json"]).run();
    json.success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let kubeconfig = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("kubelet.conf"))
        .unwrap();
    let kubeconfig: serde_json::Value =
        serde_json::from_str(kubeconfig["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        kubeconfig["clusters"][0]["cluster"]["server"],
        format!("http://{LEADER}:9090")
    );
    let flags = node.flags("apiserver", &[]);
    assert!(
        flags.contains(&"--insecure-port=9090".to_string()),
        "{flags:?}"
    );
    assert!(
        flags.contains(&"--service-cluster-ip-range=172.22.0.0/16".to_string()),
        "{flags:?}"
    );
    let (pid, record, _) = node.exec("apiserver", &[]);
    let (fake_pid, argv) = record.expect("the fake apiserver ran");
    assert_eq!(pid, fake_pid);
    assert_eq!(argv, flags);
}

#[test]
fn flags_json_and_explain_name_the_sources() {
    let node = Node::new(VERSION, &["kubelet"]);
    let json = node.kb().args(&["flags", "kubelet", "--json"]).run();
    json.success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["component"], "kubelet");
    let hostname = doc["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "--hostname-override")
        .unwrap();
    assert!(
        hostname["why"][0]
            .as_str()
            .unwrap()
            .contains("DEFAULT_IPV4"),
        "{hostname}"
    );
    let explain = node.kb().args(&["flags", "kubelet", "--explain"]).run();
    explain.success();
    assert!(
        explain.stdout.contains("LEADER_ENDPOINT from '"),
        "{}",
        explain.stdout
    );
}

/// Makes the sandbox's `/sys/fs/cgroup` a tmpfs, which is what a cgroup v1 (legacy or hybrid)
/// host mounts there; `false` when this machine has no tmpfs to point at. Not the host's own
/// hierarchy: `ip netns exec` mounts a sysfs of its own over `/sys`.
pub(crate) fn fake_cgroup_v1(root: &Path) -> bool {
    let tmpfs = ["/dev/shm", "/run"].into_iter().find(|dir| {
        nix::sys::statfs::statfs(*dir)
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC)
    });
    let Some(tmpfs) = tmpfs else {
        eprintln!("skipped: no tmpfs to stand in for a cgroup v1 hierarchy");
        return false;
    };
    let dir = root.join("sys/fs");
    fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(tmpfs, dir.join("cgroup")).unwrap();
    true
}

/// The log lines of `stderr` at `level` (`WARN`, `ERROR`) that mention `needle`.
fn log_lines<'a>(stderr: &'a str, level: &str, needle: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| l.contains(level) && l.contains(needle))
        .collect()
}

#[test]
fn exec_kubelet_on_cgroup_v1_errors_by_default_and_warns_once_when_allowed() {
    let node = Node::new(VERSION, &["kubelet"]);
    if !fake_cgroup_v1(node.root()) {
        return;
    }
    // The default: kubelet 1.36 refuses cgroup v1, and exec says why before it starts it.
    let (_, record, output) = node.exec("kubelet", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        record.is_some(),
        "the kubelet decides, exec starts it\n{stderr}"
    );
    let errors = log_lines(&stderr, "ERROR", "cgroup v1");
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("KUBE_KUBELET_FAIL_CGROUPV1=false"),
        "the hint names the setting: {stderr}"
    );
    assert!(!stderr.contains("--fail-cgroupv1"), "{stderr}");

    // KUBE_KUBELET_FAIL_CGROUPV1=false: written into the kubelet's file, one warning, no error.
    let (_, record, output) =
        node.exec_with("kubelet", &[], &[("KUBE_KUBELET_FAIL_CGROUPV1", "false")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(record.is_some(), "{stderr}");
    assert!(log_lines(&stderr, "ERROR", "").is_empty(), "{stderr}");
    let warnings = log_lines(&stderr, "WARN", "cgroup");
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("deprecated cgroup version") && warnings[0].contains("cgroup v1"),
        "{stderr}"
    );
    let config: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(node.root().join("etc/kubernetes/kubelet-config.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["failCgroupV1"], false, "{config}");
}

#[test]
fn host_settings_reach_the_files_and_explain_names_their_origin() {
    let node = Node::new(VERSION, &["kubelet", "kube-proxy"]);
    node.write(
        "etc/kube-bootstrap.env",
        "KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS=yes\nKUBE_PROXY_CONNTRACK_MAX_PER_CORE=0\n",
    );
    let out = node
        .kb()
        .env("KUBE_KUBELET_FAIL_CGROUPV1", "false")
        .args(&["flags", "kubelet", "--explain"])
        .run();
    out.success();
    assert!(
        out.stdout
            .contains("failCgroupV1 false (KUBE_KUBELET_FAIL_CGROUPV1 from the environment"),
        "{out}"
    );
    assert!(
        out.stdout.contains(
            "protectKernelDefaults true (KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS from config file"
        ),
        "{out}"
    );
    let out = node.kb().args(&["flags", "kube-proxy", "--json"]).run();
    out.success();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let file = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("proxy-config.yaml"))
        .unwrap();
    assert!(
        file["why"]
            .as_str()
            .unwrap()
            .contains("conntrack.maxPerCore 0 (KUBE_PROXY_CONNTRACK_MAX_PER_CORE from config file"),
        "{file}"
    );
    let doc: serde_json::Value = serde_json::from_str(file["content"].as_str().unwrap()).unwrap();
    assert_eq!(doc["conntrack"], serde_json::json!({"maxPerCore": 0}));

    // A release without the field: one warning, and nothing written.
    let out = node
        .kb()
        .version("v1.30.14")
        .env("KUBE_KUBELET_FAIL_CGROUPV1", "false")
        .args(&["flags", "kubelet", "--explain"])
        .run();
    out.success();
    let warned: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("KUBE_KUBELET_FAIL_CGROUPV1"))
        .collect();
    // One warning, on stdout with the explanation; not logged as well.
    assert_eq!(warned.len(), 0, "{out}");
    assert!(
        out.stdout
            .contains("# warning: KUBE_KUBELET_FAIL_CGROUPV1 from the environment is ignored: kubelet 1.30 has no failCgroupV1"),
        "{out}"
    );
    assert!(!out.stdout.contains("failCgroupV1 false"), "{out}");
}

/// Replaces `rel` with a FIFO no one ever writes to.
fn plant_fifo(root: &Path, rel: &str) {
    let path = root.join(rel);
    let _ = fs::remove_file(&path);
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[test]
fn exec_and_explain_refuse_a_fifo_at_a_required_file_without_waiting() {
    let node = Node::new(VERSION, &["kubelet"]);
    plant_fifo(node.root(), "etc/kubernetes/pki/ca.crt");
    let limit = std::time::Duration::from_secs(20);
    node.kb()
        .args(&["exec", "kubelet"])
        .env("FAKE_RECORD", node.record_file().display().to_string())
        .limit(limit)
        .run()
        .failure(1)
        .mentions("pki/ca.crt' (")
        .mentions("): not a regular file")
        .mentions("hint: restore");
    assert!(fake::read_record(&node.record_file()).is_none());
    let explain = node
        .kb()
        .args(&["flags", "kubelet", "--explain"])
        .limit(limit)
        .run();
    explain.success();
    assert!(
        explain.stdout.contains("): not a regular file"),
        "{explain}"
    );
}

#[test]
fn a_fifo_at_ca_crt_does_not_stop_the_skew_guard_or_the_fetch() {
    let node = Node::new(VERSION, &["kubelet"]);
    plant_fifo(node.root(), "etc/kubernetes/pki/ca.crt");
    let bytes = fake::bytes();
    node.mirror.publish("v1.36.5", "kubelet", &bytes);
    kb(node.root())
        .version("v1.36.5")
        .mirrors(&[&node.mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_DEADLINE", "20")
        .args(&["fetch", "kubelet"])
        .limit(std::time::Duration::from_secs(40))
        .run()
        .success();
}
