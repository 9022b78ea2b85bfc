//! `kube-bootstrap pki ...`: the cluster's certificates and keys, and the RBAC bindings and
//! renewals that keep them working.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::Cli;
use crate::error::Error;
use crate::settings::CliOverrides;

/// `kube-bootstrap pki init|node|install|check|rbac|renew|token|join`
#[derive(Debug, Args)]
pub struct PkiArgs {
    #[command(subcommand)]
    pub command: PkiCommand,
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// On the leader: make what is missing in KUBE_PKI_DIR, re-issue leaves that expire soon or
    /// whose names changed, write KUBE_CONFIG_DIR/admin.conf; the CA and sa.key are never replaced
    Init,
    /// On the leader: a bundle (tar) of ca.crt and the kubelet and kube-proxy pairs for one worker
    Node(PkiNodeArgs),
    /// On a worker: check a bundle and unpack it into KUBE_PKI_DIR
    Install(PkiInstallArgs),
    /// Read back every certificate and key this node uses; exit 1 if anything is wrong
    Check,
    /// On the leader, once the apiserver answers: the RBAC bindings admin.conf's group and the
    /// apiserver's kubelet client need (as super-admin.conf); made when missing
    Rbac(PkiRbacArgs),
    /// On the leader (kube-bootstrap-pki-renew.timer): re-issue leaves within
    /// KUBE_PKI_RENEW_BEFORE, then restart the running components that read them, one at a
    /// time, the apiserver last
    Renew(PkiRenewArgs),
    /// On the leader: a bootstrap token a worker joins with (no private key moves); prints the
    /// worker's KUBE_BOOTSTRAP_TOKEN and KUBE_DISCOVERY_TOKEN_CA_CERT_HASH lines
    Token(PkiTokenArgs),
    /// On a worker with KUBE_BOOTSTRAP_TOKEN (kube-kubelet.service): fetch the cluster CA from
    /// the leader and keep it only if its hash is KUBE_DISCOVERY_TOKEN_CA_CERT_HASH
    Join(PkiJoinArgs),
}

/// `kube-bootstrap pki token [--ttl DURATION]`
#[derive(Debug, Args)]
pub struct PkiTokenArgs {
    /// How long the token joins workers: a number with s, m, h or d (at most 30d)
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_ttl)]
    pub ttl: Duration,

    /// How long to wait for the apiserver's /readyz before giving up, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
}

/// `kube-bootstrap pki join [--wait SECONDS]`
#[derive(Debug, Args)]
pub struct PkiJoinArgs {
    /// How long to wait for the leader to answer, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait: u64,
}

/// `90s`, `30m`, `24h`, `7d`: at least a minute, at most 30 days.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let expected =
        || format!("'{text}': expected a number with s, m, h or d, from 1m to 30d (e.g. 24h)");
    let unit = text.chars().last().ok_or_else(expected)?;
    let n: u64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| expected())?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        'd' => n * 86_400,
        _ => return Err(expected()),
    };
    if !(60..=30 * 86_400).contains(&secs) {
        return Err(expected());
    }
    Ok(Duration::from_secs(secs))
}

/// `kube-bootstrap pki renew [--no-restart]`
#[derive(Debug, Args)]
pub struct PkiRenewArgs {
    /// Re-issue only; say which units would need a restart
    #[arg(long)]
    pub no_restart: bool,
}

/// `kube-bootstrap pki rbac [--wait SECONDS]`
#[derive(Debug, Args)]
pub struct PkiRbacArgs {
    /// How long to wait for the apiserver's /readyz before giving up
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait: u64,
}

/// `kube-bootstrap pki node NODE --out FILE`
#[derive(Debug, Args)]
pub struct PkiNodeArgs {
    /// The name the worker's kubelet registers as: its DEFAULT_IPV4 with this topology
    #[arg(value_name = "NODE")]
    pub node: String,

    /// Where to write the bundle, as given (not under --root), mode 0600: it holds private keys
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
}

/// `kube-bootstrap pki install FILE`
#[derive(Debug, Args)]
pub struct PkiInstallArgs {
    /// A bundle made by 'kube-bootstrap pki node', as given (not under --root)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

impl PkiArgs {
    pub(super) fn run(&self, cli: &Cli) -> Result<(), Error> {
        let settings = cli.settings(&CliOverrides::default())?;
        let outcomes = match &self.command {
            PkiCommand::Init => crate::pki::init(&settings)?,
            PkiCommand::Node(a) => crate::pki::node(&settings, &a.node, &a.out)?,
            PkiCommand::Install(a) => crate::pki::install(&settings, &a.file)?,
            PkiCommand::Check => return Ok(crate::pki::check::run(&settings)?),
            PkiCommand::Rbac(a) => crate::pki::rbac(&settings, Duration::from_secs(a.wait))?,
            PkiCommand::Renew(a) => crate::pki::renew(&settings, !a.no_restart)?,
            PkiCommand::Join(a) => crate::pki::join(&settings, Duration::from_secs(a.wait))?,
            PkiCommand::Token(a) => {
                let made = crate::pki::token(&settings, a.ttl, Duration::from_secs(a.wait))?;
                for o in &made.objects {
                    tracing::debug!(path = %o.path.display(), why = %o.why, "checked");
                }
                tracing::info!(
                    token_id = %made.token.id,
                    expires = %made.expires,
                    "put both lines into the worker's /etc/kube-bootstrap.env (mode 0600), then start its kube-kubelet.service and kube-proxy.service"
                );
                print!("{}", made.env_lines());
                return Ok(());
            }
        };
        print!("{}", crate::pki::render(&outcomes));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetimes() {
        assert_eq!(parse_ttl("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(30 * 86_400)));
        for bad in ["", "h", "24", "31d", "59s", "-1h", "1.5h", "24H"] {
            assert!(parse_ttl(bad).is_err(), "{bad:?}");
        }
    }
}
