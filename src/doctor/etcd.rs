//! etcd: every server in `KUBE_ETCD_SERVERS` answers `/health` with `"health":"true"`.

use crate::env_vars as var;
use crate::settings::Settings;

use super::probe::{Http, excerpt};
use super::report::Findings;

pub fn check(settings: &Settings, http: &mut Http, f: &mut Findings) {
    for server in settings.cluster.etcd_servers.split(',').map(str::trim) {
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
                f.warn(
                    "etcd",
                    format!("{url} not checked: {why}"),
                    "fix KUBE_CA_FILE or the cluster's ca.crt so that an HTTP client can be built",
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
