//! kube-bootstrap: fetches verified Kubernetes binaries and runs them on systemd hosts.

/// Node architectures and the ELF headers that identify them.
pub mod arch;
/// An error's causes joined into one line.
pub mod causes;
/// The host's cgroup hierarchy and which kubelets start on it.
pub mod cgroup;
/// IP ranges in CIDR notation.
pub mod cidr;
/// The command line.
pub mod cli;
/// systemd-style splitting of argument strings.
pub mod cmdline;
/// The five Kubernetes components.
pub mod component;
/// `doctor`: checks a node and says what is wrong.
pub mod doctor;
/// Every environment variable read, documented.
pub mod env_vars;
/// systemd environment files.
pub mod envfile;
/// The top-level error: exit codes, hints and the report.
pub mod error;
/// The exec path: verify, write configs, execve.
pub mod exec;
/// What `flags` and `env` print.
pub mod explain;
/// Download, verify and install binaries.
pub mod fetch;
/// Flags per component and Kubernetes version.
pub mod flags;
/// Atomic file writes.
pub mod fsutil;
/// The one HTTP stack: clients, DNS, redaction.
pub mod http;
/// Kubernetes release versions.
pub mod kube_version;
/// The few API objects kube-bootstrap writes on the leader, through `http`.
pub mod kubeapi;
/// journald or stderr logging.
pub mod logging;
/// `mirror`: fill and check a directory laid out like dl.k8s.io.
pub mod mirror;
/// `network-env`: the node's addresses from the kernel.
pub mod netenv;
/// The node's facts: leader and address.
pub mod node;
/// `pki`: the cluster's certificates and keys.
pub mod pki;
/// A component's plan on this node, and its config files.
pub mod plan;
/// `releases`: each binary's installed, kept and pinned releases.
pub mod releases;
/// Layered, validated settings.
pub mod settings;
/// Untrusted values escaped and cut short for errors and logs.
pub mod shown;
/// The version-skew guard: policy and the leader's `/version`.
pub mod skew;
/// Did-you-mean suggestions for mistyped names and values.
pub mod spelling;
/// Reading certificates and keys.
pub mod x509;
