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
