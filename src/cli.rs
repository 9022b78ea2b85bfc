//! The command line: clap definitions, one `Args` struct per subcommand with a `run` method.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::component::{self, Component};
use crate::env_vars;
use crate::error::Error;
use crate::settings::{CliOverrides, Overlay, Settings};

/// Fetches verified Kubernetes binaries and runs them with flags computed for the node.
#[derive(Debug, Parser)]
#[command(
    name = "kube-bootstrap",
    disable_version_flag = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Directory every path lives under (the node's /etc, /opt, /run, /var)
    #[arg(long, global = true, value_name = "DIR", env = env_vars::KUBE_BOOTSTRAP_ROOT, default_value = "/")]
    pub root: PathBuf,

    /// Config file in dotenv format [default: /etc/kube-bootstrap.env, optional]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// More log output (-vv for trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less log output (-qq for errors only)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download, verify and install component binaries (no network when already installed)
    Fetch(FetchArgs),
    /// Print kube-bootstrap's version, commit and default Kubernetes release
    Version(VersionArgs),
}

/// `kube-bootstrap fetch COMPONENT...`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// apiserver, controller-manager, scheduler, kubelet, proxy (or kube-* names), or all
    #[arg(required = true, value_name = "COMPONENT", value_parser = parse_component_arg)]
    pub components: Vec<String>,

    /// Kubernetes release (overrides KUBE_VERSION)
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,

    /// Binary architecture (overrides KUBE_ARCH)
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,

    /// Mirror base URL, repeatable (overrides KUBE_MIRRORS)
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,

    /// Install directory (overrides KUBE_BIN_DIR)
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<String>,

    /// stamp or full (overrides KUBE_VERIFY)
    #[arg(long, value_name = "MODE")]
    pub verify: Option<String>,
}

/// `kube-bootstrap version`
#[derive(Debug, Args)]
pub struct VersionArgs {}

fn parse_component_arg(s: &str) -> Result<String, String> {
    if s == "all" {
        return Ok(s.to_string());
    }
    s.parse::<Component>().map(|_| s.to_string())
}

impl Cli {
    /// The `-v`/`-q` balance.
    pub fn verbosity(&self) -> i8 {
        (self.verbose.min(4) as i8) - (self.quiet.min(4) as i8)
    }

    /// Runs the chosen subcommand.
    pub fn run(self) -> Result<(), Error> {
        match &self.command {
            Command::Fetch(args) => args.run(&self),
            Command::Version(args) => args.run(),
        }
    }

    fn settings(&self, cli: &CliOverrides) -> Result<Settings, Error> {
        let overlay = Overlay::load(&self.root, self.config.as_deref(), cli)?;
        Settings::resolve(&self.root, &overlay)
    }
}

impl FetchArgs {
    fn run(&self, cli: &Cli) -> Result<(), Error> {
        let overrides = CliOverrides {
            version: self.kube_version.clone(),
            arch: self.arch.clone(),
            mirrors: self.mirrors.clone(),
            bin_dir: self.bin_dir.clone(),
            verify: self.verify.clone(),
        };
        let settings = cli.settings(&overrides)?;
        // Validated by clap's value parser already.
        let components =
            component::expand(&self.components).map_err(|e| Error::InvalidSetting {
                var: "COMPONENT".into(),
                value: self.components.join(" "),
                origin: crate::settings::Origin::Cli("COMPONENT"),
                expected: e,
            })?;
        crate::fetch::run(&settings, &components)
    }
}

impl VersionArgs {
    fn run(&self) -> Result<(), Error> {
        println!(
            "kube-bootstrap {} (commit {}, default Kubernetes {})",
            env!("CARGO_PKG_VERSION"),
            env!("KUBE_BOOTSTRAP_COMMIT"),
            crate::kube_version::DEFAULT
        );
        Ok(())
    }
}
