//! The layers resolved together: defaults, config file, environment and command line, and the
//! errors that name a variable, its value and where it came from.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn overlay(config: &str, env: &[(&str, &str)], cli: CliOverrides) -> Overlay {
    let mut o = Overlay::from_config_str(Path::new("/etc/kube-bootstrap.env"), config).unwrap();
    o.set_cli(&cli);
    o.with_env(
        env.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn settings(config: &str, env: &[(&str, &str)], cli: CliOverrides) -> Result<Settings, Error> {
    Settings::resolve(Path::new("/"), &overlay(config, env, cli))
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let s = settings("", &[("KUBE_ARCH", "amd64")], CliOverrides::default()).unwrap();
    assert_eq!(s.version.to_string(), "v1.36.4");
    assert_eq!(s.mirrors[0].as_str(), "https://dl.k8s.io/release");
    assert_eq!(s.bin_dir, PathBuf::from("/opt/bin"));
    assert_eq!(s.fetch_retries, 5);
    assert_eq!(s.stall_timeout, Duration::from_secs(30));
    assert_eq!(s.deadline, Duration::from_secs(600));
    assert_eq!(s.max_download_bytes, 2 << 30);
    assert_eq!(s.verify, Verify::Stamp);
    assert_eq!(s.keep_releases, 2);
    assert!(s.skew_check);
    assert!(!s.allow_http);
    assert_eq!(s.origins["KUBE_VERSION"], Origin::Default);
}

#[test]
fn layers_override_in_order() {
    let config = "KUBE_VERSION=v1.30.0\nKUBE_FETCH_RETRIES=2\nKUBE_BIN_DIR=/usr/local/bin\n";
    let env = [
        ("KUBE_VERSION", "v1.31.0"),
        ("KUBE_FETCH_RETRIES", "3"),
        ("KUBE_ARCH", "arm64"),
    ];
    let cli = CliOverrides {
        version: Some("v1.32.0".into()),
        ..Default::default()
    };
    let s = settings(config, &env, cli).unwrap();
    assert_eq!(s.version.to_string(), "v1.32.0");
    assert_eq!(s.origins["KUBE_VERSION"], Origin::Cli("--kube-version"));
    assert_eq!(s.fetch_retries, 3);
    assert_eq!(s.origins["KUBE_FETCH_RETRIES"], Origin::Env);
    assert_eq!(s.bin_dir, PathBuf::from("/usr/local/bin"));
    assert_eq!(
        s.origins["KUBE_BIN_DIR"],
        Origin::ConfigFile(PathBuf::from("/etc/kube-bootstrap.env"))
    );
}

#[test]
fn invalid_values_name_variable_value_and_origin() {
    for (config, env, var, fragment) in [
        (
            "KUBE_VERSION=1.36\n",
            vec![],
            "KUBE_VERSION",
            "config file '/etc/kube-bootstrap.env'",
        ),
        (
            "",
            vec![("KUBE_ARCH", "x86")],
            "KUBE_ARCH",
            "the environment",
        ),
        (
            "",
            vec![("KUBE_MIRRORS", "ftp://mirror/k8s")],
            "KUBE_MIRRORS",
            "scheme ftp",
        ),
        (
            "",
            vec![("KUBE_SHA256_KUBELET", "abc")],
            "KUBE_SHA256_KUBELET",
            "64 hexadecimal",
        ),
        (
            "",
            vec![("KUBE_BIN_DIR", "opt/bin")],
            "KUBE_BIN_DIR",
            "absolute",
        ),
        (
            "",
            vec![("KUBE_ALLOW_HTTP", "maybe")],
            "KUBE_ALLOW_HTTP",
            "boolean",
        ),
        (
            "",
            vec![("KUBE_FETCH_STALL_TIMEOUT", "0")],
            "KUBE_FETCH_STALL_TIMEOUT",
            "above 0",
        ),
        (
            "",
            vec![("KUBE_MAX_DOWNLOAD_BYTES", "lots")],
            "KUBE_MAX_DOWNLOAD_BYTES",
            "size",
        ),
        (
            "",
            vec![("KUBE_KEEP_RELEASES", "-1")],
            "KUBE_KEEP_RELEASES",
            "0-20",
        ),
        (
            "",
            vec![("KUBE_SKEW_CHECK", "later")],
            "KUBE_SKEW_CHECK",
            "boolean",
        ),
        (
            "",
            vec![("KUBE_VERIFY", "sometimes")],
            "KUBE_VERIFY",
            "stamp or full",
        ),
    ] {
        let mut env = env;
        if !env.iter().any(|(k, _)| *k == "KUBE_ARCH") {
            env.push(("KUBE_ARCH", "amd64"));
        }
        let err = settings(config, &env, CliOverrides::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(var), "{var}: {text}");
        assert!(text.contains(fragment), "{var}: {text}");
        assert!(matches!(err, Error::Invalid { .. }), "{var}: {err:?}");
    }
}

#[test]
fn cluster_defaults_and_derived_dns() {
    let s = settings("", &[("KUBE_ARCH", "amd64")], CliOverrides::default()).unwrap();
    assert_eq!(s.cluster.service_range.to_string(), "172.22.0.0/16");
    assert_eq!(s.cluster.dns.to_string(), "172.22.0.10");
    assert_eq!(s.cluster.apiserver_port, None);
    let s = settings(
        "KUBE_SERVICE_CLUSTER_IP_RANGE=10.96.0.0/12\nKUBE_KUBELET_EXTRA_ARGS=\"--v=2 '--node-labels=a=b c'\"\n",
        &[("KUBE_ARCH", "amd64")],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.cluster.dns.to_string(), "10.96.0.10");
    assert_eq!(
        s.extra_args[&Component::Kubelet],
        ["--v=2", "--node-labels=a=b c"]
    );
}

#[test]
fn service_range_and_dns_are_refused_as_the_apiserver_would() {
    for (env, var, fragment) in [
        (
            &[("KUBE_SERVICE_CLUSTER_IP_RANGE", "10.0.0.0/8")][..],
            "KUBE_SERVICE_CLUSTER_IP_RANGE",
            "for 32-bit addresses, the mask must be >= 12",
        ),
        (
            &[("KUBE_SERVICE_CLUSTER_IP_RANGE", "fd00::/64")][..],
            "KUBE_SERVICE_CLUSTER_IP_RANGE",
            "for 128-bit addresses, the mask must be >= 108",
        ),
        (
            &[("KUBE_CLUSTER_DNS", "10.96.0.10")][..],
            "KUBE_CLUSTER_DNS",
            "inside KUBE_SERVICE_CLUSTER_IP_RANGE '172.22.0.0/16'",
        ),
        (
            &[
                ("KUBE_SERVICE_CLUSTER_IP_RANGE", "10.96.0.0/12"),
                ("KUBE_CLUSTER_DNS", "172.22.0.10"),
            ][..],
            "KUBE_CLUSTER_DNS",
            "inside KUBE_SERVICE_CLUSTER_IP_RANGE '10.96.0.0/12'",
        ),
    ] {
        let mut env = env.to_vec();
        env.push(("KUBE_ARCH", "amd64"));
        let err = settings("", &env, CliOverrides::default()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Invalid { .. }), "{var}: {err:?}");
        assert!(text.contains(var), "{var}: {text}");
        assert!(text.contains(fragment), "{var}: {text}");
    }
    let s = settings(
        "",
        &[
            ("KUBE_ARCH", "amd64"),
            ("KUBE_SERVICE_CLUSTER_IP_RANGE", "10.96.0.0/12"),
            ("KUBE_CLUSTER_DNS", "10.100.0.10"),
        ],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.cluster.dns.to_string(), "10.100.0.10");
}

#[test]
fn invalid_cluster_settings_name_their_variable() {
    for (var, value) in [
        ("KUBE_SERVICE_CLUSTER_IP_RANGE", "172.22.0.1/16"),
        ("KUBE_SERVICE_CLUSTER_IP_RANGE", "10.0.0.0/30"),
        ("KUBE_CLUSTER_CIDR", "10.244.0.1/16"),
        ("KUBE_APISERVER_PORT", "0"),
        ("KUBE_ETCD_SERVERS", "127.0.0.1:2379"),
        ("KUBE_CLUSTER_DNS", "dns"),
        ("KUBE_NODE_IP", "fd00::1"),
        ("KUBE_PROXY_EXTRA_ARGS", "--x='unterminated"),
        ("KUBE_PKI_DIR", "pki"),
        ("KUBE_APISERVER_SANS", "ok.example,bad_name"),
        ("KUBE_PKI_RENEW_BEFORE", "0"),
        ("KUBE_PKI_CERT_DAYS", "a year"),
        ("KUBE_KUBELET_FAIL_CGROUPV1", "sometimes"),
        ("KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS", "2"),
        ("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "-1"),
        ("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "4294967296"),
    ] {
        let err = settings(
            "",
            &[("KUBE_ARCH", "amd64"), (var, value)],
            CliOverrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains(var), "{var}: {err}");
        assert!(matches!(err, Error::Invalid { .. }), "{var}: {err:?}");
    }
}

#[test]
fn host_settings_are_unset_by_default_and_read_from_every_layer() {
    let s = settings("", &[("KUBE_ARCH", "amd64")], CliOverrides::default()).unwrap();
    assert_eq!(s.host, HostSettings::default());
    assert!(!s.origins.contains_key("KUBE_KUBELET_FAIL_CGROUPV1"));
    let s = settings(
        "KUBE_KUBELET_FAIL_CGROUPV1=no\nKUBE_PROXY_CONNTRACK_MAX_PER_CORE=0\n",
        &[
            ("KUBE_ARCH", "amd64"),
            ("KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS", "on"),
        ],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(
        s.host,
        HostSettings {
            fail_cgroup_v1: Some(false),
            protect_kernel_defaults: Some(true),
            conntrack_max_per_core: Some(0),
        }
    );
    assert_eq!(
        s.origins["KUBE_KUBELET_FAIL_CGROUPV1"],
        Origin::ConfigFile(PathBuf::from("/etc/kube-bootstrap.env"))
    );
    assert_eq!(
        s.origins["KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS"],
        Origin::Env
    );
}

#[test]
fn pins_are_normalized_per_binary() {
    let hex = "AB".repeat(32);
    let s = settings(
        "",
        &[("KUBE_ARCH", "amd64"), ("KUBE_SHA256_KUBE_APISERVER", &hex)],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.pins["kube-apiserver"], "ab".repeat(32));
    assert!(!s.pins.contains_key("kubelet"));
    let s = settings(
        "",
        &[("KUBE_ARCH", "amd64"), ("KUBE_SHA256_KUBECTL", &hex)],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!(s.pins["kubectl"], "ab".repeat(32));
}

#[test]
fn cert_days_must_exceed_renew_before() {
    let env = [
        ("KUBE_ARCH", "amd64"),
        ("KUBE_PKI_CERT_DAYS", "30"),
        ("KUBE_PKI_RENEW_BEFORE", "30"),
    ];
    let err = settings("", &env, CliOverrides::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("KUBE_PKI_CERT_DAYS='30'"), "{text}");
    assert!(text.contains("KUBE_PKI_RENEW_BEFORE=30"), "{text}");
    let env = [
        ("KUBE_ARCH", "amd64"),
        ("KUBE_PKI_CERT_DAYS", "31"),
        ("KUBE_PKI_RENEW_BEFORE", "30"),
    ];
    assert!(settings("", &env, CliOverrides::default()).is_ok());
}
