//! The version-skew guard. Kubernetes' policy (pure, with tables of tests): a kubelet or
//! kube-proxy is never newer than the apiserver it talks to and at most 3 minor releases older
//! (2 before 1.28); a controller-manager or scheduler is never newer and at most 1 older. And
//! the probe: the leader's `/version`, bounded in time, through [`crate::http`], trusting the
//! CA the components' kubeconfigs trust (`KUBE_PKI_DIR/ca.crt`).
//!
//! An unreachable leader is a warning, never a refusal: a node must still boot while the
//! leader is down.
//!
//! Where it runs: in `fetch`, before a kubelet or kube-proxy release is installed or restored
//! from a kept copy. The units run `fetch` as `ExecStartPre=`, so every start that changes the
//! release is guarded. Not in `exec`: the probe costs a TLS handshake on every start (a connect
//! timeout while the leader is down), and `exec` stays network-free, under a millisecond of
//! overhead (bench/run.sh).

use std::time::Duration;

use serde::Deserialize;

use crate::component::Component;
use crate::env_vars;
use crate::http;
use crate::node::{self, Endpoint};
use crate::settings::Settings;

/// Bound on connecting to the leader.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on the whole `/version` request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Most of a `/version` answer worth reading (the real one is under 300 bytes).
const MAX_BODY: usize = 16 * 1024;

/// A release as `major.minor`.
pub type Minor = (u32, u32);

/// Why a release may not run against an apiserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Newer than the apiserver.
    Newer,
    /// More than `allowed` minor releases older.
    TooOld { allowed: u32 },
}

/// How many minor releases a component may trail the apiserver at `apiserver`.
pub fn allowed_lag(component: Component, apiserver: Minor) -> u32 {
    match component {
        Component::Kubelet | Component::Proxy if apiserver >= (1, 28) => 3,
        Component::Kubelet | Component::Proxy => 2,
        Component::ControllerManager | Component::Scheduler => 1,
        Component::Apiserver => 0,
    }
}

/// Kubernetes' version-skew policy between `component` at `release` and the apiserver. Pure.
pub fn check(component: Component, release: Minor, apiserver: Minor) -> Result<(), Violation> {
    if release > apiserver {
        return Err(Violation::Newer);
    }
    let allowed = allowed_lag(component, apiserver);
    let lag = if release.0 == apiserver.0 {
        apiserver.1 - release.1
    } else {
        u32::MAX
    };
    if lag > allowed {
        return Err(Violation::TooOld { allowed });
    }
    Ok(())
}

/// The policy, in words, for messages.
pub fn policy(component: Component) -> &'static str {
    match component {
        Component::Kubelet | Component::Proxy => {
            "Kubernetes' version-skew policy: never newer than kube-apiserver, at most 3 minor releases older (2 before 1.28)"
        }
        _ => {
            "Kubernetes' version-skew policy: never newer than kube-apiserver, at most 1 minor release older"
        }
    }
}

/// A release refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error("refusing {binary} {release}: the apiserver at {url} runs {apiserver}, and {} ({})", violation_text(*.violation), policy(*.component))]
pub struct Refused {
    pub component: Component,
    pub binary: &'static str,
    pub release: String,
    pub apiserver: String,
    pub url: String,
    pub violation: Violation,
}

fn violation_text(v: Violation) -> String {
    match v {
        Violation::Newer => "the node would run a newer release".to_string(),
        Violation::TooOld { allowed } => {
            format!("the node would be more than {allowed} minor releases behind")
        }
    }
}

/// The apiserver's `/version` answer; only the fields the guard reads.
#[derive(Debug, Deserialize)]
struct VersionInfo {
    major: String,
    minor: String,
    #[serde(rename = "gitVersion")]
    git_version: String,
}

/// `major.minor` and `gitVersion` from a `/version` body. Providers append `+` to the minor
/// (`"28+"`); the digits count. Pure.
pub fn parse_version(body: &[u8]) -> Result<(Minor, String), String> {
    let info: VersionInfo =
        serde_json::from_slice(body).map_err(|e| format!("not a /version answer: {e}"))?;
    let number = |s: &str| -> Option<u32> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    match (number(&info.major), number(&info.minor)) {
        // The answer is the leader's text: escaped here, so no message can carry a forged line.
        (Some(major), Some(minor)) => Ok(((major, minor), crate::shown::quote(&info.git_version))),
        _ => Err(format!(
            "unreadable version major '{}' minor '{}'",
            crate::shown::quote(&info.major),
            crate::shown::quote(&info.minor)
        )),
    }
}

/// The apiserver URL node components use for `release`: `http` on 9090 before 1.20, `https`
/// on 6443 from 1.20 (`KUBE_APISERVER_PORT` and a port or scheme in `LEADER_ENDPOINT` win).
pub fn apiserver_url(settings: &Settings, endpoint: &Endpoint) -> String {
    crate::flags::node_apiserver_url(settings, endpoint)
}

/// Before a kubelet or kube-proxy release is installed: asks the leader's `/version` and
/// refuses a release outside the policy. Anything else, an unreachable leader included, only
/// logs. `KUBE_SKEW_CHECK=off` skips it.
pub fn guard(settings: &Settings, component: Component, within: Duration) -> Result<(), Refused> {
    if !settings.skew_check || !matches!(component, Component::Kubelet | Component::Proxy) {
        return Ok(());
    }
    let endpoint = match node::leader(settings) {
        Ok(known) => known.value,
        Err(why) => {
            tracing::warn!(component = %component, error = %why, "version skew not checked: no LEADER_ENDPOINT yet");
            return Ok(());
        }
    };
    let url = apiserver_url(settings, &endpoint);
    let release = settings.version.to_string();
    let (apiserver, git_version) = match ask(settings, &url, within) {
        Ok(found) => found,
        // One line: the URL, that it is not reachable, and what fetch does instead; the
        // transport's whole cause chain only under -v.
        Err(Asked::Unreachable(chain)) => {
            tracing::debug!(component = %component, url = %url, error = %chain, "the leader's apiserver is not reachable");
            tracing::warn!(component = %component, url = %url, release = %release, disable = env_vars::KUBE_SKEW_CHECK, "version skew not checked: {url} not reachable; installing {release} without the check (-v shows why)");
            return Ok(());
        }
        Err(Asked::Answered(why)) => {
            tracing::warn!(component = %component, url = %url, error = %why, disable = env_vars::KUBE_SKEW_CHECK, "version skew not checked: the leader's apiserver gave no usable version; installing {release} without the check");
            return Ok(());
        }
    };
    let node = (settings.version.major, settings.version.minor);
    match check(component, node, apiserver) {
        Ok(()) => {
            tracing::info!(component = %component, release = %release, apiserver = %git_version, url = %url, "within the version-skew policy");
            Ok(())
        }
        Err(violation) => Err(Refused {
            component,
            binary: component.binary(),
            release,
            apiserver: git_version,
            url,
            violation,
        }),
    }
}

/// Why the leader's `/version` gave no release.
enum Asked {
    /// No answer: connect, TLS, DNS or timeout (the cause chain, redacted).
    Unreachable(String),
    /// An answer that is not a version.
    Answered(String),
}

/// GET `<url>/version`, bounded; the apiserver's release, or why there is none. Everything it
/// reads counts against `within`, the fetch's remaining deadline.
fn ask(settings: &Settings, url: &str, within: Duration) -> Result<(Minor, String), Asked> {
    let started = std::time::Instant::now();
    let ca_path = settings.path(settings.cluster.pki_dir.join("ca.crt"));
    // A missing or unusable ca.crt only means no cluster roots; one that does not answer
    // within the deadline (a FIFO, a hung mount) ends the check.
    let ca = match crate::fsutil::read_bounded_within(&ca_path, http::MAX_CA_BUNDLE, within) {
        Ok(pem) => pem,
        Err(crate::fsutil::BoundedReadError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            return Err(Asked::Unreachable(format!(
                "'{}' was not read within {}={}s",
                ca_path.display(),
                env_vars::KUBE_FETCH_DEADLINE,
                within.as_secs()
            )));
        }
        Err(_) => Vec::new(),
    };
    let left = within.saturating_sub(started.elapsed());
    let client = http::Blocking::new(&http::Options {
        ca: http::Ca::Pem(ca),
        connect_timeout: CONNECT_TIMEOUT.min(left),
        timeout: Some(REQUEST_TIMEOUT.min(left)),
        follow_redirects: false,
        // The leader is on the cluster's own network: never through a proxy.
        proxies: None,
        identity: None,
    })
    .map_err(|e| Asked::Unreachable(crate::causes::chain(&e)))?;
    let (status, body) = client
        .get(&format!("{url}/version"), MAX_BODY)
        .map_err(|e| Asked::Unreachable(http::redact_text(&crate::causes::chain(&e))))?;
    if status != 200 {
        return Err(Asked::Answered(format!("GET {url}/version: HTTP {status}")));
    }
    parse_version(&body).map_err(Asked::Answered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_and_proxy_policy() {
        use Component::{Kubelet, Proxy};
        for (c, node, api, want) in [
            (Kubelet, (1, 36), (1, 36), Ok(())),
            (Kubelet, (1, 37), (1, 36), Err(Violation::Newer)),
            (Proxy, (1, 36), (1, 35), Err(Violation::Newer)),
            (Kubelet, (1, 33), (1, 36), Ok(())),
            (
                Kubelet,
                (1, 32),
                (1, 36),
                Err(Violation::TooOld { allowed: 3 }),
            ),
            (Proxy, (1, 25), (1, 28), Ok(())),
            (Kubelet, (1, 25), (1, 27), Ok(())),
            (
                Kubelet,
                (1, 24),
                (1, 27),
                Err(Violation::TooOld { allowed: 2 }),
            ),
            (Kubelet, (2, 0), (1, 36), Err(Violation::Newer)),
            (
                Kubelet,
                (1, 36),
                (2, 0),
                Err(Violation::TooOld { allowed: 3 }),
            ),
        ] {
            assert_eq!(check(c, node, api), want, "{c} {node:?} vs {api:?}");
        }
    }

    #[test]
    fn control_plane_policy() {
        use Component::{ControllerManager, Scheduler};
        assert_eq!(check(ControllerManager, (1, 35), (1, 36)), Ok(()));
        assert_eq!(
            check(Scheduler, (1, 34), (1, 36)),
            Err(Violation::TooOld { allowed: 1 })
        );
        assert_eq!(check(Scheduler, (1, 37), (1, 36)), Err(Violation::Newer));
    }

    #[test]
    fn version_answers() {
        let real = br#"{"major":"1","minor":"36","emulationMajor":"1","emulationMinor":"36","gitVersion":"v1.36.4","gitCommit":"abc","gitTreeState":"clean","buildDate":"2026-11-12T10:00:00Z","goVersion":"go1.25.3","compiler":"gc","platform":"linux/amd64"}"#;
        assert_eq!(
            parse_version(real).unwrap(),
            ((1, 36), "v1.36.4".to_string())
        );
        let provider = br#"{"major":"1","minor":"28+","gitVersion":"v1.28.3-eks-1"}"#;
        assert_eq!(parse_version(provider).unwrap().0, (1, 28));
        assert!(parse_version(b"<html>login</html>").is_err());
        assert!(parse_version(br#"{"major":"","minor":"x","gitVersion":""}"#).is_err());
    }

    #[test]
    fn refusal_names_both_versions_and_the_policy() {
        let r = Refused {
            component: Component::Kubelet,
            binary: "kubelet",
            release: "v1.37.0".into(),
            apiserver: "v1.36.4".into(),
            url: "https://10.0.0.1:6443".into(),
            violation: Violation::Newer,
        };
        let text = r.to_string();
        for part in [
            "kubelet v1.37.0",
            "v1.36.4",
            "never newer than kube-apiserver",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }
}
