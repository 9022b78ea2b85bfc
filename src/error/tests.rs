use std::io;
use std::path::PathBuf;

use super::*;
use crate::settings::Origin;

#[test]
fn report_prints_every_cause_and_a_hint() {
    let err = Error::from(fsutil::Error {
        action: "create",
        path: PathBuf::from("/opt/bin/.kubelet.partial"),
        source: io::Error::from_raw_os_error(nix::libc::EROFS),
    });
    let text = report(&err);
    assert!(
        text.starts_with("error: cannot create '/opt/bin/.kubelet.partial'\n"),
        "{text}"
    );
    assert!(
        text.contains("  caused by: Read-only file system"),
        "{text}"
    );
    assert!(text.contains("hint: make '/opt/bin' writable"), "{text}");
    assert_eq!(err.exit_code(), EXIT_FAILURE);
}

#[test]
fn read_only_hints_name_the_directory_and_the_setting_that_moves_it() {
    for (path, want, not) in [
        (
            "/opt/bin/.kubelet.partial",
            "'/opt/bin' writable, or choose another directory (KUBE_BIN_DIR",
            "",
        ),
        (
            "/r/var/lib/kube-bootstrap/opt-bin-kubelet.json",
            "state directory '/r/var/lib/kube-bootstrap'",
            "KUBE_BIN_DIR",
        ),
        (
            "/var/lib/kube-bootstrap",
            "state directory '/var/lib/kube-bootstrap'",
            "KUBE_BIN_DIR",
        ),
        (
            "/run/kube-bootstrap/.kubelet.env.1.tmp",
            "'/run/kube-bootstrap' writable: the units' environment files",
            "KUBE_BIN_DIR",
        ),
        (
            "/etc/kubernetes/kubelet.conf",
            "KUBE_CONFIG_DIR",
            "KUBE_BIN_DIR",
        ),
    ] {
        let err = Error::from(fsutil::Error {
            action: "create",
            path: PathBuf::from(path),
            source: io::Error::from_raw_os_error(nix::libc::EROFS),
        });
        let hint = err.hint().unwrap();
        assert!(hint.contains(want), "{path}: {hint}");
        assert!(not.is_empty() || !hint.contains(not), "{path}: {hint}");
    }
}

#[test]
fn settings_errors_are_usage_errors() {
    let err = Error::from(settings::Error::Invalid {
        var: "KUBE_VERSION".into(),
        value: "1.36".into(),
        origin: Origin::Env,
        expected: "a release".into(),
    });
    assert_eq!(err.exit_code(), EXIT_USAGE);
    assert_eq!(
        err.to_string(),
        "invalid KUBE_VERSION='1.36' (from the environment): expected a release"
    );
}

#[test]
fn flag_errors_are_usage_errors_wherever_they_surface() {
    let missing = || flags::Error::MissingFact {
        flag: "--kubeconfig".into(),
        source: FactError::Unset {
            path: "/etc/leader".into(),
            var: LEADER_ENDPOINT,
        },
    };
    for err in [
        Error::from(missing()),
        Error::from(exec::Error::from(missing())),
        Error::from(explain::Error::from(missing())),
        Error::from(flags::Error::UnsupportedVersion {
            version: "v0.21.0".into(),
            origin: Origin::Env,
        }),
    ] {
        assert_eq!(err.exit_code(), EXIT_USAGE, "{err}");
    }
    let text = report(&Error::from(exec::Error::from(missing())));
    assert_eq!(
        text,
        "error: --kubeconfig needs LEADER_ENDPOINT from '/etc/leader'\n  caused by: '/etc/leader' does not set LEADER_ENDPOINT\nhint: write LEADER_ENDPOINT=<apiserver host> to '/etc/leader' (or point KUBE_LEADER_FILE elsewhere)\n"
    );
}

#[test]
fn several_fetch_failures_print_each_then_the_count() {
    let deadline = |binary| fetch::Error::Deadline {
        binary,
        secs: 5,
        var: "KUBE_FETCH_DEADLINE",
        doing: "the last failure: HTTP 503 from https://m/x".into(),
        lock: None,
    };
    let err = Error::from(fetch::Error::Several {
        failed: vec![deadline("kubelet"), deadline("kube-proxy")],
        total: 3,
    });
    assert_eq!(
        report(&err),
        "error: fetch of kubelet did not finish within 5s (KUBE_FETCH_DEADLINE); the last failure: HTTP 503 from https://m/x\n\
         error: fetch of kube-proxy did not finish within 5s (KUBE_FETCH_DEADLINE); the last failure: HTTP 503 from https://m/x\n\
         error: 2 of 3 fetches failed\n\
         hint: raise KUBE_FETCH_DEADLINE, or add a closer mirror to KUBE_MIRRORS\n"
    );
    assert_eq!(err.exit_code(), EXIT_FAILURE);
}
