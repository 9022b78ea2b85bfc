//! The one HTTP stack every network caller uses: client construction (trusted CA bundle,
//! proxies, hickory DNS, timeouts, redirects), host name resolution, and credential redaction
//! for URLs that are logged or printed.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Client, Url};

use crate::settings::Proxies;

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("kube-bootstrap/", env!("CARGO_PKG_VERSION"));

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read CA bundle '{}' ({var})", path.display())]
    CaFile {
        var: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot use CA bundle '{}' ({var})", path.display())]
    CaBundle {
        var: &'static str,
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },

    #[error("cannot use the proxy {url} ({var})")]
    Proxy {
        var: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("cannot read the client certificate or key '{}'", path.display())]
    IdentityFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot use the client certificate '{}' with its key '{}'", cert.display(), key.display())]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: reqwest::Error,
    },

    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),

    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
}

/// Extra roots to trust besides the system's.
#[derive(Debug, Clone)]
pub enum Ca {
    /// The system roots only.
    System,
    /// A bundle the operator named (`var`): it must be readable and hold a certificate.
    Required { path: PathBuf, var: &'static str },
    /// A bundle that may not exist yet (the cluster's CA on a node being set up).
    IfReadable(PathBuf),
    /// A bundle the caller already read (within its own deadline); no roots when it holds none.
    Pem(Vec<u8>),
    /// No verification at all: only for a joining worker's discovery, whose answer (the CA) is
    /// checked against a hash pinned out of band before anything is trusted or sent.
    Unverified,
}

/// Largest CA bundle read (a system bundle is about 200 KiB).
pub const MAX_CA_BUNDLE: u64 = 4 << 20;

/// What the client is for.
#[derive(Debug, Clone)]
pub struct Options {
    pub ca: Ca,
    pub connect_timeout: Duration,
    /// Bound on a whole request; `None` leaves it to the caller (downloads stream for long).
    pub timeout: Option<Duration>,
    /// Follow redirects (never from https to plain http); otherwise a redirect is the answer.
    pub follow_redirects: bool,
    /// The proxies settings resolved (config file and environment, see `settings`); `None`
    /// for requests to the cluster's own network. The process environment is never read here.
    pub proxies: Option<Proxies>,
    /// A client certificate and its key (PEM files), for servers that authenticate clients
    /// (etcd, the apiserver).
    pub identity: Option<ClientIdentity>,
}

/// A client certificate and the file of its private key.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Largest certificate or key file read for a client identity.
const MAX_IDENTITY_FILE: u64 = 1 << 20;

fn identity(id: &ClientIdentity) -> Result<reqwest::Identity, Error> {
    let read = |path: &PathBuf| {
        crate::fsutil::read_bounded(path, MAX_IDENTITY_FILE).map_err(|e| Error::IdentityFile {
            path: path.clone(),
            source: match e {
                crate::fsutil::BoundedReadError::Io(e) => e,
                other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
            },
        })
    };
    let mut pem = read(&id.cert)?;
    pem.push(b'\n');
    pem.extend(read(&id.key)?);
    reqwest::Identity::from_pem(&pem).map_err(|source| Error::Identity {
        cert: id.cert.clone(),
        key: id.key.clone(),
        source,
    })
}

/// Builds a client: hickory DNS (/etc/hosts and /etc/resolv.conf, not glibc's NSS, which a
/// static binary cannot load reliably), rustls with the system roots plus `options.ca`.
pub fn client(options: &Options) -> Result<Client, Error> {
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(options.connect_timeout)
        .hickory_dns(true);
    if let Some(t) = options.timeout {
        builder = builder.timeout(t);
    }
    builder = builder.no_proxy();
    if let Some(proxies) = &options.proxies {
        for proxy in proxy_list(proxies)? {
            builder = builder.proxy(proxy);
        }
    }
    builder = if options.follow_redirects {
        builder.redirect(reqwest::redirect::Policy::custom(|attempt| {
            let downgrade = attempt.url().scheme() == "http"
                && attempt.previous().iter().any(|u| u.scheme() == "https");
            if downgrade {
                attempt.error("refusing to follow a redirect from https to plain http")
            } else if attempt.previous().len() > 10 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        }))
    } else {
        builder.redirect(reqwest::redirect::Policy::none())
    };
    for cert in roots(&options.ca)? {
        builder = builder.add_root_certificate(cert);
    }
    if matches!(options.ca, Ca::Unverified) {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(id) = &options.identity {
        builder = builder.identity(identity(id)?);
    }
    builder.build().map_err(Error::Client)
}

/// reqwest's proxies for the settings, most specific first (the first that matches is used).
fn proxy_list(p: &Proxies) -> Result<Vec<reqwest::Proxy>, Error> {
    // `*` means no proxy for any host; reqwest's matcher applies it to names only, not to IP
    // addresses, so it is handled here.
    if p.no_proxy
        .as_deref()
        .is_some_and(|n| n.split(',').any(|e| e.trim() == "*"))
    {
        return Ok(Vec::new());
    }
    let no_proxy = || {
        p.no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string)
    };
    let mut out = Vec::new();
    type Make = fn(Url) -> reqwest::Result<reqwest::Proxy>;
    let kinds: [(&Option<(Url, &'static str)>, Make); 3] = [
        (&p.https, reqwest::Proxy::https),
        (&p.http, reqwest::Proxy::http),
        (&p.all, reqwest::Proxy::all),
    ];
    for (setting, make) in kinds {
        if let Some((url, var)) = setting {
            let proxy = make(url.clone()).map_err(|source| Error::Proxy {
                var,
                url: redact(url),
                source,
            })?;
            out.push(proxy.no_proxy(no_proxy()));
        }
    }
    Ok(out)
}

fn roots(ca: &Ca) -> Result<Vec<reqwest::Certificate>, Error> {
    match ca {
        Ca::System | Ca::Unverified => Ok(Vec::new()),
        // Bounded and non-blocking: a FIFO or `/dev/zero` planted at the path adds no roots.
        Ca::IfReadable(path) => Ok(crate::fsutil::read_bounded(path, MAX_CA_BUNDLE)
            .ok()
            .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
            .unwrap_or_default()),
        Ca::Pem(pem) => Ok(reqwest::Certificate::from_pem_bundle(pem).unwrap_or_default()),
        Ca::Required { path, var } => {
            let pem =
                crate::fsutil::read_bounded(path, MAX_CA_BUNDLE).map_err(|e| Error::CaFile {
                    var,
                    path: path.clone(),
                    source: match e {
                        crate::fsutil::BoundedReadError::Io(e) => e,
                        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
                    },
                })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| Error::CaBundle {
                    var,
                    path: path.clone(),
                    source,
                })?;
            if certs.is_empty() {
                return Err(Error::CaFile {
                    var,
                    path: path.clone(),
                    source: io::Error::new(
                        io::ErrorKind::InvalidData,
                        "no PEM certificate in the file",
                    ),
                });
            }
            Ok(certs)
        }
    }
}

/// A current-thread runtime for blocking callers of the async client.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// A client with its own runtime, for callers that make a few requests and wait for each.
pub struct Blocking {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Blocking {
    pub fn new(options: &Options) -> Result<Blocking, Error> {
        Ok(Blocking {
            runtime: runtime()?,
            client: client(options)?,
        })
    }

    /// GET `url`: the status and at most about `max` bytes of the body.
    pub fn get(&self, url: &str, max: usize) -> Result<(u16, Vec<u8>), reqwest::Error> {
        self.send(reqwest::Method::GET, url, None, max)
    }

    /// `method` on `url` with a JSON `body`: the status and at most about `max` bytes of the
    /// answer.
    pub fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        json: Option<Vec<u8>>,
        max: usize,
    ) -> Result<(u16, Vec<u8>), reqwest::Error> {
        self.runtime.block_on(async {
            let mut request = self.client.request(method, url);
            if let Some(body) = json {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
            }
            let mut resp = request.send().await?;
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            while body.len() < max {
                match resp.chunk().await? {
                    Some(chunk) => body.extend_from_slice(&chunk),
                    None => break,
                }
            }
            Ok((status, body))
        })
    }
}

/// Why a host name has no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve '{host}'")]
    Runtime {
        host: String,
        #[source]
        source: Error,
    },
    #[error("cannot read the resolver configuration")]
    Config(#[source] hickory_resolver::ResolveError),
    #[error("cannot resolve '{host}' within {secs}s")]
    Timeout { host: String, secs: u64 },
    #[error("cannot resolve '{host}'")]
    Lookup {
        host: String,
        #[source]
        source: hickory_resolver::ResolveError,
    },
}

/// Resolves a host name the way the client does (hickory), bounded by `within`.
pub fn resolve(host: &str, within: Duration) -> Result<Vec<IpAddr>, ResolveError> {
    let runtime = runtime().map_err(|source| ResolveError::Runtime {
        host: host.to_string(),
        source,
    })?;
    runtime.block_on(async {
        let resolver = hickory_resolver::TokioResolver::builder_tokio()
            .map_err(ResolveError::Config)?
            .build();
        match tokio::time::timeout(within, resolver.lookup_ip(host)).await {
            Err(_) => Err(ResolveError::Timeout {
                host: host.to_string(),
                secs: within.as_secs(),
            }),
            Ok(Err(source)) => Err(ResolveError::Lookup {
                host: host.to_string(),
                source,
            }),
            Ok(Ok(found)) => Ok(found.iter().collect()),
        }
    })
}

/// `url` without its user name and password, for logs and messages.
pub fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut clean = url.clone();
    // Only URLs that cannot be a base (`mailto:`) refuse these, and those carry no userinfo.
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

pub use crate::shown::redact_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_userinfo_only() {
        for (url, want) in [
            (
                "https://user:secret@mirror.example/k8s",
                "https://mirror.example/k8s",
            ),
            ("https://token@mirror.example/", "https://mirror.example/"),
            ("https://mirror.example/k8s", "https://mirror.example/k8s"),
            ("file:///srv/mirror", "file:///srv/mirror"),
        ] {
            assert_eq!(redact(&Url::parse(url).unwrap()), want, "{url}");
        }
    }

    #[test]
    fn no_proxy_star_turns_every_proxy_off() {
        let proxy = Url::parse("http://127.0.0.1:3128").unwrap();
        for (no_proxy, want) in [
            (None, 2),
            (Some("example.com"), 2),
            (Some("*"), 0),
            (Some("a, *"), 0),
        ] {
            let p = Proxies {
                https: Some((proxy.clone(), "HTTPS_PROXY")),
                http: None,
                all: Some((proxy.clone(), "ALL_PROXY")),
                no_proxy: no_proxy.map(str::to_string),
            };
            assert_eq!(proxy_list(&p).unwrap().len(), want, "{no_proxy:?}");
        }
    }

    #[test]
    fn a_required_ca_bundle_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let options = Options {
            ca: Ca::Required {
                path: path.clone(),
                var: "KUBE_CA_FILE",
            },
            connect_timeout: Duration::from_secs(1),
            timeout: None,
            follow_redirects: true,
            proxies: Some(Proxies::default()),
            identity: None,
        };
        let err = client(&options).unwrap_err();
        assert!(matches!(err, Error::CaFile { .. }), "{err:?}");
        let missing = Options {
            ca: Ca::Required {
                path: dir.path().join("absent.pem"),
                var: "KUBE_CA_FILE",
            },
            ..options.clone()
        };
        assert!(matches!(
            client(&missing).unwrap_err(),
            Error::CaFile { .. }
        ));
        let lenient = Options {
            ca: Ca::IfReadable(path),
            ..options
        };
        assert!(client(&lenient).is_ok());
    }
}
