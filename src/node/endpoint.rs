//! `LEADER_ENDPOINT`: the forms `/etc/leader` accepts, and the apiserver URL each gives. Pure.

use std::net::{Ipv4Addr, Ipv6Addr};

/// What a valid `LEADER_ENDPOINT` looks like.
pub const ENDPOINT_EXPECTED: &str = "a host name or IP, host:port, [IPv6]:port, or an http(s) URL (e.g. 10.0.0.5, leader.example:6443)";

/// The apiserver endpoint of the leader node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https` when given as a URL.
    pub scheme: Option<String>,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    pub port: Option<u16>,
}

impl Endpoint {
    /// The apiserver URL, filling in the scheme and port the version's topology uses.
    pub fn url(&self, default_scheme: &str, default_port: u16) -> String {
        let scheme = self.scheme.as_deref().unwrap_or(default_scheme);
        let port = self.port.unwrap_or(default_port);
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{port}")
    }
}

/// `LEADER_ENDPOINT` in URL form with something besides `scheme://host[:port]`.
pub const ENDPOINT_URL_FORMS: &str = "a URL of the form http://host[:port] or https://host[:port] (host an IP, [IPv6] or DNS name; no path, query, user or fragment), or host, host:port or [IPv6]:port";
/// A port out of range.
pub const ENDPOINT_PORT_RANGE: &str =
    "a port from 1 to 65535 after the ':' (the port given is out of range)";
/// Port 0.
pub const ENDPOINT_PORT_ZERO: &str =
    "a port from 1 to 65535 after the ':' (0 is no port a server listens on)";
/// Not a number after the ':'.
pub const ENDPOINT_PORT_FORM: &str = "a port number from 1 to 65535 after the ':'";
/// `host:port/`: a trailing slash, which only the URL form takes.
pub const ENDPOINT_TRAILING_SLASH: &str =
    "no trailing '/' after host:port (write it without the '/', or as a URL: http://host:port/)";
/// Spaces or control characters anywhere.
pub const ENDPOINT_CONTROL: &str =
    "no spaces or control characters: a host name or IP, host:port, [IPv6]:port, or an http(s) URL";

/// Parses `LEADER_ENDPOINT`; the error is what was expected. Pure.
///
/// The URL form only chooses the scheme: its port, when written, is used; without one the port
/// is the topology's (`KUBE_APISERVER_PORT`, else 9090 or 6443), as for a bare host, since the
/// apiserver listens there and not on 80 or 443. The same rules (port 1 to 65535, no control
/// characters) hold in both forms.
pub fn parse_endpoint(text: &str) -> Result<Endpoint, &'static str> {
    if text.is_empty() {
        return Err(ENDPOINT_EXPECTED);
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ENDPOINT_CONTROL);
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        // `127.0.0.1:8080/` would otherwise fail as a bad port: say what is wrong.
        if let Some(bare) = text.strip_suffix('/') {
            if authority(bare, false).is_ok() {
                return Err(ENDPOINT_TRAILING_SLASH);
            }
        }
        return authority(text, false);
    };
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return Err(ENDPOINT_URL_FORMS);
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', '\\']) {
        return Err(ENDPOINT_URL_FORMS);
    }
    let mut e = authority(rest, true)?;
    e.scheme = Some(scheme);
    Ok(e)
}

/// `host`, `host:port`, `[IPv6]`, `[IPv6]:port`, and outside URLs a bare IPv6 address.
fn authority(text: &str, in_url: bool) -> Result<Endpoint, &'static str> {
    let bad_host = if in_url {
        ENDPOINT_URL_FORMS
    } else {
        ENDPOINT_EXPECTED
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or(bad_host)?;
        let ip: Ipv6Addr = addr.parse().map_err(|_| bad_host)?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':').ok_or(bad_host)?)?),
        };
        return Ok(Endpoint {
            scheme: None,
            host: ip.to_string(),
            port,
        });
    }
    if let Ok(ip) = text.parse::<Ipv6Addr>() {
        if in_url {
            return Err(ENDPOINT_URL_FORMS);
        }
        return Ok(Endpoint {
            scheme: None,
            host: ip.to_string(),
            port: None,
        });
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(parse_port(p)?)),
        None => (text, None),
    };
    Ok(Endpoint {
        scheme: None,
        host: valid_host(host).ok_or(bad_host)?.to_string(),
        port,
    })
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ENDPOINT_PORT_FORM);
    }
    match text.trim_start_matches('0') {
        "" => Err(ENDPOINT_PORT_ZERO),
        digits => match digits.parse::<u16>() {
            Ok(p) => Ok(p),
            Err(_) => Err(ENDPOINT_PORT_RANGE),
        },
    }
}

/// An IPv4 address or a DNS name (RFC 1123 labels).
fn valid_host(host: &str) -> Option<&str> {
    if host.parse::<Ipv4Addr>().is_ok() {
        return Some(host);
    }
    // Something that looks numeric but is not a valid address (10.0.0.256) is a typo.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_accepted() {
        for (text, scheme, host, port) in [
            ("10.0.0.5", None, "10.0.0.5", None),
            ("leader.example", None, "leader.example", None),
            ("leader", None, "leader", None),
            ("10.0.0.5:6443", None, "10.0.0.5", Some(6443)),
            ("leader.example:9090", None, "leader.example", Some(9090)),
            ("[fd00::1]:6443", None, "fd00::1", Some(6443)),
            ("[fd00::1]", None, "fd00::1", None),
            ("fd00::1", None, "fd00::1", None),
            (
                "https://leader.example:6443",
                Some("https"),
                "leader.example",
                Some(6443),
            ),
            (
                "http://10.0.0.5:9090/",
                Some("http"),
                "10.0.0.5",
                Some(9090),
            ),
            // A URL without a port takes the topology's port, as a bare host does.
            (
                "https://leader.example",
                Some("https"),
                "leader.example",
                None,
            ),
            (
                "HTTPS://leader.example:443/",
                Some("https"),
                "leader.example",
                Some(443),
            ),
            ("http://10.0.0.5:80", Some("http"), "10.0.0.5", Some(80)),
            ("10.0.0.5:06443", None, "10.0.0.5", Some(6443)),
            (
                "https://[fd00::1]:6443",
                Some("https"),
                "fd00::1",
                Some(6443),
            ),
        ] {
            let e = parse_endpoint(text).unwrap_or_else(|e| panic!("{text} rejected: {e}"));
            assert_eq!(e.scheme.as_deref(), scheme, "{text}");
            assert_eq!(e.host, host, "{text}");
            assert_eq!(e.port, port, "{text}");
        }
    }

    #[test]
    fn endpoints_rejected_say_which_forms_are_accepted() {
        for (text, expected) in [
            ("", ENDPOINT_EXPECTED),
            (" ", ENDPOINT_CONTROL),
            ("10.0.0.5 ", ENDPOINT_CONTROL),
            ("leader example", ENDPOINT_CONTROL),
            ("leader\texample", ENDPOINT_CONTROL),
            ("10.0.0.5\u{1b}[31m", ENDPOINT_CONTROL),
            ("https://lea\nder:6443", ENDPOINT_CONTROL),
            ("https://leader\t:6443", ENDPOINT_CONTROL),
            ("10.0.0.5;rm -rf /", ENDPOINT_CONTROL),
            ("$(reboot)", ENDPOINT_EXPECTED),
            ("`id`", ENDPOINT_EXPECTED),
            ("/etc/leader", ENDPOINT_EXPECTED),
            ("leader/api", ENDPOINT_EXPECTED),
            ("10.0.0.256", ENDPOINT_EXPECTED),
            ("-leader", ENDPOINT_EXPECTED),
            ("[not-v6]:6443", ENDPOINT_EXPECTED),
            ("10.0.0.5:0", ENDPOINT_PORT_ZERO),
            ("https://10.0.0.5:0", ENDPOINT_PORT_ZERO),
            ("[fd00::1]:00", ENDPOINT_PORT_ZERO),
            ("10.0.0.1:99999", ENDPOINT_PORT_RANGE),
            ("10.0.0.1:65536", ENDPOINT_PORT_RANGE),
            ("https://10.0.0.1:99999", ENDPOINT_PORT_RANGE),
            ("10.0.0.5:port", ENDPOINT_PORT_FORM),
            ("10.0.0.5:", ENDPOINT_PORT_FORM),
            ("[fd00::1]:", ENDPOINT_PORT_FORM),
            ("127.0.0.1:8080/", ENDPOINT_TRAILING_SLASH),
            ("leader.example/", ENDPOINT_TRAILING_SLASH),
            ("[fd00::1]:6443/", ENDPOINT_TRAILING_SLASH),
            ("127.0.0.1:8080//", ENDPOINT_PORT_FORM),
            ("https://leader:", ENDPOINT_PORT_FORM),
            ("ftp://leader", ENDPOINT_URL_FORMS),
            ("https://", ENDPOINT_URL_FORMS),
            ("https://user:pw@leader", ENDPOINT_URL_FORMS),
            ("https://host:6443/some/path", ENDPOINT_URL_FORMS),
            ("https://leader/api", ENDPOINT_URL_FORMS),
            ("https://leader?x=1", ENDPOINT_URL_FORMS),
            ("https://leader#top", ENDPOINT_URL_FORMS),
            ("https://fd00::1", ENDPOINT_URL_FORMS),
            ("https://-leader", ENDPOINT_URL_FORMS),
        ] {
            assert_eq!(parse_endpoint(text), Err(expected), "{text:?}");
        }
        assert!(ENDPOINT_URL_FORMS.contains("https://host[:port]"));
    }

    #[test]
    fn endpoint_urls_fill_defaults() {
        let e = parse_endpoint("10.0.0.1").unwrap();
        assert_eq!(e.url("https", 6443), "https://10.0.0.1:6443");
        let e = parse_endpoint("[fd00::1]:7000").unwrap();
        assert_eq!(e.url("http", 9090), "http://[fd00::1]:7000");
        let e = parse_endpoint("https://leader:443").unwrap();
        assert_eq!(e.url("http", 9090), "https://leader:443");
    }
}
