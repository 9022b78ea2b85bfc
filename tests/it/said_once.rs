//! Each thing is said once: a warning `flags --explain` prints is not logged as well (issue 22,
//! item 4).

use std::fs;

use crate::support::{Sandbox, kb};

#[test]
fn flags_explain_prints_each_warning_once() {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("leader"), "LEADER_ENDPOINT=10.0.0.1\n").unwrap();
    fs::write(etc.join("network-environment"), "DEFAULT_IPV4=10.0.0.2\n").unwrap();
    for args in [
        &["flags", "kubelet", "--explain"][..],
        &["flags", "kubelet", "--json"][..],
        &["flags", "kubelet"][..],
    ] {
        let out = kb(sb.root()).version("v1.40.0").args(args).run();
        out.success();
        let all = format!("{}{}", out.stdout, out.stderr);
        let newer = all.matches("is newer than the newest release").count();
        assert_eq!(newer, 1, "{args:?}: the version warning\n{out}");
        // The kubelet's certificates are missing here: `--explain` marks them MISSING and
        // `--json` says `exists: false`, so only the plain argv warns about them on stderr.
        let warned = out.stderr.contains("required file missing or unusable");
        assert_eq!(warned, args.len() == 2, "{args:?}: missing files\n{out}");
    }
}

fn doctor(sb: &Sandbox, args: &[&str]) -> crate::support::cmd::Outcome {
    let mut all = vec!["doctor", "--offline"];
    all.extend_from_slice(args);
    kb(sb.root()).args(&all).run()
}

/// Lines of the text report with this status.
fn lines<'a>(stdout: &'a str, status: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter(|l| l.starts_with(&format!("{status} ")))
        .collect()
}

#[test]
fn doctor_on_a_machine_that_is_not_a_node_says_so_once() {
    let sb = Sandbox::new();
    let out = doctor(&sb, &[]);
    assert_eq!(out.code(), Some(1), "{out}");
    let fails = lines(&out.stdout, "fail");
    assert_eq!(fails.len(), 1, "{out}");
    assert!(
        fails[0].contains("this is not a kube-bootstrap node"),
        "{out}"
    );
    assert!(fails[0].contains("/etc/leader' does not exist"), "{out}");
    assert!(
        fails[0].contains("write LEADER_ENDPOINT=") && fails[0].contains("--root DIR"),
        "{out}"
    );
    // Naming what to check runs the checks anyway.
    let out = doctor(&sb, &["--role", "worker"]);
    assert!(lines(&out.stdout, "fail").len() > 1, "{out}");
}

#[test]
fn doctor_groups_one_missing_pki_into_a_finding_per_command() {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("leader"), "LEADER_ENDPOINT=10.0.0.1\n").unwrap();
    fs::write(etc.join("network-environment"), "DEFAULT_IPV4=10.0.0.1\n").unwrap();
    let out = doctor(&sb, &["--role", "leader"]);
    assert_eq!(out.code(), Some(1), "{out}");
    let fails = lines(&out.stdout, "fail");
    // One finding per command that makes the files: `pki init` on the leader, and `pki init`
    // or, on a worker, `pki install` for what a bundle carries.
    let missing: Vec<_> = fails
        .iter()
        .filter(|l| l.contains("files do not exist"))
        .collect();
    assert_eq!(missing.len(), 2, "{out}");
    let leader_only: Vec<_> = missing
        .iter()
        .filter(|l| l.ends_with("hint: run 'kube-bootstrap pki init' on the leader"))
        .collect();
    assert_eq!(leader_only.len(), 1, "{out}");
    assert!(
        leader_only[0].contains("apiserver.crt") && leader_only[0].contains("sa.key"),
        "{out}"
    );
    // Each missing file is named on one line only.
    for file in ["sa.pub", "apiserver.key", "scheduler.crt", "ca.crt"] {
        let naming = fails
            .iter()
            .filter(|l| l.contains(&format!("pki/{file}'")))
            .count();
        assert_eq!(naming, 1, "{file}\n{out}");
    }
    assert!(fails.len() <= 8, "{} failures\n{out}", fails.len());
}

#[test]
fn doctor_in_a_root_sandbox_says_which_host_check_it_skipped() {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("leader"), "LEADER_ENDPOINT=10.0.0.1\n").unwrap();
    let out = doctor(&sb, &["kubelet"]);
    let skipped = lines(&out.stdout, "skip");
    assert_eq!(skipped.len(), 1, "{out}");
    assert!(
        skipped[0].contains("cgroup") && skipped[0].contains("--root sandbox"),
        "{out}"
    );
    assert!(skipped[0].contains("without --root"), "{out}");
}
