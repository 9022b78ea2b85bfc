//! `doctor`'s cross-component check on a sandbox leader and worker set up as the README says
//! (`/etc/leader`, `/etc/network-environment`, `pki init`, `pki node`, `pki install`), for
//! the releases on each side of the topology changes, and on broken pairs. `--offline`: the
//! sandboxes' leader address is never contacted.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::cmd::{Kb, Outcome};
use crate::support::{Sandbox, kb, node_sandbox, write};

const LEADER_IP: &str = "10.0.0.1";
const WORKER_IP: &str = "10.0.0.2";

/// A node: the config file names the release (the test harness's environment sets
/// `KUBE_VERSION`, which wins: the struct carries it too), `/etc/leader` the leader, and
/// `/etc/network-environment` this node's address.
struct Node {
    sb: Sandbox,
    version: &'static str,
}

impl Node {
    fn root(&self) -> &Path {
        self.sb.root()
    }

    fn kb(&self) -> Kb {
        kb(self.root()).version(self.version)
    }
}

fn node(version: &'static str, leader: &str, ip: &str) -> Node {
    let sb = node_sandbox(leader, ip);
    write(
        sb.root(),
        "etc/kube-bootstrap.env",
        &format!("KUBE_VERSION={version}\n"),
    );
    Node { sb, version }
}

/// A leader after `pki init`, and a worker with the bundle `pki node NODE` made for it.
fn cluster(version: &'static str, leader: &str, bundle_for: &str) -> (Node, Node) {
    let lead = node(version, leader, LEADER_IP);
    lead.kb().args(&["pki", "init"]).run().success();
    let worker = node(version, leader, WORKER_IP);
    let out = lead.root().join(format!("node-{bundle_for}.tar"));
    lead.kb()
        .args(&["pki", "node", bundle_for, "--out", out.to_str().unwrap()])
        .run()
        .success();
    let pki = worker.root().join("etc/kubernetes/pki");
    fs::create_dir_all(&pki).unwrap();
    // Unpacked with tar, as the README allows, so a bundle for another node gets in.
    let tar = Command::new("tar")
        .arg("-xpf")
        .arg(&out)
        .arg("-C")
        .arg(&pki)
        .status()
        .unwrap();
    assert!(tar.success());
    (lead, worker)
}

/// `doctor --offline --json ARGS` on `sb`: the outcome and the cluster check's lines.
fn doctor(sb: &Node, args: &[&str]) -> (Outcome, Vec<(String, String, String)>) {
    let out = sb
        .kb()
        .args(&["doctor", "--offline", "--json"])
        .args(args)
        .run();
    let doc: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e})\n{out}"));
    // Every warning and failure says what to do.
    for c in doc["checks"].as_array().unwrap() {
        if c["status"] != "ok" {
            assert!(
                c["hint"].as_str().is_some_and(|h| !h.is_empty()),
                "no hint: {c}\n{out}"
            );
        }
    }
    let lines = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "cluster")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("status"), s("finding"), s("hint"))
        })
        .collect();
    (out, lines)
}

const LEADER_ROLE: [&str; 5] = [
    "apiserver",
    "controller-manager",
    "scheduler",
    "kubelet",
    "proxy",
];
const WORKER_ROLE: [&str; 2] = ["kubelet", "proxy"];

fn assert_passes(lines: &[(String, String, String)], out: &Outcome, what: &str) {
    assert!(!lines.is_empty(), "{what}: no cluster check\n{out}");
    for (status, finding, _) in lines {
        assert_eq!(status, "ok", "{what}: {finding}\n{out}");
    }
    assert!(
        lines
            .iter()
            .any(|(_, f, _)| f.starts_with("every file the flags name exists")),
        "{what}\n{out}"
    );
}

#[test]
fn cluster_check_passes_on_a_readme_leader_and_worker_for_each_topology() {
    for (version, sa, tls) in [
        ("v1.9.11", false, false),
        ("v1.19.16", true, false),
        ("v1.23.17", true, true),
        ("v1.36.4", true, true),
    ] {
        let (lead, worker) = cluster(version, LEADER_IP, WORKER_IP);
        let (out, lines) = doctor(&lead, &LEADER_ROLE);
        assert_passes(&lines, &out, version);
        let has = |lines: &[(String, String, String)], needle: &str| {
            lines.iter().any(|(_, f, _)| f.contains(needle))
        };
        assert_eq!(has(&lines, "are one key pair"), sa, "{version}\n{out}");
        assert_eq!(
            has(&lines, "the apiserver certificate covers 10.0.0.1"),
            tls,
            "{version}\n{out}"
        );
        assert_eq!(
            has(&lines, "the apiserver certificate covers 127.0.0.1"),
            tls,
            "{version}\n{out}"
        );
        assert_eq!(
            has(&lines, "is CN=system:node:10.0.0.1, O=system:nodes"),
            tls,
            "{version}\n{out}"
        );
        let (out, lines) = doctor(&worker, &WORKER_ROLE);
        assert_passes(&lines, &out, version);
        assert_eq!(
            has(&lines, "is CN=system:node:10.0.0.2, O=system:nodes"),
            tls,
            "{version}\n{out}"
        );
        assert!(!has(&lines, "are one key pair"), "{version}\n{out}");
    }
}

fn fails_with(lines: &[(String, String, String)], out: &Outcome, needle: &str, hint: &str) {
    assert!(
        lines
            .iter()
            .any(|(s, f, h)| s == "fail" && f.contains(needle) && h.contains(hint)),
        "no failure mentioning {needle:?} with hint {hint:?}\n{out}"
    );
    assert_eq!(out.code(), Some(1), "{out}");
}

#[test]
fn cluster_check_names_the_broken_pair() {
    // sa.pub from another key pair.
    let (lead, _) = cluster("v1.36.4", LEADER_IP, WORKER_IP);
    let (other, _) = cluster("v1.36.4", LEADER_IP, WORKER_IP);
    let pki = |sb: &Node| sb.root().join("etc/kubernetes/pki");
    fs::copy(pki(&other).join("sa.pub"), pki(&lead).join("sa.pub")).unwrap();
    let (out, lines) = doctor(&lead, &LEADER_ROLE);
    fails_with(
        &lines,
        &out,
        "(apiserver --service-account-key-file) is not the public half of",
        "pki init",
    );
    // And on 1.19, where the apiserver only verifies.
    let (lead, _) = cluster("v1.19.16", LEADER_IP, WORKER_IP);
    fs::copy(pki(&other).join("sa.pub"), pki(&lead).join("sa.pub")).unwrap();
    let (out, lines) = doctor(&lead, &LEADER_ROLE);
    fails_with(&lines, &out, "controller-manager signs", "sa.pub");

    // A worker bundle made for another node name.
    let (_, worker) = cluster("v1.36.4", LEADER_IP, "10.0.0.3");
    let (out, lines) = doctor(&worker, &WORKER_ROLE);
    fails_with(
        &lines,
        &out,
        "was made for node '10.0.0.3', but the kubelet registers as '10.0.0.2'",
        "kube-bootstrap pki node 10.0.0.2 --out FILE",
    );

    // An apiserver certificate without the leader's name: /etc/leader changed after pki init.
    let (lead, _) = cluster("v1.36.4", "leader.example.test", WORKER_IP);
    write(
        lead.root(),
        "etc/leader",
        "LEADER_ENDPOINT=moved.example.test\n",
    );
    let (out, lines) = doctor(&lead, &LEADER_ROLE);
    fails_with(
        &lines,
        &out,
        "does not cover moved.example.test",
        "KUBE_APISERVER_SANS",
    );

    // A missing file a flag names.
    let (lead, _) = cluster("v1.23.17", LEADER_IP, WORKER_IP);
    fs::remove_file(pki(&lead).join("scheduler.key")).unwrap();
    // The "file" check names it, once; the cluster check does not repeat it.
    let (out, doc) = report(&lead, &LEADER_ROLE);
    let missing: Vec<_> = line(&doc, "file")
        .into_iter()
        .filter(|(s, f, _)| s == "fail" && f.contains("scheduler.key"))
        .collect();
    assert_eq!(missing.len(), 1, "{out}");
    assert!(missing[0].2.contains("pki init"), "{out}");
    assert!(
        !line(&doc, "cluster")
            .iter()
            .any(|(_, f, _)| f.contains("scheduler.key")),
        "{out}"
    );
    assert_eq!(out.code(), Some(1), "{out}");
}

/// `doctor --offline --json ARGS` on `sb`: the whole report.
fn report(sb: &Node, args: &[&str]) -> (Outcome, Value) {
    let out = sb
        .kb()
        .args(&["doctor", "--offline", "--json"])
        .args(args)
        .run();
    let doc = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e})\n{out}"));
    (out, doc)
}

fn line(doc: &Value, check: &str) -> Vec<(String, String, String)> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == check)
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("status"), s("finding"), s("hint"))
        })
        .collect()
}

fn components(doc: &Value) -> Vec<String> {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn doctor_works_out_the_role_and_says_why() {
    let (lead, worker) = cluster("v1.36.4", LEADER_IP, WORKER_IP);
    let (out, doc) = report(&lead, &[]);
    assert_eq!(components(&doc), LEADER_ROLE, "{out}");
    let role = line(&doc, "role");
    assert_eq!(role.len(), 1, "{out}");
    assert_eq!(role[0].0, "ok", "{out}");
    assert!(role[0].1.contains("a leader: ca.key"), "{out}");

    let (out, doc) = report(&worker, &[]);
    assert_eq!(components(&doc), WORKER_ROLE, "{out}");
    assert!(line(&doc, "role")[0].1.contains("a worker"), "{out}");
    // Leader-only checks are not run on a worker.
    assert!(
        !line(&doc, "flags")
            .iter()
            .any(|(_, f, _)| f.contains("kube-apiserver")),
        "{out}"
    );

    // An enabled unit wins over the PKI files.
    let wants = lead
        .root()
        .join("etc/systemd/system/multi-user.target.wants");
    fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/kube-kubelet.service",
        wants.join("kube-kubelet.service"),
    )
    .unwrap();
    let (out, doc) = report(&lead, &[]);
    assert_eq!(components(&doc), ["kubelet"], "{out}");
    assert!(
        line(&doc, "role")[0].1.contains("units enabled: kubelet"),
        "{out}"
    );
    let (out, doc) = report(&lead, &["--role", "worker"]);
    assert_eq!(components(&doc), WORKER_ROLE, "{out}");
    assert!(line(&doc, "role")[0].1.contains("--role worker"), "{out}");

    // Nothing to go by: every component, a warning that says how to name the role.
    let bare = node("v1.36.4", LEADER_IP, WORKER_IP);
    let (out, doc) = report(&bare, &[]);
    assert_eq!(components(&doc), LEADER_ROLE, "{out}");
    let role = line(&doc, "role");
    assert_eq!(role[0].0, "warn", "{out}");
    assert!(role[0].2.contains("--role leader"), "{out}");
}

#[test]
fn doctor_fails_an_unknown_setting_in_the_config_file_and_suggests_the_name() {
    let (_, worker) = cluster("v1.36.4", LEADER_IP, WORKER_IP);
    write(
        worker.root(),
        "etc/kube-bootstrap.env",
        "KUBE_VERSON=v1.30.0\nHTTPS_PROXY=http://proxy.example:3128\nKUBE_NO_SUCH_SETTING=1\n",
    );
    let (out, doc) = report(&worker, &[]);
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(!out.stdout.contains("every setting valid"), "{out}");
    let config = line(&doc, "config");
    assert_eq!(config.len(), 2, "{out}");
    assert_eq!(config[0].0, "fail");
    assert!(
        config[0].1.contains("unknown setting KUBE_VERSON")
            && config[0].1.contains("did you mean KUBE_VERSION?"),
        "{out}"
    );
    assert!(
        config[0].2.contains("rename KUBE_VERSON to KUBE_VERSION"),
        "{out}"
    );
    assert!(config[1].1.contains("KUBE_NO_SUCH_SETTING"), "{out}");
    assert!(!out.stdout.contains("HTTPS_PROXY"), "{out}");
    // The text report too.
    let text = worker.kb().args(&["doctor", "--offline"]).run();
    assert!(
        text.stdout.contains("fail  config") && !text.stdout.contains("every setting valid"),
        "{text}"
    );
}
