//! A client for the few Kubernetes API objects kube-bootstrap writes on the leader, through
//! `http.rs` with typed serde documents (`objects`): never hand-built JSON, never on the `exec`
//! path. It speaks to the apiserver beside it, on 127.0.0.1, as the break-glass identity of
//! `super-admin.conf` (the only one that holds rights before kube-bootstrap's bindings exist).

pub mod objects;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::{self, Blocking, ClientIdentity};
use crate::settings::Settings;

/// Largest answer read from the apiserver.
const MAX_BODY: usize = 1 << 20;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot set up a client for the apiserver at {url}")]
    Client {
        url: String,
        #[source]
        source: http::Error,
    },
    #[error(
        "the apiserver at {url} was not ready within {secs} s (last: {})",
        crate::shown::one_line(last)
    )]
    NotReady {
        url: String,
        secs: u64,
        last: String,
    },
    #[error("{method} {url} failed")]
    Request {
        method: Method,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url}: {status}: {}", crate::shown::one_line(body))]
    Status {
        method: Method,
        url: String,
        status: u16,
        body: String,
    },
    #[error("the answer to {method} {url} is not the object expected")]
    Decode {
        method: Method,
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode the object for {url}")]
    Encode {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What `create` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Made,
    /// Made by someone else meanwhile (409).
    Exists,
}

/// The apiserver beside this leader, reached with one client identity.
pub struct Client {
    base: String,
    http: Blocking,
}

impl Client {
    /// The apiserver on 127.0.0.1 at the release's port, trusted through `ca.crt` and reached as
    /// the pair `<identity>.crt`/`.key` of `KUBE_PKI_DIR`.
    pub fn leader(settings: &Settings, identity: &str) -> Result<Client, Error> {
        let minor = crate::flags::rules_minor(&settings.version);
        let base = format!(
            "https://127.0.0.1:{}",
            crate::flags::apiserver_port(settings, minor)
        );
        let pki = |name: &str| -> PathBuf { settings.path(settings.cluster.pki_dir.join(name)) };
        let ca = http::Ca::Required {
            path: pki("ca.crt"),
            var: crate::env_vars::KUBE_PKI_DIR,
        };
        let identity = ClientIdentity {
            cert: pki(&format!("{identity}.crt")),
            key: pki(&format!("{identity}.key")),
        };
        Client::new(base, ca, Some(identity))
    }

    /// The apiserver at `base`, without credentials and without verifying its certificate:
    /// only for a joining worker's discovery of the CA, which it checks against a pinned hash.
    pub fn unverified(base: &str) -> Result<Client, Error> {
        Client::new(base.to_string(), http::Ca::Unverified, None)
    }

    /// A client of the cluster's own apiserver: never through a proxy, bounded requests.
    fn new(base: String, ca: http::Ca, identity: Option<ClientIdentity>) -> Result<Client, Error> {
        let http = Blocking::new(&http::Options {
            ca,
            connect_timeout: Duration::from_secs(5),
            timeout: Some(REQUEST_TIMEOUT),
            follow_redirects: false,
            proxies: None,
            identity,
        })
        .map_err(|source| Error::Client {
            url: base.clone(),
            source,
        })?;
        Ok(Client { base, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Waits (polling once a second, at most `within`) for `/readyz` to answer `ok`.
    pub fn wait_ready(&self, within: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        let url = format!("{}/readyz", self.base);
        loop {
            let last = match self.http.get(&url, MAX_BODY) {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => format!("{status}: {}", String::from_utf8_lossy(&body)),
                Err(e) => crate::causes::chain(&e),
            };
            if Instant::now() >= deadline {
                return Err(Error::NotReady {
                    url,
                    secs: within.as_secs(),
                    last,
                });
            }
            tracing::debug!(url = %url, last = %crate::shown::one_line(&last), "waiting for the apiserver");
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>, String), Error> {
        let url = format!("{}{path}", self.base);
        let (status, answer) = self
            .http
            .send(method.clone(), &url, body, MAX_BODY)
            .map_err(|source| Error::Request {
                method,
                url: url.clone(),
                source,
            })?;
        Ok((status, answer, url))
    }

    /// The object at `path`, or `None` when there is none (404).
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, Error> {
        let (status, body, url) = self.call(Method::GET, path, None)?;
        match status {
            404 => Ok(None),
            200 => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|source| Error::Decode {
                    method: Method::GET,
                    url,
                    source,
                }),
            _ => Err(unexpected(Method::GET, url, status, &body)),
        }
    }

    /// `method` on `path` with `object` as JSON: the status, the answer and the URL.
    fn send<T: Serialize>(
        &self,
        method: Method,
        path: &str,
        object: &T,
    ) -> Result<(u16, Vec<u8>, String), Error> {
        let body = serde_json::to_vec(object).map_err(|source| Error::Encode {
            url: format!("{}{path}", self.base),
            source,
        })?;
        self.call(method, path, Some(body))
    }

    /// Replaces the object at `path` (its own URL) with `object`.
    pub fn replace<T: Serialize>(&self, path: &str, object: &T) -> Result<(), Error> {
        match self.send(Method::PUT, path, object)? {
            (200..=201, _, _) => Ok(()),
            (status, answer, url) => Err(unexpected(Method::PUT, url, status, &answer)),
        }
    }

    /// Creates `object` in the collection at `path`; one that exists already (409) is left as
    /// it is.
    pub fn create<T: Serialize>(&self, path: &str, object: &T) -> Result<Created, Error> {
        match self.send(Method::POST, path, object)? {
            (200..=202, _, _) => Ok(Created::Made),
            (409, _, _) => Ok(Created::Exists),
            (status, answer, url) => Err(unexpected(Method::POST, url, status, &answer)),
        }
    }
}

/// An answer `method` on `url` did not expect.
fn unexpected(method: Method, url: String, status: u16, body: &[u8]) -> Error {
    Error::Status {
        method,
        url,
        status,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}
