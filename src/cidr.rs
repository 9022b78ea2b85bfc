//! IP ranges in CIDR notation: parsing, validation and the n-th address (for the cluster DNS).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network such as `172.22.0.0/16`, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// What a valid range looks like, for error messages.
pub const EXPECTED: &str = "a network in CIDR notation with host bits zero, e.g. 172.22.0.0/16";

impl FromStr for Cidr {
    type Err = ();

    fn from_str(s: &str) -> Result<Cidr, ()> {
        let (addr, prefix) = s.split_once('/').ok_or(())?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let addr: IpAddr = addr.parse().map_err(|_| ())?;
        let prefix: u8 = prefix.parse().map_err(|_| ())?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(());
        }
        let cidr = Cidr { addr, prefix };
        if cidr.nth(0) != Some(addr) {
            return Err(());
        }
        Ok(cidr)
    }
}

impl Cidr {
    /// The `n`-th address of the range (0 is the network address), if it lies inside.
    pub fn nth(&self, n: u128) -> Option<IpAddr> {
        match self.addr {
            IpAddr::V4(a) => {
                let host_bits = 32 - u32::from(self.prefix);
                let mask = if host_bits == 32 {
                    0
                } else {
                    u32::MAX << host_bits
                };
                let base = u32::from(a) & mask;
                let size = 1u128 << host_bits;
                (n < size).then(|| IpAddr::V4(Ipv4Addr::from(base + n as u32)))
            }
            IpAddr::V6(a) => {
                let host_bits = 128 - u32::from(self.prefix);
                let mask = if host_bits == 128 {
                    0
                } else {
                    u128::MAX << host_bits
                };
                let base = u128::from(a) & mask;
                let fits = host_bits >= 128 || n < (1u128 << host_bits);
                fits.then(|| IpAddr::V6(Ipv6Addr::from(base + n)))
            }
        }
    }

    /// The network of `ip` with `prefix` bits (host bits cleared), as `ip addr` shows an
    /// interface's address; `None` for a prefix longer than the address.
    pub fn network_of(ip: IpAddr, prefix: u8) -> Option<Cidr> {
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return None;
        }
        Cidr { addr: ip, prefix }
            .nth(0)
            .map(|addr| Cidr { addr, prefix })
    }

    /// Parses `addr/prefix` whether or not host bits are set (`10.1.23.1/24`, as flannel
    /// writes `FLANNEL_SUBNET`), giving the network.
    pub fn parse_lenient(s: &str) -> Option<Cidr> {
        let (addr, prefix) = s.trim().split_once('/')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Cidr::network_of(addr.parse().ok()?, prefix.parse().ok()?)
    }

    /// Whether the two ranges share an address (one contains the other's network address).
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// Whether `ip` lies inside the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                Cidr {
                    addr: ip,
                    prefix: self.prefix,
                }
                .nth(0)
                    == Some(self.addr)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        for ok in [
            "172.22.0.0/16",
            "10.96.0.0/12",
            "fd00:10:96::/112",
            "0.0.0.0/0",
        ] {
            assert!(ok.parse::<Cidr>().is_ok(), "{ok}");
        }
        for bad in [
            "172.22.0.0",
            "172.22.0.1/16",
            "172.22.0.0/33",
            "172.22.0.0/",
            "abc/16",
            "10.0.0.0/+8",
            "",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tenth_address_is_the_dns_default() {
        let c: Cidr = "172.22.0.0/16".parse().unwrap();
        assert_eq!(c.nth(10), Some("172.22.0.10".parse().unwrap()));
        let small: Cidr = "10.0.0.0/29".parse().unwrap();
        assert_eq!(small.nth(10), None);
        let v6: Cidr = "fd00::/112".parse().unwrap();
        assert_eq!(v6.nth(10), Some("fd00::a".parse().unwrap()));
        assert!(c.contains("172.22.5.1".parse().unwrap()));
        assert!(!c.contains("172.23.0.1".parse().unwrap()));
    }

    #[test]
    fn overlaps_when_either_range_contains_the_other() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        for (a, b, want) in [
            ("172.22.0.0/16", "172.22.0.0/16", true),
            ("172.22.0.0/16", "172.22.128.0/24", true),
            ("172.22.128.0/24", "172.22.0.0/16", true),
            ("10.0.0.0/8", "10.244.0.0/16", true),
            ("172.22.0.0/16", "172.23.0.0/16", false),
            ("10.96.0.0/12", "10.112.0.0/12", false),
            ("0.0.0.0/0", "192.0.2.0/24", true),
            ("fd00::/64", "fd00::/112", true),
            ("fd00::/64", "fd01::/64", false),
            // Different families never overlap.
            ("0.0.0.0/0", "::/0", false),
        ] {
            assert_eq!(c(a).overlaps(&c(b)), want, "{a} vs {b}");
        }
    }

    #[test]
    fn networks_of_interface_addresses_clear_host_bits() {
        let net = Cidr::network_of("10.1.23.7".parse().unwrap(), 24).unwrap();
        assert_eq!(net.to_string(), "10.1.23.0/24");
        let net = Cidr::network_of("fd00::1:2".parse().unwrap(), 64).unwrap();
        assert_eq!(net.to_string(), "fd00::/64");
        assert_eq!(Cidr::network_of("10.0.0.1".parse().unwrap(), 33), None);
        assert_eq!(
            Cidr::parse_lenient("10.1.23.1/24").map(|c| c.to_string()),
            Some("10.1.23.0/24".to_string())
        );
        assert_eq!(Cidr::parse_lenient("10.1.23.1"), None);
        assert_eq!(Cidr::parse_lenient("10.1.23.1/+4"), None);
    }
}
