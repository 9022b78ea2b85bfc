//! The node's addresses from the kernel, in setup-network-environment's format: what
//! `kube-bootstrap network-env` writes, and what `exec` falls back to when
//! `/etc/network-environment` does not exist.
//!
//! Addresses come from `getifaddrs`, the default routes from `/proc/net/route` and
//! `/proc/net/ipv6_route` (both show the network namespace of the reading process). Parsing and
//! rendering are pure; only [`discover`] and [`run`] touch the system.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::fsutil;

/// The node's IPv4 address in `/etc/network-environment`.
pub const DEFAULT_IPV4: &str = "DEFAULT_IPV4";
/// The IPv6 counterpart of `DEFAULT_IPV4`.
pub const DEFAULT_IPV6: &str = "DEFAULT_IPV6";
/// The kernel's IPv4 routing table (main table).
pub const ROUTE_V4: &str = "/proc/net/route";
/// The kernel's IPv6 routing table.
pub const ROUTE_V6: &str = "/proc/net/ipv6_route";
/// Mode of the written file: addresses are no secret, and units read it.
const MODE: u32 = 0o644;

// Route flags from <linux/route.h>.
const RTF_UP: u32 = 0x0001;
const RTF_REJECT: u32 = 0x0200;

/// Why `network-env` failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot discover the node's addresses from the kernel")]
    Discovery(#[source] DiscoveryError),

    #[error(transparent)]
    Io(#[from] fsutil::Error),
}

/// Why the node's addresses cannot be told.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("cannot list the network interfaces (getifaddrs)")]
    Interfaces(#[source] nix::Error),
    #[error("cannot read '{}'", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "there is no IPv4 default route, so no interface is the default one (the node has {addresses})"
    )]
    NoDefaultRoute { addresses: String },
    #[error("'{iface}', the interface of the IPv4 default route, has no IPv4 address")]
    NoDefaultAddress { iface: String },
}

/// One interface and its addresses, in the kernel's order (the primary address first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// Address and prefix length.
    pub addrs: Vec<(IpAddr, u8)>,
}

/// What the kernel says about the node's network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub interfaces: Vec<Interface>,
    /// The interface of the IPv4 default route.
    pub default_v4: Option<String>,
    /// The interface of the IPv6 default route.
    pub default_v6: Option<String>,
}

impl Discovery {
    /// `DEFAULT_IPV4` and its interface: the primary IPv4 address of the default route's
    /// interface.
    pub fn default_ipv4(&self) -> Result<(Ipv4Addr, &str), DiscoveryError> {
        let Some(iface) = &self.default_v4 else {
            return Err(DiscoveryError::NoDefaultRoute {
                addresses: self.describe(),
            });
        };
        self.interface(iface)
            .and_then(first_v4)
            .map(|ip| (ip, iface.as_str()))
            .ok_or_else(|| DiscoveryError::NoDefaultAddress {
                iface: iface.clone(),
            })
    }

    /// `DEFAULT_IPV6`: the best address of the IPv6 default route's interface that is not
    /// link-local (one without its interface names nothing), if any.
    pub fn default_ipv6(&self) -> Option<Ipv6Addr> {
        let iface = self.interface(self.default_v6.as_deref()?)?;
        best_v6(iface).filter(|ip| !is_link_local(ip))
    }

    /// The interface named `name`.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// The interface that has `ip`, if any.
    pub fn owner(&self, ip: IpAddr) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|i| i.addrs.iter().any(|(a, _)| *a == ip))
            .map(|i| i.name.as_str())
    }

    /// Every address as `ADDR (IFACE)`, comma-separated, for messages.
    pub fn describe(&self) -> String {
        let all: Vec<String> = self
            .interfaces
            .iter()
            .flat_map(|i| {
                i.addrs
                    .iter()
                    .map(move |(a, _)| format!("{a} ({})", i.name))
            })
            .collect();
        if all.is_empty() {
            "no addresses".to_string()
        } else {
            all.join(", ")
        }
    }
}

fn first_v4(iface: &Interface) -> Option<Ipv4Addr> {
    iface.addrs.iter().find_map(|(a, _)| match a {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    })
}

/// The interface's IPv6 address to show: global scope first, link-local only when it has
/// nothing else.
fn best_v6(iface: &Interface) -> Option<Ipv6Addr> {
    let v6: Vec<Ipv6Addr> = iface
        .addrs
        .iter()
        .filter_map(|(a, _)| match a {
            IpAddr::V6(v6) => Some(*v6),
            IpAddr::V4(_) => None,
        })
        .collect();
    v6.iter()
        .find(|ip| !is_link_local(ip))
        .or_else(|| v6.first())
        .copied()
}

/// fe80::/10.
fn is_link_local(ip: &Ipv6Addr) -> bool {
    (ip.segments()[0] & 0xffc0) == 0xfe80
}

/// An interface name as a variable name prefix: upper case, anything outside A-Z, 0-9 and `_`
/// replaced by `_` (`br-lan.10` -> `BR_LAN_10`).
pub fn var_name(iface: &str) -> String {
    iface
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            u @ ('A'..='Z' | '0'..='9' | '_') => u,
            _ => '_',
        })
        .collect()
}

/// The interface of the IPv4 default route in `/proc/net/route` text: destination and mask
/// 0, route up and not a reject route; the lowest metric wins.
pub fn parse_route_table(text: &str) -> Option<String> {
    let mut best: Option<(u32, &str)> = None;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [iface, dest, _gw, flags, _refcnt, _use, metric, mask, ..] = f[..] else {
            continue;
        };
        let hex = |s: &str| u32::from_str_radix(s, 16).ok();
        let (Some(dest), Some(flags), Some(mask)) = (hex(dest), hex(flags), hex(mask)) else {
            continue;
        };
        let Ok(metric) = metric.parse::<u32>() else {
            continue;
        };
        if dest == 0 && mask == 0 && flags & RTF_UP != 0 && flags & RTF_REJECT == 0 {
            consider(&mut best, metric, iface);
        }
    }
    best.map(|(_, iface)| iface.to_string())
}

/// The interface of the IPv6 default route (`::/0`) in `/proc/net/ipv6_route` text. The kernel
/// lists unreachable `::/0` reject routes on `lo`; those are not a default route.
pub fn parse_ipv6_route_table(text: &str) -> Option<String> {
    let mut best: Option<(u32, &str)> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [
            dest,
            plen,
            _src,
            _src_plen,
            _next_hop,
            metric,
            _refcnt,
            _use,
            flags,
            iface,
        ] = f[..]
        else {
            continue;
        };
        let (Ok(plen), Ok(metric), Ok(flags)) = (
            u8::from_str_radix(plen, 16),
            u32::from_str_radix(metric, 16),
            u32::from_str_radix(flags, 16),
        ) else {
            continue;
        };
        let zero = dest.len() == 32 && dest.bytes().all(|b| b == b'0');
        if zero && plen == 0 && flags & RTF_UP != 0 && flags & RTF_REJECT == 0 && iface != "lo" {
            consider(&mut best, metric, iface);
        }
    }
    best.map(|(_, iface)| iface.to_string())
}

fn consider<'a>(best: &mut Option<(u32, &'a str)>, metric: u32, iface: &'a str) {
    if best.is_none_or(|(m, _)| metric < m) {
        *best = Some((metric, iface));
    }
}

/// The file: `<IFACE>_IPV4` and `<IFACE>_IPV6` per interface, then `DEFAULT_IPV4` and, with an
/// IPv6 default route, `DEFAULT_IPV6`. Without an IPv4 default route there is no
/// `DEFAULT_IPV4` to write, and that is an error rather than a file without it.
pub fn render(d: &Discovery) -> Result<String, DiscoveryError> {
    let (default_v4, _) = d.default_ipv4()?;
    let mut out = String::from("# Written by kube-bootstrap network-env: this node's addresses.\n");
    let mut seen = Vec::new();
    for iface in &d.interfaces {
        let name = var_name(&iface.name);
        // Two interfaces that map to one name (eth-0, eth.0): the first keeps it.
        if seen.contains(&name) {
            continue;
        }
        if let Some(v4) = first_v4(iface) {
            out.push_str(&format!("{name}_IPV4={v4}\n"));
        }
        if let Some(v6) = best_v6(iface) {
            out.push_str(&format!("{name}_IPV6={v6}\n"));
        }
        seen.push(name);
    }
    out.push_str(&format!("{DEFAULT_IPV4}={default_v4}\n"));
    if let Some(v6) = d.default_ipv6() {
        out.push_str(&format!("{DEFAULT_IPV6}={v6}\n"));
    }
    Ok(out)
}

/// Asks the kernel: interfaces and their addresses, and the default routes.
pub fn discover() -> Result<Discovery, DiscoveryError> {
    let mut interfaces: Vec<Interface> = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().map_err(DiscoveryError::Interfaces)? {
        let Some(addr) = ifa.address.as_ref() else {
            continue;
        };
        let mask = ifa.netmask.as_ref();
        let (ip, prefix) = if let Some(a) = addr.as_sockaddr_in() {
            let prefix = mask
                .and_then(|m| m.as_sockaddr_in())
                .map_or(32, |m| u32::from(m.ip()).count_ones());
            (IpAddr::V4(a.ip()), prefix)
        } else if let Some(a) = addr.as_sockaddr_in6() {
            let prefix = mask
                .and_then(|m| m.as_sockaddr_in6())
                .map_or(128, |m| u128::from(m.ip()).count_ones());
            (IpAddr::V6(a.ip()), prefix)
        } else {
            // Link-layer (AF_PACKET) entries.
            continue;
        };
        // A prefix length is at most 128: the cast cannot truncate.
        let entry = (ip, prefix as u8);
        match interfaces.iter_mut().find(|i| i.name == ifa.interface_name) {
            Some(i) => i.addrs.push(entry),
            None => interfaces.push(Interface {
                name: ifa.interface_name.clone(),
                addrs: vec![entry],
            }),
        }
    }
    let default_v4 = parse_route_table(&read_proc(ROUTE_V4)?.unwrap_or_default());
    // Absent when IPv6 is disabled: then there is no IPv6 default route.
    let default_v6 = parse_ipv6_route_table(&read_proc(ROUTE_V6)?.unwrap_or_default());
    Ok(Discovery {
        interfaces,
        default_v4,
        default_v6,
    })
}

fn read_proc(path: &str) -> Result<Option<String>, DiscoveryError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DiscoveryError::Read {
            path: PathBuf::from(path),
            source,
        }),
    }
}

/// `kube-bootstrap network-env [--output FILE]`: writes the file atomically (FILE inside
/// `root`), or prints it.
pub fn run(output: Option<&Path>) -> Result<(), Error> {
    let discovery = discover().map_err(Error::Discovery)?;
    let text = render(&discovery).map_err(Error::Discovery)?;
    let (default_v4, iface) = discovery.default_ipv4().map_err(Error::Discovery)?;
    match output {
        Some(path) => {
            // Typed on the command line: taken as given, not under --root.
            let path = path.to_path_buf();
            let changed = fsutil::write_if_changed(&path, text.as_bytes(), MODE)?;
            tracing::info!(
                path = %path.display(),
                default_ipv4 = %default_v4,
                interface = %iface,
                changed,
                "network environment written"
            );
            Ok(())
        }
        None => Ok(fsutil::print(&text)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
";

    #[test]
    fn ipv4_default_route_with_the_lowest_metric_wins() {
        assert_eq!(parse_route_table(ROUTE).as_deref(), Some("eth0"));
    }

    #[test]
    fn ipv4_routes_that_are_not_default_or_not_up_are_ignored() {
        for text in [
            // Header only (a namespace without routes).
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
            // A /24 on-link route.
            "Iface\tDestination\n eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
            // Destination 0 with a non-zero mask is not the default route.
            "h\neth0\t00000000\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n",
            // Not up.
            "h\neth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n",
            // Reject route.
            "h\neth0\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n",
            "",
            "garbage",
        ] {
            assert_eq!(parse_route_table(text), None, "{text:?}");
        }
    }

    #[test]
    fn ipv6_default_route_skips_the_reject_routes_on_lo() {
        let text = "\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000200 00000001 00000000 00000003     eth1
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";
        assert_eq!(parse_ipv6_route_table(text).as_deref(), Some("eth1"));
        let only_reject = text
            .lines()
            .filter(|l| l.ends_with(" lo"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse_ipv6_route_table(&only_reject), None);
    }

    #[test]
    fn interface_names_become_variable_names() {
        for (iface, var) in [
            ("eth0", "ETH0"),
            ("lo", "LO"),
            ("br-lan.10", "BR_LAN_10"),
            ("wlp3s0", "WLP3S0"),
            ("veth@if3", "VETH_IF3"),
            ("flannel_1", "FLANNEL_1"),
            ("ens\u{e9}", "ENS_"),
        ] {
            assert_eq!(var_name(iface), var, "{iface}");
        }
    }

    fn iface(name: &str, addrs: &[(&str, u8)]) -> Interface {
        Interface {
            name: name.to_string(),
            addrs: addrs
                .iter()
                .map(|(a, p)| (a.parse().unwrap(), *p))
                .collect(),
        }
    }

    fn node() -> Discovery {
        Discovery {
            interfaces: vec![
                iface("lo", &[("127.0.0.1", 8), ("::1", 128)]),
                iface(
                    "eth0",
                    &[
                        ("10.0.0.5", 24),
                        ("10.0.0.6", 24),
                        ("fe80::1", 64),
                        ("fd00::5", 64),
                    ],
                ),
                iface("eth-1", &[("fe80::2", 64)]),
                iface("eth.1", &[("192.168.1.9", 24)]),
            ],
            default_v4: Some("eth0".into()),
            default_v6: Some("eth0".into()),
        }
    }

    #[test]
    fn render_writes_setup_network_environment_format_plus_ipv6() {
        let text = render(&node()).unwrap();
        let vars: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            vars,
            [
                "LO_IPV4=127.0.0.1",
                "LO_IPV6=::1",
                "ETH0_IPV4=10.0.0.5",
                "ETH0_IPV6=fd00::5",
                "ETH_1_IPV6=fe80::2",
                "DEFAULT_IPV4=10.0.0.5",
                "DEFAULT_IPV6=fd00::5",
            ]
        );
    }

    #[test]
    fn default_ipv6_is_never_link_local_and_optional() {
        let mut d = node();
        d.default_v6 = Some("eth-1".into());
        assert_eq!(d.default_ipv6(), None);
        assert!(!render(&d).unwrap().contains("DEFAULT_IPV6"));
        d.default_v6 = None;
        assert!(!render(&d).unwrap().contains("DEFAULT_IPV6"));
    }

    #[test]
    fn no_default_route_is_an_error_naming_the_addresses() {
        let mut d = node();
        d.default_v4 = None;
        let err = render(&d).unwrap_err();
        assert!(matches!(err, DiscoveryError::NoDefaultRoute { .. }));
        let text = err.to_string();
        assert!(text.contains("no IPv4 default route"), "{text}");
        assert!(text.contains("10.0.0.5 (eth0)"), "{text}");
        d.default_v4 = Some("eth-1".into());
        assert!(matches!(
            render(&d).unwrap_err(),
            DiscoveryError::NoDefaultAddress { iface } if iface == "eth-1"
        ));
    }

    #[test]
    fn owner_finds_the_interface_of_an_address() {
        let d = node();
        assert_eq!(d.owner("10.0.0.6".parse().unwrap()), Some("eth0"));
        assert_eq!(d.owner("10.0.0.7".parse().unwrap()), None);
    }
}
