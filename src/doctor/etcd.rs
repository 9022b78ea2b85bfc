//! etcd: every server the apiserver is given answers `/health` with `"health":"true"`, over
//! TLS with the apiserver's own client certificate when the servers are https; plain http is
//! said loudly.

use crate::env_vars as var;
use crate::http::ClientIdentity;
use crate::settings::Settings;

use super::probe::{Http, excerpt};
use super::report::Findings;

pub fn check(settings: &Settings, f: &mut Findings) {
    let minor = crate::flags::rules_minor(&settings.version);
    let servers = crate::flags::etcd_servers(settings, minor);
    let pki = |name: &str| settings.path(settings.cluster.pki_dir.join(name));
    let mut http = if crate::flags::etcd_tls(&servers) {
        // What the apiserver dials etcd with (--etcd-cafile, --etcd-certfile, --etcd-keyfile).
        Http::with_identity(
            pki(crate::pki::ETCD_CA_CRT),
            ClientIdentity {
                cert: pki("apiserver-etcd-client.crt"),
                key: pki("apiserver-etcd-client.key"),
            },
        )
    } else {
        f.warn(
            "etcd",
            format!(
                "etcd is reached over plain http ({}={servers}): any process that reaches it reads and writes every Secret, with no authentication",
                var::KUBE_ETCD_SERVERS
            ),
            "run etcd over TLS with the drop-in in the README's 'etcd over TLS' (etcd's certificates come from 'kube-bootstrap pki init'), then set KUBE_ETCD_SERVERS=https://127.0.0.1:2379 (the default from Kubernetes 1.20)",
        );
        Http::new(pki("ca.crt"))
    };
    for server in servers.split(',').map(str::trim) {
        let url = format!("{}/health", server.trim_end_matches('/'));
        let hint = || {
            format!(
                "start etcd beside the apiserver, or fix {}",
                var::KUBE_ETCD_SERVERS
            )
        };
        let client = match http.client() {
            Ok(c) => c,
            Err(why) => {
                f.fail(
                    "etcd",
                    format!("{url} not checked: {why}"),
                    "run 'kube-bootstrap pki init' on the leader: it makes etcd's CA and the apiserver's client pair for etcd",
                );
                continue;
            }
        };
        match client.get(&url) {
            Ok((200, body)) if etcd_healthy(&body) => f.ok("etcd", format!("GET {url}: healthy")),
            Ok((status, body)) => f.fail(
                "etcd",
                format!("GET {url}: {status}, not healthy: {}", excerpt(&body)),
                "see etcd's log ('journalctl -u etcd')",
            ),
            Err(why) => f.fail("etcd", format!("GET {url} failed: {why}"), hint()),
        }
    }
}

/// etcd's `/health` answer: `{"health":"true"}` (3.4 and later add a `reason`).
pub fn etcd_healthy(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("health").cloned())
        .is_some_and(|h| h == "true" || h == true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_health_answers() {
        assert!(etcd_healthy(r#"{"health":"true"}"#));
        assert!(etcd_healthy(r#"{"health":"true","reason":""}"#));
        assert!(etcd_healthy(r#"{"health":true}"#));
        assert!(!etcd_healthy(
            r#"{"health":"false","reason":"RAFT NO LEADER"}"#
        ));
        assert!(!etcd_healthy("ok"));
        assert!(!etcd_healthy(""));
    }
}
