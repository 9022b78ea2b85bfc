//! `kube-bootstrap fetch`: the download policy. Decides what to reuse, which mirror to ask,
//! when to retry and when a file may be installed. Bytes move in `transport`, land in
//! `partial`, and become visible only through `install`.

mod checksum;
mod failure;
mod install;
mod installed;
mod lock;
mod partial;
mod progress;
mod record;
mod retry;
mod transport;

use std::path::PathBuf;
use std::time::Instant;

use reqwest::Url;

use crate::arch;
use crate::component::Component;
use crate::env_vars;
use crate::envfile;
use crate::fsutil::{self, io_err};
use crate::settings::Settings;

pub use failure::{Error, ExpectedFrom, FetchError, MirrorFailure};
pub use installed::{Installed, open_verified, verify_installed};
pub use record::{Checked, Identity, Record, Stale};

use install::{disk_full, install, is_disk_full, out_of_space};
use installed::installed;
use partial::Partial;
use progress::Progress;
use transport::Transport;

/// Where kube-bootstrap keeps install records and locks (inside the root).
pub const STATE_DIR: &str = "/var/lib/kube-bootstrap";
/// Where the environment files for units are written (inside the root).
pub const RUN_DIR: &str = "/run/kube-bootstrap";

/// A deadline too far to reach (a century), for settings beyond what an `Instant` can hold.
const NEVER: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// The files that belong to one binary.
#[derive(Debug, Clone)]
pub struct Paths {
    pub component: Component,
    pub binary: &'static str,
    /// The installed binary, rooted.
    pub target: PathBuf,
    pub bin_dir: PathBuf,
    /// The install record, named after the installed path (`opt-bin-kubelet.json`).
    pub record: PathBuf,
    /// The record older releases kept per binary name (`kubelet.json`): trusted only for a
    /// binary whose identity it matches.
    pub legacy_record: PathBuf,
    pub lock: PathBuf,
    pub env_file: PathBuf,
}

impl Paths {
    pub fn new(settings: &Settings, component: Component) -> Paths {
        let binary = component.binary();
        let bin_dir = settings.path(&settings.bin_dir);
        let state = settings.path(STATE_DIR);
        // Records and locks belong to the installed path, so fetches into two bin dirs keep
        // theirs apart.
        let key = record::path_key(&settings.bin_dir.join(binary));
        Paths {
            component,
            binary,
            target: bin_dir.join(binary),
            bin_dir,
            record: state.join(format!("{key}.json")),
            legacy_record: state.join(format!("{binary}.json")),
            lock: state.join(format!("{key}.lock")),
            env_file: settings.path(RUN_DIR).join(format!("{binary}.env")),
        }
    }

    /// The partial file for a download expected to hash to `sha256`: keyed by the digest, so
    /// a resume never mixes bytes of two different files.
    fn partial(&self, sha256: &str) -> PathBuf {
        self.bin_dir
            .join(format!(".{}.{sha256}.partial", self.binary))
    }
}

/// The artifact URL: `<base>/<version>/bin/linux/<arch>/<binary>`.
pub fn artifact_url(base: &Url, version: &str, arch: &str, binary: &str) -> Url {
    let mut url = base.clone();
    let path = format!(
        "{}/{version}/bin/linux/{arch}/{binary}",
        base.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

/// The checksum side file's URL: the artifact URL plus `.sha256`.
pub fn side_file_url(artifact: &Url) -> Url {
    let mut url = artifact.clone();
    url.set_path(&format!("{}.sha256", artifact.path()));
    url
}

/// Fetches each component's binary; one failure does not stop the others.
pub fn run(settings: &Settings, components: &[Component]) -> Result<(), Error> {
    let mut results = match components {
        [one] => vec![fetch_one(settings, *one, true)],
        // Several components download in parallel (a leader fetches three at boot): each thread
        // has its own runtime and client, and no terminal bar (bars would overwrite each other).
        many => std::thread::scope(|scope| {
            let threads: Vec<_> = many
                .iter()
                .map(|&c| scope.spawn(move || fetch_one(settings, c, false)))
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        }),
    };
    let mut failed: Vec<Error> = results.drain(..).filter_map(Result::err).collect();
    match failed.len() {
        0 => Ok(()),
        1 if components.len() == 1 => Err(failed.remove(0)),
        _ => Err(Error::Several {
            failed,
            total: components.len(),
        }),
    }
}

/// The async runtime and transport, built only when something must be downloaded.
struct Network {
    runtime: tokio::runtime::Runtime,
    transport: Transport,
    /// Whether a terminal may show a progress bar for this download.
    progress_bar: bool,
}

fn fetch_one(settings: &Settings, component: Component, progress_bar: bool) -> Result<(), Error> {
    let paths = Paths::new(settings, component);
    let binary = paths.binary;
    let version = settings.version.to_string();
    let pin = settings.pins.get(binary).map(String::as_str);

    // Warm path: no lock, no runtime, no network.
    if let Some(record) = installed(settings, &paths, true)? {
        tracing::info!(component = %component, version = %version, sha256 = %record.sha256, path = %paths.target.display(), "already installed");
        return write_env_file(settings, component, &paths, &record);
    }

    let started = Instant::now();
    // Any u64 of seconds is a valid setting: one beyond what an Instant can hold means never.
    let deadline = started
        .checked_add(settings.deadline)
        .unwrap_or_else(|| started + NEVER);
    let _lock = lock::acquire(&paths.lock, deadline, binary, settings.deadline.as_secs())?;
    // Another fetch may have installed it while we waited.
    if let Some(record) = installed(settings, &paths, false)? {
        tracing::info!(component = %component, version = %version, sha256 = %record.sha256, "installed by another fetch");
        return write_env_file(settings, component, &paths, &record);
    }

    // Only now, with a download ahead: the runtime, TLS roots and resolver.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_err("start the async runtime for", &paths.target))?;
    let net = &Network {
        runtime,
        transport: Transport::new(settings)?,
        progress_bar,
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let record = net
        .runtime
        .block_on(async {
            tokio::time::timeout(remaining, from_mirrors(settings, &paths, pin, net)).await
        })
        .map_err(|_| Error::Deadline {
            binary,
            secs: settings.deadline.as_secs(),
            var: env_vars::KUBE_FETCH_DEADLINE,
        })??;
    write_env_file(settings, component, &paths, &record)
}

/// Tries every mirror in order; the error lists what each one did.
async fn from_mirrors(
    settings: &Settings,
    paths: &Paths,
    pin: Option<&str>,
    net: &Network,
) -> Result<Record, Error> {
    let mut failures = Vec::new();
    for base in &settings.mirrors {
        let url = artifact_url(
            base,
            &settings.version.to_string(),
            settings.arch.as_str(),
            paths.binary,
        );
        let mut attempts = 0;
        match from_mirror(settings, paths, pin, net, &url, &mut attempts).await {
            Ok(record) => return Ok(record),
            Err(FetchError::Local(e)) => return Err(*e),
            Err(reason) => {
                tracing::warn!(component = %paths.component, binary = %paths.binary, mirror = %base, url = %url, error = %crate::causes::chain(&reason), "mirror failed");
                failures.push(MirrorFailure {
                    mirror: base.to_string(),
                    attempts,
                    reason,
                });
            }
        }
    }
    Err(Error::AllMirrorsFailed {
        binary: paths.binary,
        version: settings.version.to_string(),
        failures,
    })
}

/// Runs `op` until it succeeds, fails for good, or has been retried `retries` times.
async fn with_retries<T>(
    retries: u32,
    what: &str,
    attempts: &mut u32,
    mut op: impl AsyncFnMut() -> Result<T, FetchError>,
) -> Result<T, FetchError> {
    let mut retry = 0;
    loop {
        *attempts += 1;
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && retry < retries => {
                let delay = retry::backoff(retry);
                retry += 1;
                tracing::warn!(what, attempt = retry, of = retries, delay_ms = delay.as_millis() as u64, error = %crate::causes::chain(&e), "transient failure, retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn from_mirror(
    settings: &Settings,
    paths: &Paths,
    pin: Option<&str>,
    net: &Network,
    url: &Url,
    attempts: &mut u32,
) -> Result<Record, FetchError> {
    let transport = &net.transport;
    let pin_var = env_vars::sha256_pin(paths.binary);
    if url.scheme() == "http" && pin.is_none() && !settings.allow_http {
        *attempts = 1;
        return Err(FetchError::InsecureHttp {
            url: url.to_string(),
            pin_var,
        });
    }

    let (expected, from) = match pin {
        Some(p) => (p.to_string(), ExpectedFrom::Pin(pin_var)),
        None => {
            let side = side_file_url(url);
            let digest = with_retries(settings.fetch_retries, "checksum", attempts, async || {
                transport.side_file(&side, paths.binary).await
            })
            .await?;
            (digest, ExpectedFrom::SideFile(side.to_string()))
        }
    };

    fsutil::create_dir_all(&paths.bin_dir)?;
    let partial_path = paths.partial(&expected);
    let mut partial = Partial::open(&partial_path, settings.max_download_bytes)?;
    let mut progress = Progress::new(paths.binary, net.progress_bar);
    let complete = partial.is_complete(&expected);
    if !complete {
        tracing::info!(
            component = %paths.component,
            binary = %paths.binary,
            version = %settings.version,
            url = %url,
            sha256 = %expected,
            resume_from = partial.len(),
            "downloading"
        );
    }
    let result = if complete {
        // A run killed between fsync and rename left the whole file: check it and install it.
        tracing::info!(component = %paths.component, binary = %paths.binary, path = %partial_path.display(), bytes = partial.len(), "the partial file from an interrupted run is complete, installing it without a download");
        Ok(())
    } else {
        with_retries(settings.fetch_retries, "download", attempts, async || {
            transport.download(url, &mut partial, &mut progress).await
        })
        .await
    };
    progress.finish();
    if let Err(e) = result {
        if let Some(source) = disk_full(&e) {
            return Err(out_of_space(paths, partial, source).into());
        }
        if matches!(e, FetchError::TooLarge { .. }) {
            partial.discard();
        }
        return Err(e);
    }
    let actual = match partial.finish() {
        Ok(sha) => sha,
        Err(e) if is_disk_full(&e.source) => {
            let source = e.source;
            return Err(out_of_space(paths, partial, source).into());
        }
        Err(e) => return Err(e.into()),
    };
    let size = partial.len();
    if actual != expected {
        partial.discard();
        return Err(FetchError::ChecksumMismatch {
            url: url.to_string(),
            expected,
            actual,
            from,
        });
    }
    let header = partial.header(20)?;
    if let Err(mismatch) = arch::check_elf(&header, settings.arch) {
        partial.discard();
        return Err(FetchError::NotExecutable {
            url: url.to_string(),
            arch: settings.arch.to_string(),
            mismatch,
        });
    }
    let elapsed = progress.elapsed();
    tracing::info!(
        component = %paths.component,
        binary = %paths.binary,
        version = %settings.version,
        url = %url,
        sha256 = %actual,
        bytes = size,
        seconds = elapsed.as_secs_f64(),
        rate = %progress::rate(progress.transferred(), elapsed),
        "downloaded and verified"
    );
    let record = install(settings, paths, partial, url, &actual, size)?;
    tracing::info!(component = %paths.component,
        binary = %paths.binary, version = %settings.version, path = %paths.target.display(), sha256 = %actual, "installed");
    Ok(record)
}

/// Writes the component's config files and the environment file units read with
/// `EnvironmentFile=`, each only when it changes. Flags that cannot be computed yet (a node
/// file missing) leave `KUBE_ARGS` out with a warning: the binary itself is in place.
fn write_env_file(
    settings: &Settings,
    component: Component,
    paths: &Paths,
    record: &Record,
) -> Result<(), Error> {
    let args = match crate::plan::plan(settings, component, &[]) {
        Ok(plan) => {
            crate::plan::write_files(&plan)?;
            Some(plan.args())
        }
        Err(e) => {
            tracing::warn!(component = %component, error = %crate::causes::chain(&e), "cannot compute flags yet, KUBE_ARGS left out of the environment file");
            None
        }
    };
    let text = env_file_contents(paths, record, args.as_deref());
    if fsutil::write_if_changed(&paths.env_file, text.as_bytes(), 0o644)? {
        tracing::debug!(path = %paths.env_file.display(), "environment file written");
    }
    Ok(())
}

/// The environment file's content for an installed binary. `KUBE_ARGS` is for
/// `ExecStart=/opt/bin/kubelet $KUBE_ARGS`, which systemd splits at whitespace.
pub fn env_file_contents(paths: &Paths, record: &Record, args: Option<&[String]>) -> String {
    let mut vars = vec![
        ("KUBE_VERSION", record.version.clone()),
        ("KUBE_ARCH", record.arch.clone()),
        ("KUBE_BINARY", paths.target.display().to_string()),
        ("KUBE_SHA256", record.sha256.clone()),
        ("KUBE_SOURCE", record.url.clone()),
    ];
    if let Some(args) = args {
        if args.iter().any(|a| a.contains(char::is_whitespace)) {
            tracing::warn!(binary = %paths.binary, "an argument contains whitespace; $KUBE_ARGS would split it, use 'kube-bootstrap exec'");
        }
        vars.push(("KUBE_ARGS", args.join(" ")));
    }
    envfile::render(
        &format!(
            "Written by kube-bootstrap for {}; do not edit.",
            paths.binary
        ),
        &vars,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_dl_k8s_io_layout() {
        for (base, want) in [
            (
                "https://dl.k8s.io/release",
                "https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubelet",
            ),
            (
                "https://dl.k8s.io/release/",
                "https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubelet",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/v1.36.4/bin/linux/amd64/kubelet",
            ),
            (
                "file:///srv/mirror",
                "file:///srv/mirror/v1.36.4/bin/linux/amd64/kubelet",
            ),
        ] {
            let url = artifact_url(&Url::parse(base).unwrap(), "v1.36.4", "amd64", "kubelet");
            assert_eq!(url.as_str(), want);
            assert_eq!(side_file_url(&url).as_str(), format!("{want}.sha256"));
        }
    }
}
