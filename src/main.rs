//! Entry point: parse the command line, set up logging, run, map the error to an exit code.

use std::process::ExitCode;

use kube_bootstrap::{cli::Cli, error, logging};

fn main() -> ExitCode {
    let cli = Cli::from_args();
    logging::init(cli.verbosity());
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprint!("{}", error::report(&err));
            ExitCode::from(err.exit_code())
        }
    }
}
