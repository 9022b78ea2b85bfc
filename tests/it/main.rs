//! Integration tests for the `kube-bootstrap` binary, run as a black box.

mod doctor;
mod exec;
mod fetch;
mod layout;
mod mirror;
mod netenv;
mod pki;
mod rollback;
mod skew;
mod support;
mod systemd;
mod tls;
