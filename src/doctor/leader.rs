//! The leader and its apiserver: `LEADER_ENDPOINT` is set, the port accepts connections, the
//! apiserver answers `/readyz` (or `/healthz` before 1.16), and which release its `/version`
//! says it runs (the reference for the version-skew check of a node's components).

use crate::env_vars as var;
use crate::flags;
use crate::node::{Endpoint, NodeFacts};
use crate::settings::Settings;
use crate::skew::{self, Minor};

use super::probe::{Http, TIMEOUT, connect, excerpt};
use super::report::Findings;

/// The apiserver base URL node components use, as `flags` computes it.
fn apiserver_url(settings: &Settings, endpoint: &Endpoint) -> (String, u16) {
    let default_port = flags::apiserver_port(settings, flags::rules_minor(&settings.version));
    let port = endpoint.port.unwrap_or(default_port);
    (flags::node_apiserver_url(settings, endpoint), port)
}

/// The release the leader's apiserver says it runs: its minor and `gitVersion`.
pub type Live = (Minor, String);

/// `http` is `None` with `--offline`: the endpoint is read, nothing is probed. Returns the
/// apiserver's release when it answered `/version`.
pub fn check(
    settings: &Settings,
    facts: &NodeFacts,
    http: Option<&mut Http>,
    f: &mut Findings,
) -> Option<Live> {
    let leader = match &facts.leader {
        Ok(known) => known,
        Err(e) => {
            let hint = format!(
                "write LEADER_ENDPOINT=<apiserver host> to '{}' (or point {} elsewhere)",
                settings.path(&settings.node.leader_file).display(),
                var::KUBE_LEADER_FILE
            );
            f.fail("leader", e.to_string(), hint);
            return None;
        }
    };
    let (url, port) = apiserver_url(settings, &leader.value);
    if let Some(w) = flags::plain_http_leader(
        crate::component::Component::Kubelet,
        flags::rules_minor(&settings.version),
        facts,
    ) {
        f.warn(
            "leader",
            w,
            format!(
                "write LEADER_ENDPOINT=https://{} (or the host alone) to '{}'",
                leader.value.host,
                settings.path(&settings.node.leader_file).display()
            ),
        );
    }
    f.ok(
        "leader",
        format!(
            "the apiserver is {url} ({}){}",
            leader.source,
            if http.is_none() {
                "; not probed (--offline)"
            } else {
                ""
            }
        ),
    );
    let http = http?;
    let host = leader.value.host.as_str();
    match connect(host, port, TIMEOUT) {
        Ok((addr, took)) => f.ok(
            "apiserver",
            format!("{addr} accepts TCP connections ({} ms)", took.as_millis()),
        ),
        Err(why) => {
            f.fail(
                "apiserver",
                format!("cannot connect to {host} port {port} within {} s: {why}", TIMEOUT.as_secs()),
                "check that kube-apiserver runs on the leader, that LEADER_ENDPOINT is its address, and that no firewall drops the port".to_string(),
            );
            return None;
        }
    }
    let ca = http.ca.clone();
    let client = match http.client() {
        Ok(c) => c,
        Err(why) => {
            f.warn(
                "apiserver",
                format!("health not checked: {why}"),
                "fix KUBE_CA_FILE or the cluster's ca.crt so that an HTTP client can be built",
            );
            return None;
        }
    };
    let mut path = "/readyz";
    let mut answer = client.get(&format!("{url}{path}"));
    // Before 1.16 there is no /readyz.
    if matches!(answer, Ok((404, _))) {
        path = "/healthz";
        answer = client.get(&format!("{url}{path}"));
    }
    match answer {
        Ok((200, _)) => f.ok("apiserver", format!("GET {url}{path}: 200")),
        Ok((status @ (401 | 403), _)) => f.warn(
            "apiserver",
            format!("GET {url}{path}: {status}, anonymous requests are refused; readiness not checked"),
            "allow anonymous health checks (the default 'system:public-info-viewer' binding), or check readiness with 'kubectl get --raw /readyz' on the leader",
        ),
        Ok((status, body)) => f.fail(
            "apiserver",
            format!("GET {url}{path}: {status}: {}", excerpt(&body)),
            "the apiserver answers but is not ready: see 'journalctl -u kube-apiserver' on the leader".to_string(),
        ),
        Err(why) => f.warn(
            "apiserver",
            format!("GET {url}{path} failed: {why}"),
            if url.starts_with("https") {
                format!(
                    "is '{}' the cluster's CA, and does the apiserver certificate name the host of LEADER_ENDPOINT?",
                    ca.display()
                )
            } else {
                "check that the apiserver serves on that port: 'journalctl -u kube-apiserver' on the leader".to_string()
            },
        ),
    }
    // Anonymous requests may read /version (the 'system:public-info-viewer' binding).
    let live = match client.get(&format!("{url}/version")) {
        Ok((200, body)) => {
            skew::parse_version(body.as_bytes()).map_err(|why| format!("GET {url}/version: {why}"))
        }
        Ok((status, body)) => Err(format!("GET {url}/version: {status}: {}", excerpt(&body))),
        Err(why) => Err(format!("GET {url}/version failed: {why}")),
    };
    live.map_err(|finding| {
        f.warn(
            "skew",
            finding,
            "the skew of this node's components against the apiserver is not checked",
        )
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn settings(config: &str) -> Settings {
        let overlay =
            crate::settings::Overlay::from_config_str(Path::new("/etc/kube-bootstrap.env"), config)
                .unwrap()
                .with_env([("KUBE_ARCH".to_string(), "amd64".to_string())].into());
        Settings::resolve(Path::new("/"), &overlay).unwrap()
    }

    #[test]
    fn apiserver_url_follows_the_version_topology() {
        let e = |s: &str| crate::node::parse_endpoint(s).unwrap();
        for (config, endpoint, url, port) in [
            (
                "KUBE_VERSION=v1.36.4",
                "10.0.0.1",
                "https://10.0.0.1:6443",
                6443,
            ),
            (
                "KUBE_VERSION=v1.19.0",
                "10.0.0.1",
                "http://10.0.0.1:9090",
                9090,
            ),
            (
                "KUBE_VERSION=v1.40.0",
                "10.0.0.1",
                "https://10.0.0.1:6443",
                6443,
            ),
            (
                "KUBE_VERSION=v1.36.4",
                "10.0.0.1:7443",
                "https://10.0.0.1:7443",
                7443,
            ),
            (
                "KUBE_VERSION=v1.36.4\nKUBE_APISERVER_PORT=8443",
                "leader",
                "https://leader:8443",
                8443,
            ),
            (
                "KUBE_VERSION=v1.36.4",
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                8080,
            ),
            // A URL without a port takes the topology's port, like a bare host.
            (
                "KUBE_VERSION=v1.36.4\nKUBE_APISERVER_PORT=8443",
                "https://leader",
                "https://leader:8443",
                8443,
            ),
            (
                "KUBE_VERSION=v1.36.4",
                "https://leader",
                "https://leader:6443",
                6443,
            ),
            (
                "KUBE_VERSION=v1.36.4",
                "https://leader:443",
                "https://leader:443",
                443,
            ),
        ] {
            let s = settings(config);
            assert_eq!(
                apiserver_url(&s, &e(endpoint)),
                (url.to_string(), port),
                "{config} {endpoint}"
            );
        }
    }
}
