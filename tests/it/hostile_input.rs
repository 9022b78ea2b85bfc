//! Settings and node files written by someone else: values that would smuggle a flag into a
//! component's command line, break systemd, or forge lines of output are refused or escaped.

use crate::support::{Sandbox, kb};

#[test]
fn url_setting_with_anything_after_the_url_is_refused_naming_the_variable() {
    let sb = Sandbox::new();
    for (var, value) in [
        (
            "KUBE_ETCD_SERVERS",
            "http://127.0.0.1:2379/ --etcd-injected=1",
        ),
        (
            "KUBE_ETCD_SERVERS",
            "http://127.0.0.1:2379/\t--etcd-injected=1",
        ),
        ("KUBE_ETCD_SERVERS", "http://127.0.0.1:2379/?x=1"),
        ("KUBE_MIRRORS", "https://dl.k8s.io/rel\tease"),
    ] {
        let out = kb(sb.root())
            .env(var, value)
            .args(&["flags", "apiserver"])
            .run();
        out.failure(2).mentions(&format!("invalid {var}="));
        assert!(
            !out.stdout.contains("--etcd-injected"),
            "{var}={value:?} reached the flags\n{out}"
        );
    }
}

#[test]
fn control_character_in_extra_args_is_refused_naming_the_variable() {
    let sb = Sandbox::new();
    // From the environment: raw, or made by an escape the splitter understands.
    for value in [
        r"--v=2 --node-labels=a\nb",
        "--v=2 --x=\"tab\there\"",
        "--x=esc\u{1b}[2J",
        r"--x=cr\r",
    ] {
        let out = kb(sb.root())
            .env("KUBE_KUBELET_EXTRA_ARGS", value)
            .args(&["flags", "kubelet"])
            .run();
        out.failure(2)
            .mentions("invalid KUBE_KUBELET_EXTRA_ARGS=")
            .mentions("control characters");
        assert!(!out.stderr.contains('\u{1b}'), "raw escape echoed\n{out}");
    }
    // From the config file (a NUL is refused by its reader, naming the file and line).
    let etc = sb.root().join("etc");
    std::fs::create_dir_all(&etc).expect("mkdir etc");
    for (text, needle) in [
        (
            "KUBE_PROXY_EXTRA_ARGS=\"--x=a\\\\nb\"\n",
            "invalid KUBE_PROXY_EXTRA_ARGS=",
        ),
        (
            "KUBE_PROXY_EXTRA_ARGS=--x=\u{7}bell\n",
            "invalid KUBE_PROXY_EXTRA_ARGS=",
        ),
        (
            "KUBE_PROXY_EXTRA_ARGS=--x=nul\0byte\n",
            "kube-bootstrap.env':1:",
        ),
    ] {
        std::fs::write(etc.join("kube-bootstrap.env"), text).expect("write config file");
        kb(sb.root())
            .args(&["flags", "proxy"])
            .run()
            .failure(2)
            .mentions(needle);
    }
}

/// The forged lines and escapes a hostile value carries.
const FORGERY: &str = "x\nerror: forged\nhint: forged\r\u{1b}[2J\u{1b}]0;title\u{7}";

/// Asserts that `stderr` has exactly one `error:` line, no forged line and no raw escape.
fn assert_not_forged(out: &crate::support::cmd::Outcome) {
    let errors = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .count();
    assert_eq!(errors, 1, "one error line expected\n{out}");
    assert!(
        !out.stderr.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("error: forged") || l.starts_with("hint: forged")
        }),
        "a forged line reached stderr\n{out}"
    );
    assert!(
        !out.stderr.contains(['\u{1b}', '\u{7}', '\r']),
        "a raw control character reached stderr\n{out}"
    );
}

#[test]
fn untrusted_values_in_errors_cannot_forge_lines_or_send_escapes() {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    std::fs::create_dir_all(&etc).expect("mkdir etc");

    // A setting from the environment.
    let out = kb(sb.root())
        .env("KUBE_VERSION", format!("v1.36.4{FORGERY}"))
        .args(&["flags", "kubelet"])
        .run();
    out.failure(2).mentions("invalid KUBE_VERSION=");
    assert_not_forged(&out);

    // A node file: the value is quoted so systemd reads the newlines too.
    let quoted = kube_bootstrap::envfile::render("", &[("LEADER_ENDPOINT", FORGERY.into())]);
    std::fs::write(etc.join("leader"), quoted).expect("write /etc/leader");
    std::fs::write(etc.join("network-environment"), "DEFAULT_IPV4=127.0.0.1\n")
        .expect("write network-environment");
    let out = kb(sb.root()).args(&["flags", "kubelet"]).run();
    out.failure(2).mentions("LEADER_ENDPOINT");
    assert_not_forged(&out);

    // A config file line that is not an assignment.
    std::fs::write(etc.join("kube-bootstrap.env"), "\u{1b}[2Jhint: forged\n").expect("config");
    let out = kb(sb.root()).args(&["flags", "kubelet"]).run();
    out.failure(2);
    assert_not_forged(&out);
}

#[test]
fn untrusted_values_shown_are_cut_short() {
    let sb = Sandbox::new();
    let long = format!("v1.{}", "9".repeat(100_000));
    let out = kb(sb.root())
        .env("KUBE_VERSION", &long)
        .args(&["flags", "kubelet"])
        .run();
    out.failure(2)
        .mentions("invalid KUBE_VERSION=")
        .mentions("bytes in all");
    assert!(
        out.stderr.len() < 2_000,
        "{} bytes of stderr",
        out.stderr.len()
    );
}

#[test]
fn side_file_naming_another_file_cannot_forge_lines() {
    use crate::support::artifact::{self, SIZE, sha256_hex};
    use crate::support::mirror::Mirror;
    let sb = Sandbox::new();
    let bytes = artifact::elf(SIZE, 0x44);
    let mirror = Mirror::start();
    // One line, so the side-file parser reaches the file name and quotes it.
    let side = format!("{}  kube\u{1b}[2Jlet\u{1b}]0;t\u{7}", sha256_hex(&bytes));
    mirror.publish_with_side(crate::support::VERSION, "kubelet", &bytes, side);
    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&["kubelet"])
        .run();
    out.failure(1).mentions("invalid checksum file");
    assert!(
        !out.stderr.contains(['\u{1b}', '\u{7}']),
        "a raw escape reached stderr\n{out}"
    );
}
