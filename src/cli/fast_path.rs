//! The fast path of `exec`'s command line: the plain form units run on every start, parsed
//! without building clap's command tree.

use std::path::PathBuf;

use super::{Cli, Command, ExecArgs};
use crate::component::Component;

impl Cli {
    /// The fast path of [`Cli::from_args`]; `None` when clap must decide. Pure.
    pub fn parse_exec(
        args: &[std::ffi::OsString],
        root_env: Option<&std::ffi::OsStr>,
    ) -> Option<Cli> {
        let mut root: Option<PathBuf> = None;
        let mut config = None;
        let (mut verbose, mut quiet) = (0u8, 0u8);
        let mut it = args.iter();
        loop {
            let arg = it.next()?.to_str()?;
            match arg {
                "exec" => break,
                "--root" if root.is_none() => root = Some(PathBuf::from(it.next()?)),
                "--config" if config.is_none() => config = Some(PathBuf::from(it.next()?)),
                "-v" | "--verbose" => verbose = verbose.saturating_add(1),
                "-q" | "--quiet" => quiet = quiet.saturating_add(1),
                _ => return None,
            }
        }
        let component: Component = it.next()?.to_str()?.parse().ok()?;
        let rest: Vec<String> = match it.next() {
            None => Vec::new(),
            Some(dash) if dash == "--" => it
                .map(|a| a.to_str().map(str::to_owned))
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        let root = match (root, root_env) {
            (Some(r), _) if !r.as_os_str().is_empty() => r,
            (Some(_), _) => return None,
            (None, Some(env)) if !env.is_empty() => PathBuf::from(env),
            (None, _) => PathBuf::from("/"),
        };
        if config
            .as_ref()
            .is_some_and(|c: &PathBuf| c.as_os_str().is_empty())
        {
            return None;
        }
        Some(Cli {
            root,
            config,
            verbose,
            quiet,
            command: Command::Exec(ExecArgs {
                component,
                args: rest,
            }),
        })
    }
}
