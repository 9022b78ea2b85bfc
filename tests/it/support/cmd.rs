//! Running `kube-bootstrap` with a clean environment, bounded in time.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use super::{ARCH, VERSION};

/// PATH given to every child: system directories only.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Default bound on one run of the binary.
const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_kube-bootstrap")
}

/// A command line for `kube-bootstrap --root ROOT`, with a cleared environment
/// holding only PATH, `KUBE_ARCH=amd64`, `KUBE_VERSION=v1.36.4` and `KUBE_SKEW_CHECK=off`
/// (sandbox nodes name leaders that do not exist; tests/it/skew.rs turns the guard on).
pub fn kb(root: &Path) -> Kb {
    Kb {
        root: root.to_owned(),
        dir: None,
        env: BTreeMap::new(),
        args: Vec::new(),
        wrapper: Vec::new(),
        limit: DEFAULT_LIMIT,
    }
    .env("PATH", PATH)
    .env("KUBE_ARCH", ARCH)
    .env("KUBE_VERSION", VERSION)
    .env("KUBE_SKEW_CHECK", "off")
}

/// Builder for one invocation of the binary under test.
#[derive(Clone, Debug)]
pub struct Kb {
    root: PathBuf,
    /// The child's current directory; `None` inherits the test's.
    dir: Option<PathBuf>,
    env: BTreeMap<String, String>,
    args: Vec<OsString>,
    wrapper: Vec<OsString>,
    limit: Duration,
}

impl Kb {
    /// Sets an environment variable for the child.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    /// Runs the child in `dir`, where relative paths typed on its command line start.
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Removes a variable the builder set (`KUBE_VERSION`, to let the config file decide).
    pub fn unset(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// Sets `KUBE_VERSION`.
    pub fn version(self, version: &str) -> Self {
        self.env("KUBE_VERSION", version)
    }

    /// Sets `KUBE_MIRRORS` to the given base URLs, space separated.
    pub fn mirrors(self, bases: &[&str]) -> Self {
        self.env("KUBE_MIRRORS", bases.join(" "))
    }

    /// Sets `KUBE_ALLOW_HTTP=1` (needed for the plain http mirror without a pin).
    pub fn allow_http(self) -> Self {
        self.env("KUBE_ALLOW_HTTP", "1")
    }

    /// Appends `fetch COMPONENT...` to the arguments.
    pub fn fetch(mut self, components: &[&str]) -> Self {
        self.args.push("fetch".into());
        self.args.extend(components.iter().map(OsString::from));
        self
    }

    /// Appends arbitrary arguments (after `--root ROOT`).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// Runs the binary through `prefix` (`prefix... kube-bootstrap args...`).
    pub fn wrapped(mut self, prefix: &[&str]) -> Self {
        self.wrapper = prefix.iter().map(OsString::from).collect();
        self
    }

    /// Overrides the time bound of [`Kb::run`] and [`Running::wait`].
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// The fully configured command (environment cleared, then set).
    pub fn command(&self) -> Command {
        let mut cmd = match self.wrapper.split_first() {
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(bin());
                cmd
            }
            None => Command::new(bin()),
        };
        cmd.env_clear()
            .envs(&self.env)
            .arg("--root")
            .arg(&self.root)
            .args(&self.args)
            .stdin(Stdio::null());
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Starts the binary with captured output.
    pub fn spawn(&self) -> Running {
        spawn_bounded(self.command(), "kube-bootstrap", self.limit)
    }

    /// Runs the binary to completion (killing it and failing the test if it
    /// exceeds its time bound).
    pub fn run(&self) -> Outcome {
        self.spawn().wait()
    }
}

/// Starts `cmd` (any program, named `what` in messages) with captured stdout and stderr;
/// [`Running::wait`] bounds it by `limit`. Panics if it cannot be started.
pub fn spawn_bounded(cmd: Command, what: &str, limit: Duration) -> Running {
    try_spawn_bounded(cmd, what, limit).unwrap_or_else(|e| panic!("spawn {what}: {e}"))
}

/// [`spawn_bounded`], returning the error when `cmd` cannot be started.
pub fn try_spawn_bounded(mut cmd: Command, what: &str, limit: Duration) -> io::Result<Running> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stdout = collect(child.stdout.take().expect("stdout pipe"));
    let stderr = collect(child.stderr.take().expect("stderr pipe"));
    Ok(Running {
        what: what.to_owned(),
        child,
        stdout,
        stderr,
        started: Instant::now(),
        limit,
    })
}

fn collect(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// A started child; killed on drop if still running.
pub struct Running {
    what: String,
    child: Child,
    stdout: Receiver<Vec<u8>>,
    stderr: Receiver<Vec<u8>>,
    started: Instant,
    limit: Duration,
}

impl Running {
    /// Waits for the child within its time bound; on overrun kills it and panics.
    pub fn wait(self) -> Outcome {
        let (what, limit) = (self.what.clone(), self.limit);
        self.finish()
            .unwrap_or_else(|out| panic!("{what} did not finish within {limit:?}; killed\n{out}"))
    }

    /// Waits for the child within its time bound without panicking: `Err` with what it
    /// printed if it had to be killed.
    pub fn finish(mut self) -> Result<Outcome, Outcome> {
        let deadline = self.started + self.limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ok(self.outcome(status));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let status = self.child.wait().expect("reap child");
                return Err(self.outcome(status));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGKILL and reaps the child.
    pub fn kill(mut self) -> Outcome {
        self.child.kill().expect("kill -9 child");
        let status = self.child.wait().expect("reap child");
        self.outcome(status)
    }

    fn outcome(&self, status: ExitStatus) -> Outcome {
        let grab = |rx: &Receiver<Vec<u8>>| {
            let bytes = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Outcome {
            status,
            stdout: grab(&self.stdout),
            stderr: grab(&self.stderr),
            elapsed: self.started.elapsed(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a run ended, with its captured output.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    /// The exit code, `None` if killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts exit code 0.
    pub fn success(&self) -> &Self {
        assert_eq!(self.code(), Some(0), "expected success\n{self}");
        self
    }

    /// Asserts a failure with exit `code` reported as an `error: ` line on stderr.
    pub fn failure(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "expected exit code {code}\n{self}");
        self.reports_error()
    }

    /// Asserts that stderr carries an `error: ` line.
    pub fn reports_error(&self) -> &Self {
        assert!(
            self.stderr.lines().any(|l| l.starts_with("error: ")),
            "expected an `error: ` line on stderr\n{self}"
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    pub fn mentions(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "expected stderr to mention {needle:?}\n{self}"
        );
        self
    }

    /// Asserts that stderr contains `needle`, ignoring ASCII case.
    pub fn mentions_ignoring_case(&self, needle: &str) -> &Self {
        assert!(
            self.stderr
                .to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase()),
            "expected stderr to mention {needle:?} (any case)\n{self}"
        );
        self
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status: {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}
