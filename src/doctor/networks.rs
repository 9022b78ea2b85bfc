//! Networks: the service range overlaps no pod network (flannel's, `KUBE_CLUSTER_CIDR`) and no
//! network of the node's interfaces.

use crate::cidr::Cidr;
use crate::env_vars as var;
use crate::envfile;
use crate::netenv::Discovery;
use crate::settings::Settings;

use super::report::Findings;

/// flannel's lease file (inside the root).
pub const FLANNEL_SUBNET_ENV: &str = "/run/flannel/subnet.env";

/// `FLANNEL_NETWORK` from flannel's `subnet.env` text.
pub fn parse_flannel_network(text: &str) -> Option<Cidr> {
    envfile::parse_str(text)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "FLANNEL_NETWORK")
        .and_then(|(_, v)| Cidr::parse_lenient(&v))
}

/// The named networks that overlap `range`.
pub fn conflicts<'a>(range: &Cidr, others: &'a [(String, Cidr)]) -> Vec<&'a (String, Cidr)> {
    others.iter().filter(|(_, c)| range.overlaps(c)).collect()
}

pub fn check(settings: &Settings, d: Option<&Discovery>, f: &mut Findings) {
    let range = settings.cluster.service_range;
    let mut others: Vec<(String, Cidr)> = Vec::new();
    let flannel = settings.path(FLANNEL_SUBNET_ENV);
    // Bounded and non-blocking, like every file others could plant: a FIFO never hangs doctor.
    let read = crate::fsutil::read_bounded(&flannel, crate::envfile::MAX_FILE_BYTES);
    match read.map(|b| String::from_utf8_lossy(&b).into_owned()) {
        Ok(text) => match parse_flannel_network(&text) {
            Some(net) => others.push((format!("FLANNEL_NETWORK in '{}'", flannel.display()), net)),
            None => f.warn(
                "service-range",
                format!("'{}' has no valid FLANNEL_NETWORK", flannel.display()),
                "check flannel's configuration: the file should set FLANNEL_NETWORK=<CIDR>",
            ),
        },
        Err(crate::fsutil::BoundedReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
        }
        Err(e) => f.warn(
            "service-range",
            format!("cannot read '{}': {e}", flannel.display()),
            "run doctor as a user that can read it (root)",
        ),
    }
    if let Some(cidr) = settings.cluster.cluster_cidr {
        others.push((var::KUBE_CLUSTER_CIDR.to_string(), cidr));
    }
    for iface in d.map(|d| d.interfaces.as_slice()).unwrap_or_default() {
        for (ip, prefix) in &iface.addrs {
            if let Some(net) = Cidr::network_of(*ip, *prefix) {
                others.push((format!("the network of {ip} on {}", iface.name), net));
            }
        }
    }
    let found = conflicts(&range, &others);
    for (what, net) in &found {
        f.fail(
            "service-range",
            format!(
                "{} {range} overlaps {net}, {what}",
                var::KUBE_SERVICE_CLUSTER_IP_RANGE
            ),
            format!(
                "choose a {} that no pod or node network uses",
                var::KUBE_SERVICE_CLUSTER_IP_RANGE
            ),
        );
    }
    if found.is_empty() {
        let compared: Vec<String> = others
            .iter()
            .filter(|(w, _)| !w.starts_with("the network of"))
            .map(|(w, n)| format!("{n} ({w})"))
            .collect();
        let nets = others.len() - compared.len();
        let mut finding = format!(
            "{} {range} overlaps none of the node's {nets} interface networks",
            var::KUBE_SERVICE_CLUSTER_IP_RANGE
        );
        if !compared.is_empty() {
            finding.push_str(&format!(", nor {}", compared.join(", ")));
        }
        f.ok("service-range", finding);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flannel_network_is_read_from_subnet_env() {
        let text = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";
        assert_eq!(
            parse_flannel_network(text).map(|c| c.to_string()),
            Some("10.244.0.0/16".to_string())
        );
        assert_eq!(
            parse_flannel_network("FLANNEL_SUBNET=10.244.3.1/24\n"),
            None
        );
        assert_eq!(parse_flannel_network("FLANNEL_NETWORK=banana\n"), None);
    }

    #[test]
    fn service_range_conflicts_name_the_other_network() {
        let c = |s: &str| s.parse::<Cidr>().unwrap();
        let others = vec![
            ("flannel".to_string(), c("10.244.0.0/16")),
            ("eth0".to_string(), c("172.22.5.0/24")),
            ("lo".to_string(), c("127.0.0.0/8")),
        ];
        let found = conflicts(&c("172.22.0.0/16"), &others);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "eth0");
        assert!(conflicts(&c("10.96.0.0/12"), &others).is_empty());
        assert_eq!(conflicts(&c("10.0.0.0/8"), &others)[0].0, "flannel");
    }
}
