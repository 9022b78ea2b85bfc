//! Where files live in a mirror directory, and the pins file nodes read. Pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::component::Fetchable;
use crate::env_vars;
use crate::envfile;

/// `<version>/bin/linux/<arch>/<binary>`, as dl.k8s.io lays it out.
pub fn relative(version: &str, arch: &str, binary: &str) -> String {
    format!("{version}/bin/linux/{arch}/{binary}")
}

/// The directory of one release's binaries for one architecture.
pub fn arch_dir(dir: &Path, version: &str, arch: &str) -> PathBuf {
    dir.join(version).join("bin/linux").join(arch)
}

/// `<version>/pins-<arch>.env`.
pub fn pins_path(dir: &Path, version: &str, arch: &str) -> PathBuf {
    dir.join(version).join(format!("pins-{arch}.env"))
}

/// The side file's content: the hex digest, as dl.k8s.io serves it.
pub fn side_file(sha256: &str) -> String {
    format!("{sha256}\n")
}

/// The `.partial` file of a download expected to hash to `sha256`, beside its target.
pub fn partial(arch_dir: &Path, binary: &str, sha256: &str) -> PathBuf {
    arch_dir.join(format!(".{binary}.{sha256}.partial"))
}

/// The binary a pin variable names (`KUBE_SHA256_KUBE_PROXY` -> `kube-proxy`).
pub fn binary_of_pin(var: &str) -> Option<&'static str> {
    Fetchable::ALL
        .iter()
        .map(|f| f.binary())
        .find(|b| env_vars::sha256_pin(b) == var)
}

/// The pins file: `KUBE_VERSION` and one `KUBE_SHA256_<BINARY>` per binary, in the order of
/// [`Fetchable::ALL`], as systemd's `EnvironmentFile=` reads it.
pub fn render_pins(version: &str, arch: &str, pins: &BTreeMap<&'static str, String>) -> String {
    let mut vars = vec![(env_vars::KUBE_VERSION, version.to_string())];
    let names: Vec<(String, String)> = Fetchable::ALL
        .iter()
        .filter_map(|f| {
            pins.get(f.binary())
                .map(|sha| (env_vars::sha256_pin(f.binary()), sha.clone()))
        })
        .collect();
    vars.extend(names.iter().map(|(k, v)| (k.as_str(), v.clone())));
    envfile::render(
        &format!(
            "Pins for Kubernetes {version} on {arch}, written by 'kube-bootstrap mirror'.\n\
             Append to /etc/kube-bootstrap.env on nodes that fetch from this mirror."
        ),
        &vars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_file_reads_back_as_systemd_reads_it() {
        let pins = BTreeMap::from([
            ("kubectl", "c".repeat(64)),
            ("kubelet", "a".repeat(64)),
            ("kube-apiserver", "b".repeat(64)),
        ]);
        let text = render_pins("v1.36.4", "amd64", &pins);
        let vars = envfile::parse_str(&text).unwrap();
        let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "KUBE_VERSION",
                "KUBE_SHA256_KUBE_APISERVER",
                "KUBE_SHA256_KUBELET",
                "KUBE_SHA256_KUBECTL"
            ]
        );
        assert_eq!(vars[0].1, "v1.36.4");
        assert_eq!(vars[2].1, "a".repeat(64));
    }

    #[test]
    fn pin_names_map_back_to_binaries() {
        assert_eq!(
            binary_of_pin("KUBE_SHA256_KUBE_CONTROLLER_MANAGER"),
            Some("kube-controller-manager")
        );
        assert_eq!(binary_of_pin("KUBE_SHA256_KUBECTL"), Some("kubectl"));
        assert_eq!(binary_of_pin("KUBE_SHA256_ETCD"), None);
        assert_eq!(
            relative("v1.36.4", "arm64", "kubelet"),
            "v1.36.4/bin/linux/arm64/kubelet"
        );
    }
}
