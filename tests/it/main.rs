//! Integration tests for the `kube-bootstrap` binary, run as a black box.

mod fetch;
mod support;
