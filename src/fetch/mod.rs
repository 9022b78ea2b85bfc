//! `kube-bootstrap fetch`: the download policy. Decides what to reuse, which mirror to ask,
//! when to retry and when a file may be installed. Bytes move in `transport`, land in
//! `partial`, and become visible only through `install`.

mod checksum;
mod env_file;
mod failure;
mod install;
mod installed;
mod lock;
mod network;
mod partial;
mod progress;
mod record;
mod releases;
mod retry;
mod transport;
mod verified;

use std::path::PathBuf;
use std::time::Instant;

use reqwest::Url;

use crate::component::Fetchable;
use crate::env_vars;
use crate::fsutil::{self, io_err};
use crate::http;
use crate::settings::Settings;

pub use env_file::env_file_contents;
pub use failure::{Error, ExpectedFrom, FetchError, MirrorFailure, StalePin};
pub use installed::{Installed, open_verified, verify_installed};
pub use record::{Checked, Identity, Record, Stale};
pub use releases::{Kept, KeptFile, list as kept_releases, summary as kept_summary};

use env_file::write_env_file;
use install::install;
use installed::installed;
use network::Network;

pub(crate) use checksum::{MAX_SIDE_FILE, hash_reader, parse_side_file, read_header};
pub use progress::human;
pub(crate) use progress::{Progress, rate};
pub(crate) use retry::with_retries;
pub(crate) use transport::Transport;
pub(crate) use verified::{Want, download as download_verified};

/// Where kube-bootstrap keeps install records and locks (inside the root).
pub const STATE_DIR: &str = "/var/lib/kube-bootstrap";
/// Where the environment files for units are written (inside the root).
pub const RUN_DIR: &str = "/run/kube-bootstrap";

/// A deadline too far to reach (a century), for settings beyond what an `Instant` can hold.
const NEVER: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// The files that belong to one binary.
#[derive(Debug, Clone)]
pub struct Paths {
    pub component: Fetchable,
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
    pub fn new(settings: &Settings, component: impl Into<Fetchable>) -> Paths {
        let component = component.into();
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
pub fn run(settings: &Settings, components: &[Fetchable]) -> Result<(), Error> {
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

fn fetch_one(settings: &Settings, component: Fetchable, progress_bar: bool) -> Result<(), Error> {
    let paths = Paths::new(settings, component);
    let binary = paths.binary;
    let version = settings.version.to_string();
    let pin = settings.pins.get(binary).map(String::as_str);

    // Warm path: no lock, no runtime, no network.
    if let Some(record) = installed(settings, &paths, true)? {
        tracing::info!(component = %component, version = %version, sha256 = %record.sha256, path = %paths.target.display(), "already installed");
        // A lowered KUBE_KEEP_RELEASES takes effect without waiting for the next upgrade.
        if releases::list(settings, binary).len() > settings.keep_releases as usize {
            releases::prune(settings, binary);
        }
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
    // Before a kubelet or kube-proxy changes: the leader's /version against the skew policy.
    if let Fetchable::Component(c) = component {
        crate::skew::guard(
            settings,
            c,
            deadline.saturating_duration_since(Instant::now()),
        )?;
    }
    // Going back to a kept release needs no network.
    if let Some(record) = releases::restore(settings, &paths, pin)? {
        releases::log_kept(settings, binary);
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
        doing: Default::default(),
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
            doing: net.doing(),
            lock: None,
        })??;
    write_env_file(settings, component, &paths, &record)
}

/// Tries every mirror in order; the error lists what each one did. A mirror's failure is
/// printed once: in that error when every mirror fails, as a warning when a later one served.
async fn from_mirrors(
    settings: &Settings,
    paths: &Paths,
    pin: Option<&str>,
    net: &Network,
) -> Result<Record, Error> {
    let mut failures: Vec<MirrorFailure> = Vec::new();
    for base in &settings.mirrors {
        let url = artifact_url(
            base,
            &settings.version.to_string(),
            settings.arch.as_str(),
            paths.binary,
        );
        let mut attempts = 0;
        match from_mirror(settings, paths, pin, net, &url, &mut attempts).await {
            Ok(record) => {
                for failed in &failures {
                    tracing::warn!(component = %paths.component, binary = %paths.binary, mirror = %failed.mirror, error = %crate::causes::chain(&failed.reason), "mirror failed, a later one served the binary");
                }
                return Ok(record);
            }
            Err(FetchError::Local(e)) => return Err(*e),
            Err(reason) => {
                net.failed(&reason);
                tracing::debug!(component = %paths.component, binary = %paths.binary, mirror = %http::redact(base), url = %http::redact(&url), error = %crate::causes::chain(&reason), "mirror failed");
                failures.push(MirrorFailure {
                    mirror: http::redact(base),
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
            url: http::redact(url),
            pin_var,
        });
    }

    let (expected, from) = match pin {
        Some(p) => (p.to_string(), ExpectedFrom::pin(settings, pin_var)),
        None => {
            let side = side_file_url(url);
            let digest = with_retries(
                settings.fetch_retries,
                "checksum",
                attempts,
                &|e| net.failed(e),
                async || {
                    net.fetching(&side);
                    transport.side_file(&side, paths.binary).await
                },
            )
            .await?;
            (digest, ExpectedFrom::SideFile(http::redact(&side)))
        }
    };

    fsutil::create_dir_all(&paths.bin_dir)?;
    let partial_path = paths.partial(&expected);
    let mut progress = Progress::new(paths.binary, net.progress_bar);
    let want = verified::Want {
        url,
        binary: paths.binary,
        arch: settings.arch,
        expected: &expected,
        from,
        partial: &partial_path,
        limit: settings.max_download_bytes,
        retries: settings.fetch_retries,
    };
    let done = verified::download(transport, want, &mut progress, attempts, Some(net)).await?;
    let (actual, size) = (done.sha256, done.size);
    tracing::info!(
        component = %paths.component,
        binary = %paths.binary,
        version = %settings.version,
        url = %http::redact(url),
        sha256 = %actual,
        bytes = size,
        seconds = done.elapsed.as_secs_f64(),
        rate = %progress::rate(done.transferred, done.elapsed),
        // journalctl shows the message alone: the summary is in it too.
        "downloaded and verified {} in {:.1}s ({}) from {}",
        human(size),
        done.elapsed.as_secs_f64(),
        progress::rate(done.transferred, done.elapsed),
        http::redact(url)
    );
    releases::keep_installed(settings, paths);
    let record = install(settings, paths, done.partial, url, &actual, size)?;
    releases::log_kept(settings, paths.binary);
    tracing::info!(component = %paths.component,
        binary = %paths.binary, version = %settings.version, path = %paths.target.display(), sha256 = %actual, "installed");
    Ok(record)
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
