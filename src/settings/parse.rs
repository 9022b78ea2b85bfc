//! Pure parsers of single setting values: text in, a value or `None` (or why not) out.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use super::Verify;
use crate::cidr::{self, Cidr};

/// An absolute path without control characters, or `None`.
pub fn absolute_path(text: &str) -> Option<PathBuf> {
    let p = PathBuf::from(text);
    (p.is_absolute() && !text.contains(char::is_control)).then_some(p)
}

/// Splits `KUBE_MIRRORS` on spaces and commas; every entry must be an http, https or file URL.
pub fn mirrors(text: &str) -> Result<Vec<Url>, String> {
    let mut out = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let shown = crate::shown::quote(item);
        // The URL parser drops tabs and newlines silently; what was written must be what is used.
        if item.contains(char::is_control) {
            return Err(format!("URLs without control characters ('{shown}')"));
        }
        let url = Url::parse(item)
            .map_err(|e| format!("a list of http, https or file URLs ('{shown}': {e})"))?;
        match url.scheme() {
            "https" | "http" | "file" => {}
            other => {
                return Err(format!(
                    "a list of http, https or file URLs ('{shown}' has scheme {other})"
                ));
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("base URLs without query or fragment ('{shown}')"));
        }
        if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
            return Err(format!("a list of URLs with a host ('{shown}')"));
        }
        out.push(url);
    }
    if out.is_empty() {
        return Err("at least one mirror URL".to_string());
    }
    Ok(out)
}

/// A proxy: an http(s) URL with a host and nothing after it but `/`; `host:port` means
/// `http://host:port`, as curl reads it. Credentials are allowed (and never shown).
pub fn proxy(text: &str) -> Option<Url> {
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let url = match Url::parse(text) {
        Ok(url) if text.contains("://") => url,
        _ => Url::parse(&format!("http://{text}")).ok()?,
    };
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none();
    ok.then_some(url)
}

/// `NO_PROXY`: comma-separated entries without spaces inside or control characters, kept as
/// written.
pub fn no_proxy(text: &str) -> Option<String> {
    let ok = !text.contains(char::is_control)
        && text
            .split(',')
            .map(str::trim)
            .all(|e| !e.contains(char::is_whitespace));
    ok.then(|| text.to_string())
}

/// Lowercase hex of a sha256, or `None`.
pub fn sha256(text: &str) -> Option<String> {
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| text.to_ascii_lowercase())
}

/// systemd's booleans.
pub fn boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// kube-proxy's conntrack entries per core: a whole number that fits its `int32` field.
pub fn conntrack_per_core(text: &str) -> Option<u32> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .filter(|n| i32::try_from(*n).is_ok())
}

/// Sizes like `2GiB`, `500M` or `1048576`.
pub fn size(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor).filter(|n| *n > 0)
}

/// `KUBE_APISERVER_SANS`: comma-separated IP addresses or DNS names (letters, digits, `-`,
/// dot-separated labels; a leading `*.` for a wildcard).
pub fn sans(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Ok(ip) = item.parse::<IpAddr>() {
            out.push(ip.to_string());
            continue;
        }
        let name = item.to_ascii_lowercase();
        let labels = name.strip_prefix("*.").unwrap_or(&name);
        let ok = labels.len() <= 253
            && labels.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok {
            return None;
        }
        out.push(name);
    }
    (!out.is_empty()).then_some(out)
}

/// A parser of a whole number of days, 1 to `max`.
pub fn days(max: u32) -> impl Fn(&str) -> Option<u32> {
    move |s: &str| s.parse::<u32>().ok().filter(|d| (1..=max).contains(d))
}

/// A whole number of retries, at most 100.
pub fn retries(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().filter(|n| *n <= 100)
}

/// How many releases to keep per binary, 0 to 20.
pub fn keep_releases(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().filter(|n| *n <= 20)
}

/// A whole number of seconds above 0.
pub fn seconds(text: &str) -> Option<Duration> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_secs)
}

/// `stamp` or `full`.
pub fn verify(text: &str) -> Option<Verify> {
    match text {
        "stamp" => Some(Verify::Stamp),
        "full" => Some(Verify::Full),
        _ => None,
    }
}

/// A TCP port, 1-65535.
pub fn port(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|p| *p > 0)
}

/// Comma-separated http(s) URLs with a host, an optional port and nothing after them (no path
/// but `/`, no query, no credentials), kept as written, all of one scheme (the apiserver has
/// one TLS configuration for etcd: a mixed list is a half-migrated cluster). The URL parser
/// would accept `http://h:2379/ --flag` by escaping the space, so every character is checked
/// first.
pub fn etcd_servers(text: &str) -> Option<String> {
    let schemes: Vec<&str> = text
        .split(',')
        .map(|u| u.split(':').next().unwrap_or(""))
        .collect();
    if schemes.iter().any(|s| *s != schemes[0]) {
        return None;
    }
    let ok = text.split(',').all(|u| {
        !u.contains(|c: char| c.is_whitespace() || c.is_control())
            && Url::parse(u).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty())
                    && u.username().is_empty()
                    && u.password().is_none()
                    && matches!(u.path(), "" | "/")
                    && u.query().is_none()
                    && u.fragment().is_none()
            })
    });
    ok.then(|| text.to_string())
}

/// A DNS domain such as `cluster.local`, lowercased.
pub fn domain(text: &str) -> Option<String> {
    let ok = !text.is_empty()
        && text.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    ok.then(|| text.to_ascii_lowercase())
}

/// A CRI endpoint on a unix socket, such as `unix:///run/containerd/containerd.sock`.
pub fn cri_endpoint(text: &str) -> Option<String> {
    (text.starts_with("unix:///") && !text.contains(|c: char| c.is_whitespace() || c.is_control()))
        .then(|| text.to_string())
}

/// Host bits a service range may have: the apiserver's `maxCIDRBits` (cmd/kube-apiserver's
/// `validateMaxCIDRRange`), so IPv4 /12 or longer and IPv6 /108 or longer.
pub const MAX_SERVICE_RANGE_BITS: u8 = 20;

/// A service range (`KUBE_SERVICE_CLUSTER_IP_RANGE`) the apiserver accepts. The error is what
/// was expected, with the apiserver's own rule quoted, so the refusal comes at parse time and
/// not from a failing unit.
pub fn service_range(text: &str) -> Result<Cidr, String> {
    let cidr: Cidr = text.parse().map_err(|()| cidr::EXPECTED.to_string())?;
    let bits: u8 = if cidr.addr.is_ipv4() { 32 } else { 128 };
    let min = bits - MAX_SERVICE_RANGE_BITS;
    if cidr.prefix < min {
        return Err(format!(
            "a range of at most 2^{MAX_SERVICE_RANGE_BITS} addresses, a /{min} or longer; the apiserver refuses it: 'specified --service-cluster-ip-range is too large; for {bits}-bit addresses, the mask must be >= {min}'"
        ));
    }
    Ok(cidr)
}

/// A node's own address: a unicast IPv4 address. The error is what was expected, and why the
/// value is not it (an unspecified, broadcast or multicast address names no node).
pub fn node_ipv4(text: &str) -> Result<std::net::Ipv4Addr, &'static str> {
    let ip: std::net::Ipv4Addr = text.trim().parse().map_err(|_| "an IPv4 address")?;
    if ip.is_unspecified() {
        Err(
            "the node's own unicast IPv4 address; 0.0.0.0 is the unspecified address ('any'), which no node has",
        )
    } else if ip.is_broadcast() {
        Err(
            "the node's own unicast IPv4 address; 255.255.255.255 is the broadcast address, which no node has",
        )
    } else if ip.is_multicast() {
        Err(
            "the node's own unicast IPv4 address; 224.0.0.0/4 is multicast, a group of receivers and not a node",
        )
    } else {
        Ok(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_split_on_spaces_and_commas() {
        let m =
            mirrors("https://a.example/k8s, http://b.example:8080/r  file:///srv/mirror").unwrap();
        let m: Vec<_> = m.iter().map(Url::as_str).collect();
        assert_eq!(
            m,
            [
                "https://a.example/k8s",
                "http://b.example:8080/r",
                "file:///srv/mirror"
            ]
        );
        assert!(mirrors(" , ").is_err());
        assert!(mirrors("dl.k8s.io/release").is_err());
        assert!(mirrors("https://dl.k8s.io/rel\tease").is_err());
        assert!(mirrors("https://dl.k8s.io/release --x").is_err());
    }

    #[test]
    fn sizes_and_booleans() {
        assert_eq!(size("2GiB"), Some(2 << 30));
        assert_eq!(size("500M"), Some(500 << 20));
        assert_eq!(size("1024"), Some(1024));
        assert_eq!(size("0"), None);
        assert_eq!(size("1T"), None);
        assert_eq!(boolean("Yes"), Some(true));
        assert_eq!(boolean("off"), Some(false));
    }

    #[test]
    fn host_settings_values() {
        for (text, want) in [
            ("true", Some(true)),
            ("FALSE", Some(false)),
            ("0", Some(false)),
            ("yes", Some(true)),
            ("off", Some(false)),
            ("2", None),
            ("nope", None),
            ("", None),
        ] {
            assert_eq!(boolean(text), want, "{text:?}");
        }
        for (text, want) in [
            ("0", Some(0)),
            ("32768", Some(32768)),
            ("2147483647", Some(2_147_483_647)),
            ("2147483648", None),
            ("+5", None),
            ("-1", None),
            ("1e3", None),
            ("32k", None),
            ("", None),
        ] {
            assert_eq!(conntrack_per_core(text), want, "{text:?}");
        }
    }

    #[test]
    fn apiserver_sans_are_names_or_addresses() {
        assert_eq!(
            sans(" API.Example.com, 10.0.0.9,fd00::1 ,*.lb.example").unwrap(),
            ["api.example.com", "10.0.0.9", "fd00::1", "*.lb.example"]
        );
        for bad in ["", "a..b", "-a.example", "a b", "under_score", "http://x"] {
            assert_eq!(sans(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_ports_and_durations() {
        for (text, want) in [
            ("0", Some(0)),
            ("100", Some(100)),
            ("101", None),
            ("-1", None),
            ("x", None),
        ] {
            assert_eq!(retries(text), want, "{text}");
        }
        for (text, want) in [
            ("0", Some(0)),
            ("2", Some(2)),
            ("20", Some(20)),
            ("21", None),
        ] {
            assert_eq!(keep_releases(text), want, "{text}");
        }
        for (text, want) in [("30", Some(30)), ("0", None), ("1.5", None), ("", None)] {
            assert_eq!(seconds(text).map(|d| d.as_secs()), want, "{text}");
        }
        for (text, want) in [("6443", Some(6443)), ("0", None), ("65536", None)] {
            assert_eq!(port(text), want, "{text}");
        }
        assert_eq!(verify("full"), Some(Verify::Full));
        assert_eq!(verify("Full"), None);
    }

    #[test]
    fn proxy_values() {
        for (text, want) in [
            (
                "http://proxy.internal:3128",
                Some("http://proxy.internal:3128/"),
            ),
            (
                "http://proxy.internal:3128/",
                Some("http://proxy.internal:3128/"),
            ),
            (
                "https://u:p@proxy.internal",
                Some("https://u:p@proxy.internal/"),
            ),
            ("proxy.internal:3128", Some("http://proxy.internal:3128/")),
            ("10.0.0.1:3128", Some("http://10.0.0.1:3128/")),
            ("socks5://proxy:1080", None),
            ("http://proxy:3128 --x", None),
            ("http://proxy:3128/path", None),
            ("http://proxy:99999", None),
            ("http://", None),
            ("", None),
        ] {
            assert_eq!(
                proxy(text).map(|u| u.to_string()).as_deref(),
                want,
                "{text}"
            );
        }
        assert!(no_proxy("*").is_some());
        assert!(no_proxy("localhost, .internal,10.0.0.0/8").is_some());
        assert!(no_proxy("a b").is_none());
        assert!(no_proxy("a\nb").is_none());
    }

    #[test]
    fn service_ranges_the_apiserver_accepts() {
        for (text, ok) in [
            ("172.22.0.0/16", true),
            ("10.96.0.0/12", true),
            ("10.0.0.0/11", false),
            ("10.0.0.0/8", false),
            ("10.0.0.1/24", false),
            ("fd00::/108", true),
            ("fd00::/112", true),
            ("fd00::/107", false),
            ("fd00::/64", false),
            ("nonsense", false),
        ] {
            assert_eq!(service_range(text).is_ok(), ok, "{text}");
        }
        let err = service_range("10.0.0.0/8").unwrap_err();
        assert!(
            err.contains("for 32-bit addresses, the mask must be >= 12"),
            "{err}"
        );
        let err = service_range("fd00::/64").unwrap_err();
        assert!(
            err.contains("for 128-bit addresses, the mask must be >= 108"),
            "{err}"
        );
    }

    #[test]
    fn cluster_values() {
        for (text, ok) in [
            ("http://127.0.0.1:2379", true),
            ("https://10.0.0.1:2379,https://127.0.0.1:2379", true),
            ("https://10.0.0.1:2379,http://127.0.0.1:2379", false),
            ("127.0.0.1:2379", false),
            ("unix:///run/etcd.sock", false),
            ("http://127.0.0.1:2379/", true),
            ("http://127.0.0.1:2379/ --etcd-injected=1", false),
            ("http://127.0.0.1:2379,http://h:2379 --x", false),
            ("http://127.0.0.1:2379/\t", false),
            ("http://127.0.0.1:2379/path", false),
            ("http://127.0.0.1:2379/?q=1", false),
            ("http://127.0.0.1:2379/#f", false),
            ("http://u:p@127.0.0.1:2379", false),
            ("http://127.0.0.1:2379,", false),
        ] {
            assert_eq!(etcd_servers(text).is_some(), ok, "{text}");
        }
        for (text, want) in [
            ("Cluster.Local", Some("cluster.local")),
            ("a-b.example", Some("a-b.example")),
            ("-a.example", None),
            ("a..b", None),
            ("", None),
        ] {
            assert_eq!(domain(text).as_deref(), want, "{text}");
        }
        for (text, ok) in [
            ("unix:///run/containerd/containerd.sock", true),
            ("tcp://127.0.0.1:1234", false),
            ("unix:///a b", false),
        ] {
            assert_eq!(cri_endpoint(text).is_some(), ok, "{text}");
        }
        assert_eq!(
            absolute_path("/etc/leader"),
            Some(PathBuf::from("/etc/leader"))
        );
        assert_eq!(absolute_path("leader"), None);
    }
}
