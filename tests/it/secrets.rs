//! Credentials in a mirror URL never reach the world-readable env file, the record, logs,
//! errors or anything printed.

use std::fs;

use crate::support::artifact::{self, SIZE};
use crate::support::cmd::Outcome;
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, kb};

const SECRET: &str = "s3cr3t-t0ken";
const KUBELET: &str = "kubelet";

/// `http://user:SECRET@127.0.0.1:PORT` for a mirror.
fn with_credentials(mirror: &Mirror) -> String {
    mirror
        .url()
        .replacen("http://", &format!("http://robot:{SECRET}@"), 1)
}

fn assert_hidden(out: &Outcome) {
    assert!(!out.stdout.contains(SECRET), "secret on stdout\n{out}");
    assert!(!out.stderr.contains(SECRET), "secret on stderr\n{out}");
}

#[test]
fn mirror_credentials_reach_no_file_log_or_message() {
    let sb = Sandbox::new();
    let bytes = artifact::elf(SIZE, 0x44);
    let mirror = Mirror::start();
    mirror.publish(VERSION, KUBELET, &bytes);
    let base = with_credentials(&mirror);

    // Success, with every log line the binary writes (stderr is its log outside systemd).
    let fetch = kb(sb.root())
        .mirrors(&[&base])
        .allow_http()
        .args(&["-vv"])
        .fetch(&[KUBELET]);
    let out = fetch.run();
    out.success();
    assert_hidden(&out);
    sb.assert_installed(KUBELET, &bytes);
    let env = fs::read_to_string(sb.env_file(KUBELET)).expect("env file");
    assert!(!env.contains(SECRET), "secret in the env file:\n{env}");
    assert!(
        env.contains(&mirror.artifact_url(VERSION, KUBELET)),
        "{env}"
    );
    let record = fs::read_to_string(sb.record(KUBELET)).expect("record");
    assert!(!record.contains(SECRET), "secret in the record:\n{record}");
    let printed = kb(sb.root())
        .mirrors(&[&base])
        .args(&["-vv", "env", KUBELET])
        .run();
    assert_hidden(&printed);

    // Failures at the mirror: a missing release, then a refused plain-http mirror.
    let missing = kb(sb.root())
        .mirrors(&[&base])
        .allow_http()
        .version("v1.35.0")
        .env("KUBE_FETCH_RETRIES", "0")
        .args(&["-vv"])
        .fetch(&[KUBELET])
        .run();
    missing.failure(1).mentions(&mirror.url());
    assert_hidden(&missing);
    let refused = kb(sb.root())
        .mirrors(&[&base])
        .version("v1.35.0")
        .fetch(&[KUBELET])
        .run();
    refused.failure(1);
    assert_hidden(&refused);
}

#[test]
fn invalid_mirror_setting_does_not_echo_its_credentials() {
    let sb = Sandbox::new();
    for value in [
        format!("https://robot:{SECRET}@mirror.invalid/k8s?x=1"),
        format!("https://a.invalid/k8s,ftp://robot:{SECRET}@b.invalid/"),
    ] {
        let out = kb(sb.root())
            .env("KUBE_MIRRORS", &value)
            .fetch(&[KUBELET])
            .run();
        out.failure(2).mentions("KUBE_MIRRORS");
        assert_hidden(&out);
    }
}
