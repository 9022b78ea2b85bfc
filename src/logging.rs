//! Logging: structured journald entries under systemd, human-readable lines on stderr otherwise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::env_vars;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Journald,
    Stderr,
}

/// Whether stderr is the journal stream systemd announced in `JOURNAL_STREAM` (`DEV:INODE`).
pub fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var(env_vars::JOURNAL_STREAM) else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    match nix::sys::stat::fstat(std::io::stderr()) {
        Ok(st) => st.st_dev == dev && st.st_ino == ino,
        Err(_) => false,
    }
}

/// The default filter for a `-v`/`-q` balance.
fn level(verbosity: i8) -> &'static str {
    match verbosity {
        // -q hides warnings; -qq leaves only the final error report (which is not a log line).
        i8::MIN..=-2 => "off",
        -1 => "error",
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

/// Installs the global subscriber. `KUBE_BOOTSTRAP_LOG` (EnvFilter syntax) wins over `-v`/`-q`.
/// Returns where logs go; journald that cannot be reached falls back to stderr.
pub fn init(verbosity: i8) -> Sink {
    let default = format!("kube_bootstrap={}", level(verbosity));
    let (filter, bad_filter) = match std::env::var(env_vars::KUBE_BOOTSTRAP_LOG) {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new(&default), Some((spec, e))),
        },
        _ => (EnvFilter::new(&default), None),
    };

    let mut journald_error = None;
    let sink = if stderr_is_journal() {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_field_prefix(None)
                    .with_syslog_identifier("kube-bootstrap".to_string());
                tracing_subscriber::registry()
                    .with(filter)
                    .with(layer)
                    .init();
                Sink::Journald
            }
            Err(e) => {
                journald_error = Some(e);
                init_stderr(filter);
                Sink::Stderr
            }
        }
    } else {
        init_stderr(filter);
        Sink::Stderr
    };

    if let Some(e) = journald_error {
        tracing::warn!(error = %e, "cannot reach journald, logging to stderr");
    }
    if let Some((spec, e)) = bad_filter {
        tracing::warn!(variable = env_vars::KUBE_BOOTSTRAP_LOG, value = %crate::shown::quote(&spec), error = %crate::shown::quote(&e.to_string()), "invalid log filter, using the default");
    }
    sink
}

fn init_stderr(filter: EnvFilter) {
    let terminal = std::io::stderr().is_terminal();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(terminal);
    if terminal {
        // At a terminal the operator reads along; timestamps are noise.
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt.without_time())
            .init();
    } else {
        tracing_subscriber::registry().with(filter).with(fmt).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels() {
        assert_eq!(level(-3), "off");
        assert_eq!(level(-2), "off");
        assert_eq!(level(-1), "error");
        assert_eq!(level(0), "info");
        assert_eq!(level(1), "debug");
        assert_eq!(level(4), "trace");
    }
}
