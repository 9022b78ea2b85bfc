//! kube-bootstrap: fetches verified Kubernetes binaries and runs them on systemd hosts.

/// Node architectures and the ELF headers that identify them.
pub mod arch;
/// The command line.
pub mod cli;
/// The five Kubernetes components.
pub mod component;
/// Every environment variable read, documented.
pub mod env_vars;
/// systemd environment files.
pub mod envfile;
/// Typed errors and their report.
pub mod error;
/// Download, verify and install binaries.
pub mod fetch;
/// Atomic file writes.
pub mod fsutil;
/// Kubernetes release versions.
pub mod kube_version;
/// journald or stderr logging.
pub mod logging;
/// Layered, validated settings.
pub mod settings;
