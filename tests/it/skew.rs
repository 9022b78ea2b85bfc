//! The version-skew guard against a TLS stand-in for the apiserver's `/version` on 127.0.0.1,
//! serving the JSON the real apiserver returns, signed by the cluster CA in KUBE_PKI_DIR.

use std::fs;
use std::net::TcpListener;

use tempfile::TempDir;

use crate::support::artifact::{self, artifact_path};
use crate::support::mirror::Mirror;
use crate::support::server::Served;
use crate::support::{Sandbox, kb};
use crate::tls::{https_server, internal_pki};

/// The apiserver stand-in: its files, and the server (killed on drop).
struct Apiserver {
    dir: TempDir,
    server: Served,
}

impl Apiserver {
    fn start(git_version: &str) -> Apiserver {
        let dir = tempfile::tempdir().unwrap();
        let (_, cert, key) = internal_pki(dir.path());
        let www = dir.path().join("www");
        fs::create_dir_all(&www).unwrap();
        let minor = git_version.split('.').nth(1).unwrap();
        fs::write(
            www.join("version"),
            format!(
                r#"{{
  "major": "1",
  "minor": "{minor}",
  "emulationMajor": "1",
  "emulationMinor": "{minor}",
  "minCompatibilityMajor": "1",
  "minCompatibilityMinor": "{}",
  "gitVersion": "{git_version}",
  "gitCommit": "0123456789abcdef0123456789abcdef01234567",
  "gitTreeState": "clean",
  "buildDate": "2026-11-12T10:00:00Z",
  "goVersion": "go1.25.3",
  "compiler": "gc",
  "platform": "linux/amd64"
}}"#,
                minor.parse::<u32>().unwrap() - 1
            ),
        )
        .unwrap();
        let server = https_server(&www, &cert, &key);
        Apiserver { dir, server }
    }
}

/// A node whose leader is `leader` and whose KUBE_PKI_DIR holds `ca` (when given).
fn node(leader: &str, ca: Option<&Apiserver>) -> Sandbox {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.root().join("etc/kubernetes/pki")).unwrap();
    fs::write(
        sb.root().join("etc/leader"),
        format!("LEADER_ENDPOINT={leader}\n"),
    )
    .unwrap();
    if let Some(api) = ca {
        fs::copy(
            api.dir.path().join("ca.crt"),
            sb.root().join("etc/kubernetes/pki/ca.crt"),
        )
        .unwrap();
    }
    sb
}

/// A mirror with kubelet and kube-proxy at `version`.
fn mirror(version: &str) -> Mirror {
    let m = Mirror::start();
    for (i, b) in ["kubelet", "kube-proxy"].iter().enumerate() {
        m.publish(version, b, &artifact::elf(64 * 1024, 0x20 + i as u8));
    }
    m
}

fn guarded_fetch(sb: &Sandbox, m: &Mirror, version: &str, what: &str) -> crate::support::cmd::Kb {
    kb(sb.root())
        .version(version)
        .mirrors(&[&m.url()])
        .allow_http()
        .env("KUBE_SKEW_CHECK", "on")
        .fetch(&[what])
}

#[test]
fn skew_guard_refuses_a_kubelet_newer_than_the_apiserver() {
    let api = Apiserver::start("v1.35.2");
    let sb = node(&format!("127.0.0.1:{}", api.server.port), Some(&api));
    let m = mirror("v1.36.4");

    guarded_fetch(&sb, &m, "v1.36.4", "kubelet")
        .run()
        .failure(1)
        .mentions("refusing kubelet v1.36.4")
        .mentions("runs v1.35.2")
        .mentions("version-skew policy")
        .mentions("KUBE_SKEW_CHECK=off");
    assert!(!sb.installed("kubelet").exists());
    assert!(
        m.gets(&artifact_path("v1.36.4", "kubelet")).is_empty(),
        "refused before downloading"
    );

    // kube-proxy follows the same rule; the guard can be turned off.
    guarded_fetch(&sb, &m, "v1.36.4", "proxy")
        .run()
        .failure(1)
        .mentions("refusing kube-proxy v1.36.4");
    guarded_fetch(&sb, &m, "v1.36.4", "kubelet")
        .env("KUBE_SKEW_CHECK", "off")
        .run()
        .success();
}

#[test]
fn skew_guard_allows_an_older_kubelet() {
    let api = Apiserver::start("v1.36.4");
    let sb = node(&format!("127.0.0.1:{}", api.server.port), Some(&api));
    let m = mirror("v1.35.3");

    guarded_fetch(&sb, &m, "v1.35.3", "kubelet")
        .run()
        .success()
        .mentions("within the version-skew policy");
    assert!(sb.installed("kubelet").exists());
}

#[test]
fn skew_guard_refuses_a_kubelet_too_far_behind() {
    let api = Apiserver::start("v1.36.4");
    let sb = node(&format!("127.0.0.1:{}", api.server.port), Some(&api));
    let m = mirror("v1.32.0");

    guarded_fetch(&sb, &m, "v1.32.0", "kubelet")
        .run()
        .failure(1)
        .mentions("more than 3 minor releases behind");
}

#[test]
fn unreachable_leader_only_warns() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sb = node(&format!("127.0.0.1:{port}"), None);
    let m = mirror("v1.36.4");

    let out = guarded_fetch(&sb, &m, "v1.36.4", "kubelet").run();
    out.success();
    assert!(sb.installed("kubelet").exists());
    // One line: the URL, "not reachable", and what fetch did instead; no cause chain.
    let url = format!("https://127.0.0.1:{port}");
    let lines: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.contains("skew") || l.contains(&url))
        .collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].contains(&format!(
            "version skew not checked: {url} not reachable; installing v1.36.4 without the check"
        )),
        "{out}"
    );
    assert!(
        !out.stderr.to_lowercase().contains("connection refused"),
        "{out}"
    );
    // The whole chain under -v.
    let fresh = node(&format!("127.0.0.1:{port}"), None);
    let verbose = guarded_fetch(&fresh, &m, "v1.36.4", "kubelet")
        .args(&["-v"])
        .run();
    verbose.success();
    assert!(
        verbose.stderr.to_lowercase().contains("connection refused"),
        "{verbose}"
    );
}

#[test]
fn doctor_reports_skew_between_installed_control_plane_binaries() {
    let sb = Sandbox::new();
    let m = Mirror::start();
    m.publish("v1.36.4", "kube-apiserver", &artifact::elf(64 * 1024, 1));
    m.publish("v1.34.0", "kube-scheduler", &artifact::elf(64 * 1024, 2));
    for (v, c) in [("v1.36.4", "apiserver"), ("v1.34.0", "scheduler")] {
        kb(sb.root())
            .version(v)
            .mirrors(&[&m.url()])
            .allow_http()
            .fetch(&[c])
            .run()
            .success();
    }
    let out = kb(sb.root())
        .args(&["doctor", "apiserver", "scheduler"])
        .run();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("kube-scheduler v1.34.0 is more than 1 minor"))
        .unwrap_or_else(|| panic!("no skew line\n{out}"));
    assert!(line.contains("kube-apiserver v1.36.4"), "{line}");
}

#[test]
fn a_leaders_git_version_cannot_forge_a_hint_line_or_send_escapes() {
    // JSON escapes: the parsed gitVersion holds a newline, a carriage return and an ESC.
    let api = Apiserver::start("v1.35.2\\nhint: run 'rm -rf /'\\r\\u001b[1Afail");
    let sb = node(&format!("127.0.0.1:{}", api.server.port), Some(&api));
    let m = mirror("v1.36.4");
    let out = guarded_fetch(&sb, &m, "v1.36.4", "kubelet").run();
    out.failure(1).mentions("refusing kubelet v1.36.4");
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("hint: run 'rm")),
        "a forged hint line\n{out}"
    );
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains('\u{1b}'),
        "{out}"
    );
    out.mentions("v1.35.2\\nhint: run 'rm -rf /'\\r\\u{1b}[1Afail");
}
