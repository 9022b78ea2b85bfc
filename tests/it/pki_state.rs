//! pki state that cannot be corrupted, and a corrupt state that is named: concurrent runs, a
//! CA key that is not the CA's, FIFOs and devices at pki files, half pairs, truncated leaves,
//! leaves that would outlive their CA, and private keys others can read.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::cmd::Kb;
use crate::support::{Sandbox, kb, node_sandbox};

const LEADER_IP: &str = "10.0.0.1";
const LEAVES: [&str; 7] = [
    "apiserver",
    "apiserver-kubelet-client",
    "controller-manager",
    "scheduler",
    "admin",
    "kubelet",
    "proxy",
];

fn leader() -> Sandbox {
    node_sandbox(LEADER_IP, LEADER_IP)
}

fn pki(sb: &Sandbox) -> PathBuf {
    sb.root().join("etc/kubernetes/pki")
}

/// A pki command that must answer promptly (a hang fails the test instead of the suite).
fn pki_cmd(sb: &Sandbox, args: &[&str]) -> Kb {
    let mut all = vec!["pki"];
    all.extend_from_slice(args);
    // Typed paths (`--out`, `install FILE`) are taken from the current directory: the sandbox.
    kb(sb.root())
        .in_dir(sb.root())
        .args(&all)
        .limit(Duration::from_secs(30))
}

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl")
}

fn public_key(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = openssl(args, dir);
    assert!(out.status.success(), "openssl {args:?}");
    out.stdout
}

/// ca.key is ca.crt's key, and openssl verifies every leaf against ca.crt.
fn assert_consistent(dir: &Path) {
    assert_eq!(
        public_key(dir, &["pkey", "-pubout", "-in", "ca.key"]),
        public_key(dir, &["x509", "-pubkey", "-noout", "-in", "ca.crt"]),
        "ca.key does not match ca.crt"
    );
    for leaf in LEAVES {
        let crt = format!("{leaf}.crt");
        let out = openssl(&["verify", "-CAfile", "ca.crt", &crt], dir);
        assert!(
            out.status.success(),
            "{crt} not signed by ca.crt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            public_key(dir, &["pkey", "-pubout", "-in", &format!("{leaf}.key")]),
            public_key(dir, &["x509", "-pubkey", "-noout", "-in", &crt]),
            "{leaf}.key does not match {crt}"
        );
    }
}

#[test]
fn concurrent_pki_init_on_a_fresh_leader_makes_one_ca_that_signs_every_leaf() {
    for _ in 0..3 {
        let sb = leader();
        let runs: Vec<_> = (0..4).map(|_| pki_cmd(&sb, &["init"]).spawn()).collect();
        for run in runs {
            run.wait().success();
        }
        assert_consistent(&pki(&sb));
    }
}

#[test]
fn concurrent_pki_node_and_init_sign_bundles_with_the_ca_that_stays() {
    let sb = leader();
    let init = pki_cmd(&sb, &["init"]).spawn();
    // The bundle may find no CA yet (an error), or wait for init and use its CA: never another.
    let node = pki_cmd(&sb, &["node", "10.0.0.5", "--out", "bundle.tar"]).spawn();
    init.wait().success();
    if node.wait().code() == Some(0) {
        let out = Command::new("tar")
            .args(["-xf", "bundle.tar", "ca.crt"])
            .current_dir(sb.root())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            fs::read(sb.root().join("ca.crt")).unwrap(),
            fs::read(pki(&sb).join("ca.crt")).unwrap()
        );
    }
    assert_consistent(&pki(&sb));
}

#[test]
fn a_ca_key_that_is_not_the_cas_stops_init_node_and_check_naming_both_files() {
    let sb = leader();
    pki_cmd(&sb, &["init"]).run().success();
    let other = leader();
    pki_cmd(&other, &["init"]).run().success();
    let dir = pki(&sb);
    fs::copy(pki(&other).join("ca.key"), dir.join("ca.key")).unwrap();
    let before = fs::read(dir.join("apiserver.crt")).unwrap();
    // A leaf that must be re-issued: the mismatch must stop it, not sign it.
    fs::write(dir.join("admin.crt"), "").unwrap();

    for args in [
        &["init"][..],
        &["node", "10.0.0.5", "--out", "bundle.tar"][..],
    ] {
        let out = pki_cmd(&sb, args).run();
        out.failure(1)
            .mentions("ca.key' does not match")
            .mentions("ca.crt'")
            .mentions("hint: restore the key that belongs to");
    }
    assert!(!sb.root().join("bundle.tar").exists());
    assert_eq!(fs::read(dir.join("apiserver.crt")).unwrap(), before);
    let check = pki_cmd(&sb, &["check"]).run();
    assert_eq!(check.code(), Some(1), "{check}");
    assert!(
        check
            .stdout
            .lines()
            .any(|l| l.starts_with("fail") && l.contains("ca.key") && l.contains("does not match")),
        "{check}"
    );
    let doctor = kb(sb.root())
        .args(&["doctor", "--offline", "apiserver"])
        .limit(Duration::from_secs(60))
        .run();
    assert_eq!(doctor.code(), Some(1), "{doctor}");
    assert!(
        doctor
            .stdout
            .lines()
            .any(|l| l.starts_with("fail") && l.contains("ca.key' does not match")),
        "{doctor}"
    );
}

#[test]
fn fifos_and_devices_at_pki_files_are_refused_without_hanging() {
    let sb = leader();
    pki_cmd(&sb, &["init"]).run().success();
    let dir = pki(&sb);
    let crt = dir.join("ca.crt");
    for plant in ["fifo", "/dev/zero"] {
        fs::remove_file(&crt).unwrap();
        if plant == "fifo" {
            let status = Command::new("mkfifo").arg(&crt).status().unwrap();
            assert!(status.success());
        } else {
            std::os::unix::fs::symlink(plant, &crt).unwrap();
        }
        for args in [
            &["init"][..],
            &["node", "10.0.0.5", "--out", "bundle.tar"][..],
        ] {
            pki_cmd(&sb, args)
                .run()
                .failure(1)
                .mentions("ca.crt' is not a regular file");
        }
        let check = pki_cmd(&sb, &["check"]).run();
        assert_eq!(check.code(), Some(1), "{check}");
        assert!(check.stdout.contains("not a regular file"), "{check}");
        let doctor = kb(sb.root())
            .args(&["doctor"])
            .limit(Duration::from_secs(60))
            .run();
        assert!(doctor.code().is_some(), "{doctor}");
    }
    // A FIFO given as the bundle to install.
    let bundle = sb.root().join("fifo.tar");
    assert!(
        Command::new("mkfifo")
            .arg(&bundle)
            .status()
            .unwrap()
            .success()
    );
    pki_cmd(&sb, &["install", "fifo.tar"])
        .run()
        .failure(1)
        .mentions("is not a regular file");
}

#[test]
fn a_ca_key_left_without_its_certificate_names_the_one_way_out() {
    let sb = leader();
    pki_cmd(&sb, &["init"]).run().success();
    let dir = pki(&sb);
    let keep = fs::read(dir.join("ca.key")).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    fs::create_dir_all(&dir).unwrap();
    // What an interrupted first init leaves: the key, written first, and nothing else.
    fs::write(dir.join("ca.key"), keep).unwrap();
    let check = pki_cmd(&sb, &["check"]).run();
    assert!(
        check
            .stdout
            .contains("interrupted first 'kube-bootstrap pki init'"),
        "{check}"
    );
    pki_cmd(&sb, &["init"])
        .run()
        .failure(1)
        .mentions("ca.key' exists without")
        .mentions("hint: restore")
        .mentions("remove it and run 'kube-bootstrap pki init' again");
    // The way out works.
    fs::remove_file(dir.join("ca.key")).unwrap();
    pki_cmd(&sb, &["init"]).run().success();
    assert_consistent(&dir);
}

#[test]
fn garbage_and_truncated_files_name_the_file_and_truncated_leaves_are_reissued() {
    let sb = leader();
    pki_cmd(&sb, &["init"]).run().success();
    let dir = pki(&sb);
    let crt = fs::read(dir.join("apiserver.crt")).unwrap();
    fs::write(dir.join("apiserver.crt"), &crt[..crt.len() / 2]).unwrap();
    let check = pki_cmd(&sb, &["check"]).run();
    assert_eq!(check.code(), Some(1), "{check}");
    assert!(check.stdout.contains("apiserver.crt"), "{check}");
    let init = pki_cmd(&sb, &["init"]).run();
    init.success();
    assert!(
        init.stdout.lines().any(|l| l.starts_with("re-issued")
            && l.contains("apiserver.crt")
            && l.contains("unreadable")),
        "{init}"
    );
    pki_cmd(&sb, &["check"]).run().success();
    // A garbage CA key is named, with a way out that is not 'pki init'.
    fs::write(dir.join("ca.key"), "garbage\n").unwrap();
    pki_cmd(&sb, &["init"])
        .run()
        .failure(1)
        .mentions("ca.key'")
        .mentions("hint: restore");
}

#[test]
fn pki_check_warns_about_a_ca_key_others_can_read() {
    let sb = leader();
    pki_cmd(&sb, &["init"]).run().success();
    let key = pki(&sb).join("ca.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let check = pki_cmd(&sb, &["check"]).run();
    assert!(
        check
            .stdout
            .lines()
            .any(|l| l.starts_with("warn") && l.contains("ca.key") && l.contains("readable")),
        "{check}"
    );
}

#[test]
fn leaves_never_outlive_their_ca_and_are_not_reissued_on_every_run() {
    let sb = leader();
    // The CA ends within the renewal window: leaves end with it, and stay.
    let env = |k: Kb| k.env("KUBE_PKI_CA_DAYS", "20");
    env(pki_cmd(&sb, &["init"])).run().success();
    let dir = pki(&sb);
    let end = |f: &str| public_key(&dir, &["x509", "-noout", "-enddate", "-in", f]);
    for leaf in LEAVES {
        assert_eq!(end(&format!("{leaf}.crt")), end("ca.crt"), "{leaf}");
    }
    let again = env(pki_cmd(&sb, &["init"])).run();
    again.success();
    assert!(
        !again.stdout.lines().any(|l| l.starts_with("re-issued")),
        "{again}"
    );
}

#[test]
fn node_names_kubernetes_would_refuse_never_reach_a_certificate_or_forge_a_line() {
    let sb = leader();
    pki_cmd(&sb, &["init"]).run().success();
    for bad in [
        " 10.0.0.5",
        "10.0.0.5 ",
        "a,b",
        "node\nhint: run 'rm -rf /'",
        "node\u{2028}x",
        "node_1",
    ] {
        let out = pki_cmd(&sb, &["node", bad, "--out", "bundle.tar"]).run();
        out.failure(2).mentions("invalid node name");
        assert!(
            !out.stderr.lines().any(|l| l.starts_with("hint: run 'rm")),
            "{out}"
        );
        assert!(!sb.root().join("bundle.tar").exists(), "{bad:?}");
    }
    pki_cmd(
        &sb,
        &["node", "Worker-1.example.test", "--out", "bundle.tar"],
    )
    .run()
    .success();
}
