//! `kube-bootstrap mirror DIR`: filling a directory from a local upstream, incremental reruns,
//! resuming after kill -9, `--check`, and nodes fetching from the result with its pins.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::artifact::{self, artifact_path, sha256_hex};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::{Sandbox, VERSION, kb, wait_until};

/// The six binaries `mirror` fetches by default.
const BINARIES: [&str; 6] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
];

/// An upstream serving every binary of [`VERSION`], each different; returns it and the bytes.
fn upstream(size: usize) -> (Mirror, Vec<(&'static str, Vec<u8>)>) {
    let mirror = Mirror::start();
    let files: Vec<_> = BINARIES
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, artifact::elf(size, 0x60 + i as u8)))
        .collect();
    for (b, bytes) in &files {
        mirror.publish(VERSION, b, bytes);
    }
    (mirror, files)
}

/// The mirror directory: inside the sandbox root, so nodes can use `file:///srv/mirror`.
fn mirror_dir(sb: &Sandbox) -> PathBuf {
    sb.root().join("srv/mirror")
}

fn in_dir(dir: &Path, binary: &str) -> PathBuf {
    dir.join(artifact_path(VERSION, binary).trim_start_matches('/'))
}

/// `kube-bootstrap mirror DIR [ARGS...]` against `upstream`.
fn mirror_cmd(sb: &Sandbox, upstream: &Mirror, args: &[&str]) -> crate::support::cmd::Kb {
    let dir = mirror_dir(sb);
    let mut all = vec!["mirror", dir.to_str().expect("utf-8 path")];
    all.extend(args);
    kb(sb.root())
        .mirrors(&[&upstream.url()])
        .allow_http()
        .args(&all)
        .limit(Duration::from_secs(60))
}

fn check_cmd(sb: &Sandbox) -> crate::support::cmd::Kb {
    let dir = mirror_dir(sb);
    kb(sb.root()).args(&["mirror", "--check", dir.to_str().expect("utf-8 path")])
}

/// Binary GETs (not side files) the upstream received.
fn binary_gets(upstream: &Mirror) -> Vec<String> {
    upstream
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && !r.path.ends_with(".sha256"))
        .map(|r| r.path)
        .collect()
}

#[test]
fn mirror_fills_dir_and_a_fresh_node_fetches_from_it_with_the_pins() {
    let sb = Sandbox::new();
    let (upstream, files) = upstream(256 * 1024);

    mirror_cmd(&sb, &upstream, &[]).run().success();

    let dir = mirror_dir(&sb);
    for (b, bytes) in &files {
        assert_eq!(&fs::read(in_dir(&dir, b)).unwrap(), bytes, "{b}");
        let side = fs::read_to_string(in_dir(&dir, &format!("{b}.sha256"))).unwrap();
        assert_eq!(side.trim(), sha256_hex(bytes), "{b}.sha256");
    }
    let pins = fs::read_to_string(dir.join(VERSION).join("pins-amd64.env")).unwrap();
    assert!(
        pins.contains(&format!("KUBE_VERSION=\"{VERSION}\"")),
        "{pins}"
    );
    for (b, bytes) in &files {
        let var = format!(
            "KUBE_SHA256_{}=\"{}\"",
            b.to_uppercase().replace('-', "_"),
            sha256_hex(bytes)
        );
        assert!(pins.lines().any(|l| l == var), "no {var} in:\n{pins}");
    }
    check_cmd(&sb).run().success();

    // A fresh node: the pins file appended to its config, the directory as its only mirror.
    let node = Sandbox::new();
    let node_dir = node.root().join("srv/mirror");
    fs::create_dir_all(node.root().join("srv")).unwrap();
    fs::rename(&dir, &node_dir).unwrap();
    fs::create_dir_all(node.root().join("etc")).unwrap();
    fs::write(node.root().join("etc/kube-bootstrap.env"), &pins).unwrap();
    upstream.clear_requests();
    drop(upstream);
    kb(node.root())
        .env("KUBE_MIRRORS", "file:///srv/mirror")
        .fetch(&["all", "kubectl"])
        .run()
        .success();
    for (b, bytes) in &files {
        node.assert_installed(b, bytes);
    }
    assert!(
        !node.env_file("kubectl").exists(),
        "kubectl has no unit and gets no environment file"
    );
    assert_eq!(node.read_record("kubectl")["version"], VERSION);
}

#[test]
fn second_run_requests_no_binary_and_changes_nothing() {
    let sb = Sandbox::new();
    let (upstream, _) = upstream(256 * 1024);
    mirror_cmd(&sb, &upstream, &[]).run().success();
    let kubelet = in_dir(&mirror_dir(&sb), "kubelet");
    let before = fs::metadata(&kubelet).unwrap().modified().unwrap();
    upstream.clear_requests();

    mirror_cmd(&sb, &upstream, &[]).run().success();

    assert_eq!(binary_gets(&upstream), Vec::<String>::new());
    assert_eq!(
        fs::metadata(&kubelet).unwrap().modified().unwrap(),
        before,
        "an verified file was rewritten"
    );
}

#[test]
fn killed_run_resumes_and_ends_verified() {
    let sb = Sandbox::new();
    let upstream = Mirror::start();
    let bytes = artifact::elf(artifact::SIZE, 0x71);
    let sha = sha256_hex(&bytes);
    upstream.publish(VERSION, "kubelet", &bytes);
    let path = artifact_path(VERSION, "kubelet");
    // 128 chunks 20 ms apart: about 2.5 s, time enough to kill it midway.
    upstream.push(
        &path,
        Behaviour::Slow {
            chunk: 16 * 1024,
            every: Duration::from_millis(20),
        },
    );
    let run = mirror_cmd(&sb, &upstream, &["kubelet"]);
    let running = run.spawn();
    let partial = in_dir(&mirror_dir(&sb), &format!(".kubelet.{sha}.partial"));
    wait_until(Duration::from_secs(20), "a partial file in DIR", || {
        fs::metadata(&partial).is_ok_and(|m| m.len() > 0)
    });
    let killed = running.kill();
    assert_eq!(killed.code(), None, "expected death by SIGKILL\n{killed}");
    assert!(!in_dir(&mirror_dir(&sb), "kubelet").exists());

    run.run().success();

    let gets = upstream.gets(&path);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(
        gets[1].range.as_deref().is_some_and(|r| r != "bytes=0-"),
        "the rerun did not resume: {gets:?}"
    );
    assert_eq!(
        fs::read(in_dir(&mirror_dir(&sb), "kubelet")).unwrap(),
        bytes
    );
    assert!(!partial.exists(), "partial file left behind");
    check_cmd(&sb).run().success();
}

#[test]
fn check_finds_corrupt_and_foreign_files_and_the_next_run_replaces_them() {
    let sb = Sandbox::new();
    let (upstream, files) = upstream(256 * 1024);
    mirror_cmd(&sb, &upstream, &[]).run().success();
    let dir = mirror_dir(&sb);
    // One flipped byte in the kubelet; a foreign file (with a matching side file) as kube-proxy.
    let kubelet = in_dir(&dir, "kubelet");
    let mut corrupt = fs::read(&kubelet).unwrap();
    corrupt[1000] ^= 0xff;
    fs::write(&kubelet, &corrupt).unwrap();
    let foreign = artifact::elf(256 * 1024, 0x7f);
    fs::write(in_dir(&dir, "kube-proxy"), &foreign).unwrap();
    fs::write(
        in_dir(&dir, "kube-proxy.sha256"),
        format!("{}\n", sha256_hex(&foreign)),
    )
    .unwrap();

    let out = check_cmd(&sb).run();
    out.failure(1);
    let fail_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert!(
        fail_lines.iter().any(|l| l.contains("amd64/kubelet:")),
        "{out}"
    );
    assert!(
        fail_lines
            .iter()
            .any(|l| l.contains("pins-amd64.env") && l.contains("KUBE_SHA256_KUBE_PROXY")),
        "{out}"
    );
    upstream.clear_requests();

    mirror_cmd(&sb, &upstream, &[]).run().success();

    let mut gets = binary_gets(&upstream);
    gets.sort();
    assert_eq!(
        gets,
        [
            artifact_path(VERSION, "kube-proxy"),
            artifact_path(VERSION, "kubelet")
        ]
    );
    for (b, bytes) in &files {
        assert_eq!(&fs::read(in_dir(&dir, b)).unwrap(), bytes, "{b}");
    }
    check_cmd(&sb).run().success();
}

#[test]
fn a_pinned_release_needs_no_upstream_side_file_and_may_use_plain_http() {
    let sb = Sandbox::new();
    let upstream = Mirror::start();
    let bytes = artifact::elf(256 * 1024, 0x55);
    upstream.publish_with_side(VERSION, "kubelet", &bytes, artifact::html_page());
    let dir = mirror_dir(&sb);

    kb(sb.root())
        .mirrors(&[&upstream.url()])
        .env("KUBE_SHA256_KUBELET", sha256_hex(&bytes))
        .args(&["mirror", dir.to_str().unwrap(), "kubelet"])
        .run()
        .success();

    assert_eq!(fs::read(in_dir(&dir, "kubelet")).unwrap(), bytes);
    assert!(
        upstream
            .gets(&format!("{}.sha256", artifact_path(VERSION, "kubelet")))
            .is_empty()
    );
    check_cmd(&sb).run().success();
}

#[test]
fn check_fails_every_symlink_inside_dir_and_mirror_never_writes_through_one() {
    let sb = Sandbox::new();
    let (up, _) = upstream(64 * 1024);
    mirror_cmd(&sb, &up, &[]).run().success();
    let dir = mirror_dir(&sb);
    // No lock file is published with the mirror.
    assert!(
        !fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains("lock")),
        "a lock file in the mirror directory"
    );
    // A tampered copy of the release outside DIR, linked in as the version directory.
    let outside = sb.root().join("elsewhere");
    fs::create_dir_all(&outside).unwrap();
    fs::rename(dir.join(VERSION), outside.join(VERSION)).unwrap();
    fs::write(in_dir(&outside, "kubelet"), b"tampered").unwrap();
    std::os::unix::fs::symlink(outside.join(VERSION), dir.join(VERSION)).unwrap();
    let out = check_cmd(&sb).run();
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains(VERSION) && l.contains("symbolic link")),
        "{out}"
    );
    // mirror refuses to write through it, and the tree outside stays as it is.
    let before = fs::read(in_dir(&outside, "kubelet")).unwrap();
    let run = mirror_cmd(&sb, &up, &[]).run();
    assert_ne!(run.code(), Some(0), "{run}");
    run.mentions("symbolic link");
    assert_eq!(fs::read(in_dir(&outside, "kubelet")).unwrap(), before);
    assert!(
        !fs::read_dir(outside.join(VERSION).join("bin/linux/amd64"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial")),
        "wrote a partial file outside DIR"
    );
    // A linked binary inside a real tree fails too.
    fs::remove_file(dir.join(VERSION)).unwrap();
    fs::rename(outside.join(VERSION), dir.join(VERSION)).unwrap();
    mirror_cmd(&sb, &up, &[]).run().success();
    let kubelet = in_dir(&dir, "kubelet");
    fs::remove_file(&kubelet).unwrap();
    std::os::unix::fs::symlink(in_dir(&dir, "kube-proxy"), &kubelet).unwrap();
    let out = check_cmd(&sb).run();
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("FAIL")
            && l.contains("/kubelet:")
            && l.contains("symbolic link")),
        "{out}"
    );
}

#[test]
fn check_prints_one_line_per_file_whatever_its_name() {
    let sb = Sandbox::new();
    let (up, _) = upstream(64 * 1024);
    mirror_cmd(&sb, &up, &[]).run().success();
    let arch_dir = in_dir(&mirror_dir(&sb), "kubelet");
    let arch_dir = arch_dir.parent().unwrap();
    fs::write(arch_dir.join("evil\nok   forged: fine\r\u{1b}[2K"), b"x").unwrap();
    let out = check_cmd(&sb).run();
    assert_eq!(out.code(), Some(1), "{out}");
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.starts_with("ok   v1.36.4/bin/linux/amd64/forged")),
        "a forged line\n{out}"
    );
    assert!(
        !out.stdout.contains('\r') && !out.stdout.contains('\u{1b}'),
        "{out}"
    );
}
