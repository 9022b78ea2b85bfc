//! Mistakes an operator makes in settings and arguments are caught where they are made, with
//! a suggestion, before anything is downloaded or installed (issue 22, item 1).

use std::fs;

use crate::support::artifact;
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, kb};

fn write_config(sb: &Sandbox, text: &str) {
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("kube-bootstrap.env"), text).unwrap();
}

#[test]
fn misspelt_setting_in_the_config_file_stops_fetch_with_its_did_you_mean() {
    let sb = Sandbox::new();
    let mirror = Mirror::start();
    mirror.publish(VERSION, "kubelet", &artifact::elf(artifact::SIZE, 0x44));
    write_config(&sb, "KUBE_VERSON=v1.35.3\n");
    let out = kb(sb.root())
        .unset("KUBE_VERSION")
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&["kubelet"])
        .run();
    out.failure(2)
        .mentions("unknown setting KUBE_VERSON in '")
        .mentions("did you mean KUBE_VERSION?")
        .mentions("hint: rename KUBE_VERSON to KUBE_VERSION in '");
    // Said once: no warning repeating the error.
    assert_eq!(out.stderr.matches("KUBE_VERSON").count(), 2, "{out}");
    assert!(mirror.requests().is_empty(), "asked the mirror\n{out}");
    assert!(
        !sb.installed("kubelet").exists(),
        "installed the default\n{out}"
    );
}

#[test]
fn misspelt_setting_in_the_environment_only_warns() {
    let sb = Sandbox::new();
    let out = kb(sb.root())
        .env("KUBE_VERSON", "v1.35.3")
        .env("KUBE_EDITOR", "vi")
        .args(&["flags", "scheduler"])
        .run();
    out.success().mentions(
        "unknown setting KUBE_VERSON in the environment, ignored: did you mean KUBE_VERSION?",
    );
    assert!(!out.stderr.contains("KUBE_EDITOR"), "{out}");
}

/// A node sandbox whose `/etc/leader` names `endpoint`.
fn node(endpoint: &str) -> Sandbox {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("leader"), format!("LEADER_ENDPOINT={endpoint}\n")).unwrap();
    fs::write(etc.join("network-environment"), "DEFAULT_IPV4=10.0.0.2\n").unwrap();
    sb
}

#[test]
fn values_get_a_did_you_mean() {
    let sb = node("10.0.0.1");
    kb(sb.root())
        .version("1.36.4")
        .args(&["flags", "kubelet"])
        .run()
        .failure(2)
        .mentions("invalid KUBE_VERSION='1.36.4'")
        .mentions("did you mean v1.36.4?");
    kb(sb.root())
        .args(&["flags", "kubelett"])
        .run()
        .failure(2)
        .mentions("unknown component 'kubelett' (did you mean kubelet?)");
    kb(sb.root())
        .fetch(&["kube-proxxy"])
        .run()
        .failure(2)
        .mentions("(did you mean proxy?)");
    kb(sb.root())
        .env("KUBE_ARCH", "amd46")
        .args(&["flags", "kubelet"])
        .run()
        .failure(2)
        .mentions("did you mean amd64?");
}

#[test]
fn uname_machine_name_is_taken_as_the_architecture() {
    let sb = Sandbox::new();
    let mirror = Mirror::start();
    let bytes = artifact::elf(artifact::SIZE, 0x44);
    mirror.publish(VERSION, "kubelet", &bytes);
    let out = kb(sb.root())
        .env("KUBE_ARCH", "x86_64")
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&["kubelet"])
        .run();
    out.success();
    sb.assert_installed("kubelet", &bytes);
    assert_eq!(sb.read_record("kubelet")["arch"], "amd64", "{out}");
}

#[test]
fn release_below_the_supported_range_is_refused_before_any_mirror_is_asked() {
    let sb = Sandbox::new();
    let mirror = Mirror::start();
    let out = kb(sb.root())
        .version("v0.9.0")
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&["kubelet"])
        .run();
    out.failure(2)
        .mentions("invalid KUBE_VERSION='v0.9.0'")
        .mentions("v1.0.0 or newer");
    assert!(mirror.requests().is_empty(), "asked the mirror\n{out}");
    let dir = tempfile::tempdir().unwrap();
    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .args(&[
            "mirror",
            dir.path().to_str().unwrap(),
            "kubelet",
            "--kube-version",
            "v0.9.0",
        ])
        .run();
    out.failure(2).mentions("v1.0.0 or newer");
    assert!(mirror.requests().is_empty(), "asked the mirror\n{out}");
}

#[test]
fn leader_endpoint_with_a_trailing_slash_says_the_slash_is_the_problem() {
    let sb = node("127.0.0.1:8080/");
    let out = kb(sb.root()).args(&["flags", "kubelet"]).run();
    out.failure(2).mentions("no trailing '/' after host:port");
    assert!(!out.stderr.contains("port number"), "{out}");
}

#[test]
fn pki_install_of_a_file_that_is_not_a_bundle_says_so_and_escapes_its_bytes() {
    let sb = Sandbox::new();
    // A text file with a terminal escape, longer than any excerpt shown.
    let text = format!("\u{1b}[31mred{}\n", "x".repeat(2000));
    fs::write(sb.root().join("notes.txt"), &text).unwrap();
    let out = kb(sb.root())
        .in_dir(sb.root())
        .args(&["pki", "install", "notes.txt"])
        .run();
    out.failure(1)
        .mentions("is not a kube-bootstrap bundle (a tar file made by 'kube-bootstrap pki node')")
        .mentions("it starts with '\\u{1b}[31mredxxx");
    assert!(!out.stderr.contains('\u{1b}'), "raw escape\n{out}");
    assert!(!out.stderr.contains(&"x".repeat(100)), "not cut\n{out}");
}
