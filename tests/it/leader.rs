//! `LEADER_ENDPOINT` forms as the README's table gives them, through `flags kubelet` (the
//! server URL it writes into the kubelet's kubeconfig) and the messages of refused forms.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::cmd::Outcome;
use crate::support::{Sandbox, kb};

fn sandbox(endpoint: &str) -> Sandbox {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(
        etc.join("leader"),
        format!("LEADER_ENDPOINT=\"{endpoint}\"\n"),
    )
    .unwrap();
    fs::write(etc.join("network-environment"), "DEFAULT_IPV4=10.0.0.2\n").unwrap();
    sb
}

fn flags(root: &Path, version: &str, env: &[(&str, &str)]) -> Outcome {
    let mut cmd = kb(root).version(version);
    for (k, v) in env {
        cmd = cmd.env(k, *v);
    }
    cmd.args(&["flags", "kubelet", "--json"]).run()
}

/// The server of the kubelet's kubeconfig, and the plan's warnings.
fn server(out: &Outcome) -> (String, Vec<String>) {
    out.success();
    let plan: Value = serde_json::from_str(&out.stdout).unwrap();
    let kubeconfig = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("kubelet.conf"))
        .unwrap_or_else(|| panic!("no kubelet.conf\n{out}"));
    let doc: Value = serde_json::from_str(kubeconfig["content"].as_str().unwrap()).unwrap();
    let warnings = plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    (
        doc["clusters"][0]["cluster"]["server"]
            .as_str()
            .unwrap()
            .to_string(),
        warnings,
    )
}

#[test]
fn leader_endpoint_forms_give_the_documented_server() {
    for (endpoint, version, env, want, warned) in [
        (
            "10.0.0.1",
            "v1.36.4",
            &[][..],
            "https://10.0.0.1:6443",
            false,
        ),
        (
            "10.0.0.1",
            "v1.19.16",
            &[][..],
            "http://10.0.0.1:9090",
            false,
        ),
        (
            "[fd00::1]:7443",
            "v1.36.4",
            &[][..],
            "https://[fd00::1]:7443",
            false,
        ),
        (
            "https://leader.example",
            "v1.36.4",
            &[][..],
            "https://leader.example:6443",
            false,
        ),
        (
            "https://leader.example",
            "v1.36.4",
            &[("KUBE_APISERVER_PORT", "8443")][..],
            "https://leader.example:8443",
            false,
        ),
        (
            "https://leader.example:443",
            "v1.36.4",
            &[][..],
            "https://leader.example:443",
            false,
        ),
        (
            "http://10.0.0.1",
            "v1.36.4",
            &[][..],
            "http://10.0.0.1:6443",
            true,
        ),
        (
            "http://10.0.0.1",
            "v1.19.16",
            &[][..],
            "http://10.0.0.1:9090",
            false,
        ),
    ] {
        let sb = sandbox(endpoint);
        let out = flags(sb.root(), version, env);
        let (server, warnings) = server(&out);
        assert_eq!(server, want, "{endpoint} {version}\n{out}");
        assert_eq!(
            warnings.iter().any(|w| w.contains("asks for http://")),
            warned,
            "{endpoint} {version}\n{out}"
        );
        if warned {
            // In the JSON plan, and not logged as well.
            assert!(
                warnings.iter().any(|w| w.contains("serves only TLS")),
                "{out}"
            );
            assert!(!out.stderr.contains("serves only TLS"), "{out}");
        }
    }
}

#[test]
fn refused_leader_endpoints_say_why() {
    for (endpoint, says) in [
        (
            "https://host:6443/some/path",
            "expected a URL of the form http://host[:port] or https://host[:port]",
        ),
        ("10.0.0.1:0", "0 is no port a server listens on"),
        ("https://10.0.0.1:0", "0 is no port a server listens on"),
        ("10.0.0.1:99999", "the port given is out of range"),
        ("https://10.0.0.1:99999", "the port given is out of range"),
        ("10.0.\t0.1", "no spaces or control characters"),
        ("10.0.0.1\u{1b}[2J", "no spaces or control characters"),
        ("https://10.0.0.1\t:6443", "no spaces or control characters"),
    ] {
        let sb = sandbox(endpoint);
        let out = flags(sb.root(), "v1.36.4", &[]);
        out.failure(2)
            .mentions("invalid LEADER_ENDPOINT=")
            .mentions(says);
        assert!(
            !out.stderr.contains('\t'),
            "a control character reached the terminal\n{out}"
        );
    }
}
