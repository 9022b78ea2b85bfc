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
    version = version_line(),
    max_term_width = 100
)]
pub struct Cli {
    /// Directory the node's own files live under (/etc/leader, /opt/bin, /var/lib...); paths typed
    /// on the command line (--config, --out, --output, FILE, DIR) are taken as given
    #[arg(long, global = true, value_name = "DIR", env = env_vars::KUBE_BOOTSTRAP_ROOT, default_value = "/", help_heading = GLOBAL)]
    pub root: PathBuf,

    /// Config file, systemd EnvironmentFile= format, as given [default: /etc/kube-bootstrap.env
    /// under --root, optional]
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,

    /// More log output (-vv for trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Less log output: -q hides warnings, -qq every log line (errors are still reported)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub quiet: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The heading global options are listed under, after a subcommand's own options.
const GLOBAL: &str = "Global options";

/// What `--version`, `-V` and `version` print after the program's name.
fn version_line() -> &'static str {
    static LINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        format!(
            "{} (commit {}, default Kubernetes {})",
            env!("CARGO_PKG_VERSION"),
            env!("KUBE_BOOTSTRAP_COMMIT"),
            crate::kube_version::DEFAULT
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download, verify and install component binaries (no network when already installed)
    Fetch(FetchArgs),
    /// Verify the installed binary, write its config files, and exec it with computed flags
    Exec(ExecArgs),
    /// Print the argv `exec` would use, one argument per line (--explain: where each value comes from)
    Flags(FlagsArgs),
    /// Print the environment file `fetch` writes for a component, KUBE_ARGS included
    Env(EnvArgs),
    /// Check this node for what keeps components from running: one ok/warn/fail line per check
    Doctor(DoctorArgs),
    /// Discover the node's addresses from the kernel and write them as /etc/network-environment
    NetworkEnv(NetworkEnvArgs),
    /// The cluster's certificates and keys: init (leader), node (a worker's bundle), install, check
    Pki(PkiArgs),
    /// Fill a directory laid out like dl.k8s.io with verified binaries and pins (--check: verify it)
    Mirror(MirrorArgs),
    /// List each binary's installed release, the kept ones (for an offline rollback) and its pin
    Releases(ReleasesArgs),
    /// Print kube-bootstrap's version, commit and default Kubernetes release
    Version(VersionArgs),
}

/// `kube-bootstrap fetch COMPONENT...`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// apiserver, controller-manager, scheduler, kubelet, proxy (or kube-* names), all, kubectl
    #[arg(required = true, value_name = "COMPONENT", value_parser = parse_fetchable_arg)]
    pub components: Vec<String>,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// `kube-bootstrap mirror DIR [COMPONENT...] [--kube-version V]... [--arch A]...` or `--check DIR`
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The mirror directory, as given (relative to the current directory; never under --root)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Binaries to mirror: components (or all) and kubectl [default: all five and kubectl]
    #[arg(value_name = "COMPONENT", value_parser = parse_fetchable_arg)]
    pub components: Vec<String>,

    /// Release to mirror, repeatable [default: KUBE_VERSION]
    #[arg(long = "kube-version", value_name = "VERSION")]
    pub versions: Vec<String>,

    /// Architecture to mirror, repeatable [default: KUBE_ARCH, or the host's]
    #[arg(long = "arch", value_name = "ARCH")]
    pub archs: Vec<String>,

    /// Upstream base URL, repeatable (overrides KUBE_MIRRORS)
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,

    /// Downloads at a time
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub jobs: u32,

    /// Download nothing: re-verify every file in DIR against its side file and the pins; exit 1
    /// on any mismatch
    #[arg(long, conflicts_with_all = ["components", "versions", "archs", "mirrors"])]
    pub check: bool,
}

/// `kube-bootstrap exec COMPONENT [-- ARGS...]`
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// apiserver, controller-manager, scheduler, kubelet or proxy (or kube-* names)
    #[arg(value_name = "COMPONENT", value_parser = parse_component)]
    pub component: Component,

    /// Extra arguments, appended last; `--name=value` replaces the computed flag
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
    // No setting overrides here: units configure exec through the environment and the config
    // file, and every argument clap knows costs startup time on this path.
}

/// `kube-bootstrap flags COMPONENT [--explain|--json] [-- ARGS...]`
#[derive(Debug, Args)]
pub struct FlagsArgs {
    /// apiserver, controller-manager, scheduler, kubelet or proxy (or kube-* names)
    #[arg(value_name = "COMPONENT", value_parser = parse_component)]
    pub component: Component,

    /// Show where each value comes from, and the files kube-bootstrap writes
    #[arg(long, conflicts_with = "json")]
    pub explain: bool,

    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,

    /// Extra arguments, as `exec` would take them
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// `kube-bootstrap env COMPONENT` (settings from the environment and config file, as units have)
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// apiserver, controller-manager, scheduler, kubelet or proxy (or kube-* names)
    #[arg(value_name = "COMPONENT", value_parser = parse_component)]
    pub component: Component,
}

/// `kube-bootstrap doctor [COMPONENT...] [--json]`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Components to check (or all) [default: what this node runs, see --role]
    #[arg(value_name = "COMPONENT", value_parser = parse_component_arg)]
    pub components: Vec<String>,

    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,

    /// Skip every network probe (the leader's port, apiserver and etcd health): for sandboxes
    #[arg(long)]
    pub offline: bool,

    /// Check what this role runs [default: worked out from the node's install records,
    /// enabled units and PKI files]
    #[arg(long, value_enum, conflicts_with = "components")]
    pub role: Option<crate::doctor::Role>,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// `kube-bootstrap network-env [--output FILE]`
#[derive(Debug, Args)]
pub struct NetworkEnvArgs {
    /// Write the file here, atomically, instead of printing it (as given, not under --root)
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Options that override settings, shared by the subcommands that read them.
#[derive(Debug, Args, Clone, Default)]
pub struct OverrideArgs {
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

impl OverrideArgs {
    fn to_overrides(&self) -> CliOverrides {
        CliOverrides {
            version: self.kube_version.clone(),
            arch: self.arch.clone(),
            mirrors: self.mirrors.clone(),
            bin_dir: self.bin_dir.clone(),
            verify: self.verify.clone(),
        }
    }
}

/// `kube-bootstrap releases [COMPONENT...]`
#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// Binaries to list: components (or all) and kubectl [default: all five and kubectl]
    #[arg(value_name = "COMPONENT", value_parser = parse_fetchable_arg)]
    pub components: Vec<String>,
}

/// `kube-bootstrap version`
#[derive(Debug, Args)]
pub struct VersionArgs {}

fn parse_component(s: &str) -> Result<Component, String> {
    if s == "all" {
        return Err(
            "this subcommand takes one component; 'all' works with fetch and doctor".into(),
        );
    }
    s.parse()
}

fn parse_fetchable_arg(s: &str) -> Result<String, String> {
    if s == "all" {
        return Ok(s.to_string());
    }
    s.parse::<component::Fetchable>()
        .map(|_| s.to_string())
        .map_err(|e| format!("{e}, or all"))
}

fn parse_component_arg(s: &str) -> Result<String, String> {
    if s == "all" {
        return Ok(s.to_string());
    }
    s.parse::<Component>()
        .map(|_| s.to_string())
        .map_err(|e| format!("{e}, or all"))
}

impl Cli {
    /// Parses the process's arguments. The plain form of `exec` that units run on every start
    /// (`[--root DIR] [--config FILE] [-v|-q]... exec COMPONENT [-- ARGS...]`) is recognized
    /// without building clap's whole command tree, which costs more than the rest of `exec`;
    /// anything else, including every error and `--help`, goes through clap.
    pub fn from_args() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        let root_env = std::env::var_os(env_vars::KUBE_BOOTSTRAP_ROOT);
        Cli::parse_exec(&args, root_env.as_deref()).unwrap_or_else(Cli::parse)
    }

    /// The `-v`/`-q` balance.
    pub fn verbosity(&self) -> i8 {
        (self.verbose.min(4) as i8) - (self.quiet.min(4) as i8)
    }

    /// Runs the chosen subcommand.
    pub fn run(self) -> Result<(), Error> {
        match &self.command {
            Command::Fetch(args) => args.run(&self),
            Command::Exec(args) => {
                let settings = self.settings(&CliOverrides::default())?;
                let never = crate::exec::run(&settings, args.component, &args.args)?;
                match never {}
            }
            Command::Flags(args) => {
                let settings = self.settings(&args.overrides.to_overrides())?;
                crate::explain::flags(
                    &settings,
                    args.component,
                    &args.args,
                    args.explain,
                    args.json,
                )?;
                Ok(())
            }
            Command::Env(args) => {
                let settings = self.settings(&CliOverrides::default())?;
                Ok(crate::explain::env(&settings, args.component)?)
            }
            Command::Doctor(args) => args.run(&self),
            Command::NetworkEnv(args) => args.run(),
            Command::Pki(args) => args.run(&self),
            Command::Mirror(args) => args.run(&self),
            Command::Releases(args) => args.run(&self),
            Command::Version(args) => args.run(),
        }
    }

    /// The settings, refusing a misspelt name in the config file.
    fn settings(&self, cli: &CliOverrides) -> Result<Settings, crate::settings::Error> {
        let settings = self.settings_as_found(cli)?;
        settings.refuse_unknown()?;
        Ok(settings)
    }

    /// The settings, names in the config file that are not settings kept in `unknown`.
    fn settings_as_found(&self, cli: &CliOverrides) -> Result<Settings, crate::settings::Error> {
        let creates = matches!(self.command, Command::Fetch(_) | Command::Pki(_));
        crate::settings::check_root(&self.root, creates)?;
        let overlay = Overlay::load(&self.root, self.config.as_deref(), cli)?;
        Settings::resolve(&self.root, &overlay)
    }
}

impl FetchArgs {
    fn run(&self, cli: &Cli) -> Result<(), Error> {
        let settings = cli.settings(&self.overrides.to_overrides())?;
        let components = expand_fetchable(&self.components)?;
        Ok(crate::fetch::run(&settings, &components)?)
    }
}

/// Component arguments (validated by clap's value parser already) as binaries to fetch.
fn expand_fetchable(args: &[String]) -> Result<Vec<component::Fetchable>, Error> {
    component::expand_fetchable(args).map_err(|e| {
        crate::settings::Error::Invalid {
            var: "COMPONENT".into(),
            value: args.join(" "),
            origin: crate::settings::Origin::Cli("COMPONENT"),
            expected: e,
        }
        .into()
    })
}

impl MirrorArgs {
    fn run(&self, cli: &Cli) -> Result<(), Error> {
        if self.check {
            return Ok(crate::mirror::check(&self.dir)?);
        }
        let settings = cli.settings(&CliOverrides {
            mirrors: self.mirrors.clone(),
            ..CliOverrides::default()
        })?;
        let binaries = if self.components.is_empty() {
            component::Fetchable::ALL.to_vec()
        } else {
            expand_fetchable(&self.components)?
        };
        let plan = crate::mirror::Plan::new(&settings, &self.versions, &self.archs, binaries)?;
        Ok(crate::mirror::run(
            &settings,
            &self.dir,
            &plan,
            self.jobs as usize,
        )?)
    }
}

impl DoctorArgs {
    fn run(&self, cli: &Cli) -> Result<(), Error> {
        // An invalid setting is a finding here, not the end.
        let settings = cli.settings_as_found(&self.overrides.to_overrides());
        crate::doctor::run(
            settings,
            &crate::doctor::Options {
                components: self.components.clone(),
                role: self.role,
                json: self.json,
                offline: self.offline,
            },
        )
    }
}

impl NetworkEnvArgs {
    fn run(&self) -> Result<(), Error> {
        Ok(crate::netenv::run(self.output.as_deref())?)
    }
}

impl ReleasesArgs {
    fn run(&self, cli: &Cli) -> Result<(), Error> {
        let settings = cli.settings(&CliOverrides::default())?;
        let binaries = if self.components.is_empty() {
            component::Fetchable::ALL.to_vec()
        } else {
            expand_fetchable(&self.components)?
        };
        Ok(crate::releases::run(&settings, &binaries)?)
    }
}

impl VersionArgs {
    fn run(&self) -> Result<(), Error> {
        println!("kube-bootstrap {}", version_line());
        Ok(())
    }
}

mod fast_path;
mod pki;
pub use pki::{PkiArgs, PkiCommand, PkiInstallArgs, PkiNodeArgs, PkiRbacArgs, PkiRenewArgs};
#[cfg(test)]
mod tests;
