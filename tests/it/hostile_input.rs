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
