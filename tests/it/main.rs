//! Integration tests for the `kube-bootstrap` binary, run as a black box.

mod cluster;
mod doctor;
pub(crate) mod exec;
mod fetch;
mod fetch_messages;
mod hostile;
mod hostile_input;
mod layout;
mod leader;
mod lying;
mod mirror;
mod mistakes;
mod netenv;
mod pki;
mod pki_state;
mod proxy;
mod rbac;
mod readme;
mod records;
mod rollback;
mod said_once;
mod secrets;
mod skew;
mod state_dir;
mod support;
mod systemd;
mod tls;
