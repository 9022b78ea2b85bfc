//! What the network checks share: a bounded TCP connect, and an HTTP client built on first use
//! from the one transport in [`crate::http`], trusting the cluster's CA besides the system roots.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::causes::chain;
use crate::http;

/// Bound on each connect and on each health request's connect.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on a whole health request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of a health answer worth reading.
const MAX_BODY: usize = 4096;

/// Connects to `host:port`, trying each address.
pub fn connect(host: &str, port: u16, within: Duration) -> Result<(SocketAddr, Duration), String> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => http::resolve(host, within)
            .map_err(|e| chain(&e))?
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
    };
    let mut last = format!("'{host}' has no address");
    for addr in addrs {
        let started = Instant::now();
        match TcpStream::connect_timeout(&addr, within) {
            Ok(_) => return Ok((addr, started.elapsed())),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(last)
}

/// The first line of a body, shortened and escaped (a server's text never forges a line or
/// sends terminal escapes).
pub fn excerpt(body: &str) -> String {
    let line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let cut: String = line.chars().take(120).collect();
    let mut out = crate::shown::quote(&cut);
    if cut.len() < line.len() {
        out.push_str("...");
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

/// A blocking GET, its client built on first use; it trusts the cluster's CA (`ca`, when
/// readable) besides the system roots.
pub struct Http {
    pub ca: PathBuf,
    identity: Option<http::ClientIdentity>,
    built: Option<Result<http::Blocking, String>>,
}

impl Http {
    pub fn new(ca: PathBuf) -> Http {
        Http {
            ca,
            identity: None,
            built: None,
        }
    }

    /// A client that also presents a client certificate (etcd's, which requires one).
    pub fn with_identity(ca: PathBuf, identity: http::ClientIdentity) -> Http {
        Http {
            ca,
            identity: Some(identity),
            built: None,
        }
    }

    pub fn client(&mut self) -> Result<Client<'_>, String> {
        let (ca, identity) = (&self.ca, &self.identity);
        let built = self.built.get_or_insert_with(|| {
            http::Blocking::new(&http::Options {
                ca: http::Ca::IfReadable(ca.clone()),
                identity: identity.clone(),
                connect_timeout: TIMEOUT,
                timeout: Some(REQUEST_TIMEOUT),
                follow_redirects: false,
                // Health endpoints are on the cluster's own network: never through a proxy.
                proxies: None,
            })
            .map_err(|e| chain(&e))
        });
        built.as_ref().map(Client).map_err(Clone::clone)
    }
}

/// The built client.
pub struct Client<'a>(&'a http::Blocking);

impl Client<'_> {
    /// GET `url`: the status and the start of the body, or why there is no answer.
    pub fn get(&self, url: &str) -> Result<(u16, String), String> {
        let (status, body) = self.0.get(url, MAX_BODY).map_err(|e| chain(&e))?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
