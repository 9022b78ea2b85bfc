//! Integration tests for the `kube-bootstrap` binary, run as a black box.

mod exec;
mod fetch;
mod support;
mod systemd;
