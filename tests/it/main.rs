//! Integration tests for the `kube-bootstrap` binary, run as a black box.

mod doctor;
pub(crate) mod exec;
mod fetch;
mod hostile;
mod layout;
mod netenv;
mod pki;
mod records;
mod support;
mod systemd;
mod tls;
