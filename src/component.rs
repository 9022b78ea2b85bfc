//! The five Kubernetes components kube-bootstrap manages: names, aliases and binaries; and
//! what `fetch` and `mirror` download: those five binaries and kubectl.

use std::fmt;
use std::str::FromStr;

/// A Kubernetes component, as named on the command line and in unit files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Apiserver,
    ControllerManager,
    Scheduler,
    Kubelet,
    Proxy,
}

impl Component {
    /// Every component, leader components first.
    pub const ALL: [Component; 5] = [
        Component::Apiserver,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Kubelet,
        Component::Proxy,
    ];

    /// The short name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Component::Apiserver => "apiserver",
            Component::ControllerManager => "controller-manager",
            Component::Scheduler => "scheduler",
            Component::Kubelet => "kubelet",
            Component::Proxy => "proxy",
        }
    }

    /// The long name, as the fleet unit files were called (`kube-kubelet`).
    pub fn unit_name(self) -> &'static str {
        match self {
            Component::Apiserver => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Kubelet => "kube-kubelet",
            Component::Proxy => "kube-proxy",
        }
    }

    /// The file name of the released binary.
    pub fn binary(self) -> &'static str {
        match self {
            Component::Kubelet => "kubelet",
            other => other.unit_name(),
        }
    }
}

impl FromStr for Component {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Component::ALL
            .into_iter()
            .find(|c| c.name() == s || c.unit_name() == s)
            .ok_or_else(|| unknown_component(s, &[]))
    }
}

/// `unknown component 'kubelett' (did you mean kubelet?): expected ...`; `also` are the other
/// names the caller takes (kubectl).
fn unknown_component(s: &str, also: &[&str]) -> String {
    let names: Vec<_> = Component::ALL.iter().map(|c| c.name()).collect();
    let candidates = Component::ALL
        .iter()
        .flat_map(|c| [c.name(), c.unit_name()])
        .chain(also.iter().copied());
    let meant = match crate::spelling::closest(s, candidates, 2) {
        // A unit name (`kube-proxxy`) is suggested as the short name it stands for.
        Some(m) => format!(
            " (did you mean {}?)",
            m.parse::<Component>().map_or(m, |c| c.name())
        ),
        None => String::new(),
    };
    let (last, rest) = names.split_last().unwrap_or((&"", &[]));
    format!(
        "unknown component '{}'{meant}: expected {} or {last}",
        crate::shown::quote(s),
        rest.join(", ")
    )
}

impl serde::Serialize for Component {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A binary `fetch` and `mirror` download: a component's, or kubectl (for the admin: no unit,
/// no flags, no environment file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fetchable {
    Component(Component),
    Kubectl,
}

impl Fetchable {
    /// The five components, then kubectl.
    pub const ALL: [Fetchable; 6] = [
        Fetchable::Component(Component::Apiserver),
        Fetchable::Component(Component::ControllerManager),
        Fetchable::Component(Component::Scheduler),
        Fetchable::Component(Component::Kubelet),
        Fetchable::Component(Component::Proxy),
        Fetchable::Kubectl,
    ];

    /// The file name of the released binary.
    pub fn binary(self) -> &'static str {
        match self {
            Fetchable::Component(c) => c.binary(),
            Fetchable::Kubectl => "kubectl",
        }
    }

    /// The component, when it is one.
    pub fn component(self) -> Option<Component> {
        match self {
            Fetchable::Component(c) => Some(c),
            Fetchable::Kubectl => None,
        }
    }
}

impl From<Component> for Fetchable {
    fn from(c: Component) -> Self {
        Fetchable::Component(c)
    }
}

impl fmt::Display for Fetchable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fetchable::Component(c) => c.fmt(f),
            Fetchable::Kubectl => f.write_str("kubectl"),
        }
    }
}

impl FromStr for Fetchable {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "kubectl" {
            return Ok(Fetchable::Kubectl);
        }
        s.parse::<Component>()
            .map(Fetchable::Component)
            .map_err(|_| format!("{}, or kubectl", unknown_component(s, &["kubectl"])))
    }
}

/// Expands `fetch` and `mirror` arguments: `all` is the five components (kubectl only by name).
pub fn expand_fetchable(args: &[String]) -> Result<Vec<Fetchable>, String> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "all" {
            out.extend(Component::ALL.map(Fetchable::Component));
        } else {
            out.push(arg.parse()?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Expands command-line component arguments (`all` included) into a sorted, deduplicated list.
pub fn expand(args: &[String]) -> Result<Vec<Component>, String> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "all" {
            out.extend(Component::ALL);
        } else {
            out.push(arg.parse()?);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_name_forms_parse() {
        for (short, long, binary) in [
            ("apiserver", "kube-apiserver", "kube-apiserver"),
            (
                "controller-manager",
                "kube-controller-manager",
                "kube-controller-manager",
            ),
            ("scheduler", "kube-scheduler", "kube-scheduler"),
            ("kubelet", "kube-kubelet", "kubelet"),
            ("proxy", "kube-proxy", "kube-proxy"),
        ] {
            let a: Component = short.parse().unwrap();
            let b: Component = long.parse().unwrap();
            assert_eq!(a, b);
            assert_eq!(a.binary(), binary);
        }
        assert!(
            "kube-etcd"
                .parse::<Component>()
                .unwrap_err()
                .contains("kube-etcd")
        );
    }

    #[test]
    fn all_expands_and_duplicates_collapse() {
        let all = expand(&["kubelet".into(), "all".into()]).unwrap();
        assert_eq!(all, Component::ALL.to_vec());
        let one = expand(&["kubelet".into(), "kube-kubelet".into()]).unwrap();
        assert_eq!(one, vec![Component::Kubelet]);
    }

    #[test]
    fn kubectl_is_fetchable_but_not_in_all() {
        let got = expand_fetchable(&["kubectl".into(), "all".into()]).unwrap();
        assert_eq!(got.len(), 6);
        assert_eq!(got.last(), Some(&Fetchable::Kubectl));
        assert_eq!(Fetchable::Kubectl.binary(), "kubectl");
        assert_eq!(expand_fetchable(&["all".into()]).unwrap().len(), 5);
        assert!("kubectl".parse::<Component>().is_err());
        assert!("etcd".parse::<Fetchable>().unwrap_err().contains("kubectl"));
    }
}
