//! Logging: structured journald entries under systemd, human-readable lines on stderr otherwise.

use std::io::IsTerminal;

use tracing_subscriber::filter::Targets;
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

/// The filter for a `-v`/`-q` balance: kube-bootstrap's own events at that level.
fn default_filter(verbosity: i8) -> Targets {
    let spec = format!("kube_bootstrap={}", level(verbosity));
    // The spec is built from a fixed target and one of `level`'s names: it always parses.
    spec.parse().unwrap_or_default()
}

/// Installs the global subscriber. `KUBE_BOOTSTRAP_LOG` (`target=level` directives, tracing's
/// `Targets` syntax) wins over `-v`/`-q`. Returns where logs go; journald that cannot be
/// reached falls back to stderr.
///
/// `Targets`, not `EnvFilter`: EnvFilter's span and field matching needs the regex crates,
/// about 170 KiB of a static binary with a 5 MiB budget, and parsing its directives is work
/// `exec` would do on every start of a component.
pub fn init(verbosity: i8) -> Sink {
    let (filter, bad_filter) = match std::env::var(env_vars::KUBE_BOOTSTRAP_LOG) {
        Ok(spec) if !spec.trim().is_empty() => match spec.trim().parse::<Targets>() {
            Ok(f) => (f, None),
            Err(e) => (default_filter(verbosity), Some((spec, e))),
        },
        _ => (default_filter(verbosity), None),
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

/// How a log line on stderr shows a field: `name=value`, the message bare, and every value
/// through [`crate::shown::one_line`], so a value from outside (a server's answer, a file's
/// content) can neither start another line nor move a terminal's cursor.
fn write_field(
    w: &mut tracing_subscriber::fmt::format::Writer<'_>,
    field: &tracing::field::Field,
    value: &dyn std::fmt::Debug,
) -> std::fmt::Result {
    let text = crate::shown::one_line(&format!("{value:?}"));
    if field.name() == "message" {
        write!(w, "{text}")
    } else {
        write!(w, "{}={text}", field.name())
    }
}

fn init_stderr(filter: Targets) {
    use tracing_subscriber::field::MakeExt;
    let terminal = std::io::stderr().is_terminal();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(terminal)
        .fmt_fields(tracing_subscriber::fmt::format::debug_fn(write_field).delimited(" "));
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
    fn a_field_from_outside_cannot_forge_a_log_line() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::field::MakeExt;
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&out);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || Capture(Arc::clone(&sink)))
            .with_ansi(false)
            .without_time()
            .fmt_fields(tracing_subscriber::fmt::format::debug_fn(write_field).delimited(" "));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let answer = "v1\nERROR forged: rm -rf /\r\u{1b}[2K";
            tracing::warn!(apiserver = %answer, "version skew not checked");
        });
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");
        assert!(
            text.contains("version skew not checked apiserver=v1\\nERROR forged"),
            "{text}"
        );
    }

    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn verbosity_maps_to_levels() {
        assert_eq!(level(-3), "off");
        assert_eq!(level(-2), "off");
        assert_eq!(level(-1), "error");
        assert_eq!(level(0), "info");
        assert_eq!(level(1), "debug");
        assert_eq!(level(4), "trace");
    }

    #[test]
    fn log_filters_take_target_level_directives() {
        for good in [
            "debug",
            "kube_bootstrap=trace",
            "warn,kube_bootstrap=debug",
            "off",
        ] {
            assert!(good.parse::<Targets>().is_ok(), "{good}");
        }
        for bad in ["kube_bootstrap=loud", "=debug="] {
            assert!(bad.parse::<Targets>().is_err(), "{bad}");
        }
        for v in [-3, -1, 0, 1, 4] {
            let wanted = match level(v) {
                "off" => None,
                name => Some(name.parse::<tracing::Level>().unwrap()),
            };
            let filter = default_filter(v);
            assert_eq!(
                filter
                    .iter()
                    .find(|(t, _)| *t == "kube_bootstrap")
                    .map(|(_, l)| l.into_level()),
                Some(wanted),
                "{v}"
            );
        }
    }
}
