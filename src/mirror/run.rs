//! Filling a mirror directory: a few workers, each with its own runtime and client, take files
//! from a queue; every file goes through fetch's verified download, then a rename into place.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use reqwest::Url;

use super::{Error, FileFailure, Item, Plan, layout};
use crate::env_vars;
use crate::fetch::{self, ExpectedFrom, FetchError, MirrorFailure, Progress, Transport};
use crate::fsutil::{self, io_err};
use crate::settings::Settings;

/// A file that is in place and verified.
#[derive(Debug)]
struct Done {
    sha256: String,
    size: u64,
    /// Whether its bytes came over the network in this run.
    downloaded: bool,
}

/// Shared between the workers and the progress bar.
struct Shared<'a> {
    settings: &'a Settings,
    dir: &'a Path,
    queue: Mutex<VecDeque<(usize, Item)>>,
    results: Mutex<Vec<(usize, Result<Done, fetch::Error>)>>,
    bytes: Arc<AtomicU64>,
    finished: AtomicUsize,
}

/// Mirrors every file of `plan` into `dir`, `jobs` at a time, then writes the pins files of
/// the releases whose files are all in place.
pub fn run(settings: &Settings, dir: &Path, plan: &Plan, jobs: usize) -> Result<(), Error> {
    fsutil::create_dir_all(dir)?;
    let _lock = lock(dir)?;
    let items = plan.items();
    let total = items.len();
    let shared = Shared {
        settings,
        dir,
        queue: Mutex::new(items.iter().cloned().enumerate().collect()),
        results: Mutex::new(Vec::new()),
        bytes: Arc::new(AtomicU64::new(0)),
        finished: AtomicUsize::new(0),
    };
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let setup: Vec<Result<(), Error>> = std::thread::scope(|scope| {
        let bar = std::io::stderr()
            .is_terminal()
            .then(|| scope.spawn(|| draw(&shared, total, started, &stop)));
        let workers: Vec<_> = (0..jobs.clamp(1, total.max(1)))
            .map(|_| scope.spawn(|| worker(&shared)))
            .collect();
        let out = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        stop.store(true, Ordering::Relaxed);
        if let Some(bar) = bar {
            let _ = bar.join();
        }
        out
    });
    setup.into_iter().collect::<Result<Vec<()>, Error>>()?;

    let mut results = shared
        .results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut failed = Vec::new();
    let mut pins: BTreeMap<(String, &'static str), BTreeMap<&'static str, String>> =
        BTreeMap::new();
    let mut complete: BTreeMap<(String, &'static str), bool> = BTreeMap::new();
    let (mut downloaded, mut bytes) = (0, 0);
    for (i, result) in results {
        let item = &items[i];
        let key = (item.version.clone(), item.arch.as_str());
        match result {
            Ok(done) => {
                if done.downloaded {
                    downloaded += 1;
                    bytes += done.size;
                }
                complete.entry(key.clone()).or_insert(true);
                pins.entry(key)
                    .or_default()
                    .insert(item.binary.binary(), done.sha256);
            }
            Err(reason) => {
                complete.insert(key, false);
                failed.push(FileFailure {
                    file: item.relative(),
                    reason,
                });
            }
        }
    }
    for ((version, arch), pins) in pins {
        if complete.get(&(version.clone(), arch)) == Some(&true) {
            write_pins(dir, &version, arch, pins)?;
        }
    }
    tracing::info!(dir = %dir.display(), files = total, downloaded, bytes, failed = failed.len(), seconds = started.elapsed().as_secs_f64(), "mirror finished");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Failed { failed, total })
    }
}

/// One run at a time per directory: two would write the same partial files. The `flock` is
/// on DIR itself, so no lock file sits where a web server serving DIR would publish it.
fn lock(dir: &Path) -> Result<Flock<File>, Error> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC)
        .open(dir)
        .map_err(io_err("open", dir))?;
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| Error::Busy {
        dir: dir.to_path_buf(),
    })?;
    // Earlier releases left their (empty) lock file in DIR, served with the mirror.
    let old = dir.join(".kube-bootstrap-mirror.lock");
    if std::fs::symlink_metadata(&old).is_ok_and(|m| m.is_file() && m.len() == 0) {
        let _ = std::fs::remove_file(&old);
    }
    Ok(lock)
}

fn worker(shared: &Shared<'_>) -> Result<(), Error> {
    let runtime = crate::http::runtime()?;
    let transport = Transport::new(shared.settings)?;
    loop {
        let next = shared
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        let Some((i, item)) = next else {
            return Ok(());
        };
        let deadline = shared.settings.deadline;
        let result = runtime
            .block_on(async {
                tokio::time::timeout(deadline, mirror_one(shared, &transport, &item)).await
            })
            .unwrap_or_else(|_| {
                Err(fetch::Error::Deadline {
                    binary: item.binary.binary(),
                    secs: deadline.as_secs(),
                    var: env_vars::KUBE_FETCH_DEADLINE,
                    doing: format!("it was mirroring {}", item.relative()),
                    lock: None,
                })
            });
        if let Err(e) = &result {
            tracing::error!(file = %item.relative(), error = %crate::causes::chain(e), "cannot mirror");
        }
        shared.finished.fetch_add(1, Ordering::Relaxed);
        shared
            .results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((i, result));
    }
}

/// The overall bar on a terminal: files done, bytes received, rate.
fn draw(shared: &Shared<'_>, total: usize, started: Instant, stop: &AtomicBool) {
    let mut err = std::io::stderr();
    while !stop.load(Ordering::Relaxed) {
        let bytes = shared.bytes.load(Ordering::Relaxed);
        let _ = write!(
            err,
            "\r\x1b[2Kmirror: {}/{total} files, {} received, {}",
            shared.finished.load(Ordering::Relaxed),
            fetch::human(bytes),
            fetch::rate(bytes, started.elapsed())
        );
        let _ = err.flush();
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = write!(err, "\r\x1b[2K");
}

/// Tries each upstream mirror in order, as `fetch` does.
async fn mirror_one(
    shared: &Shared<'_>,
    transport: &Transport,
    item: &Item,
) -> Result<Done, fetch::Error> {
    let settings = shared.settings;
    let binary = item.binary.binary();
    let mut failures = Vec::new();
    for base in &settings.mirrors {
        let url = fetch::artifact_url(base, &item.version, item.arch.as_str(), binary);
        let mut attempts = 0;
        match from_upstream(shared, transport, item, &url, &mut attempts).await {
            Ok(done) => return Ok(done),
            Err(FetchError::Local(e)) => return Err(*e),
            Err(reason) => {
                tracing::warn!(file = %item.relative(), mirror = %base, error = %crate::causes::chain(&reason), "mirror failed");
                failures.push(MirrorFailure {
                    mirror: base.to_string(),
                    attempts,
                    reason,
                });
            }
        }
    }
    Err(fetch::Error::AllMirrorsFailed {
        binary,
        version: item.version.clone(),
        failures,
    })
}

async fn from_upstream(
    shared: &Shared<'_>,
    transport: &Transport,
    item: &Item,
    url: &Url,
    attempts: &mut u32,
) -> Result<Done, FetchError> {
    let settings = shared.settings;
    let binary = item.binary.binary();
    let pin_var = env_vars::sha256_pin(binary);
    // A pin (KUBE_SHA256_*) applies to the release and architecture the settings name.
    let pin = settings
        .pins
        .get(binary)
        .filter(|_| item.version == settings.version.to_string() && item.arch == settings.arch);
    if url.scheme() == "http" && pin.is_none() && !settings.allow_http {
        *attempts = 1;
        return Err(FetchError::InsecureHttp {
            url: crate::http::redact(url),
            pin_var,
        });
    }
    let side_url = fetch::side_file_url(url);
    let (expected, from) = match pin {
        Some(p) => (p.clone(), ExpectedFrom::pin(settings, pin_var)),
        None => {
            let digest = fetch::with_retries(
                settings.fetch_retries,
                "checksum",
                attempts,
                &|_| {},
                async || transport.side_file(&side_url, binary).await,
            )
            .await?;
            (
                digest,
                ExpectedFrom::SideFile(crate::http::redact(&side_url)),
            )
        }
    };
    let arch_dir = layout::arch_dir(shared.dir, &item.version, item.arch.as_str());
    // Never through a link planted inside DIR: everything written stays inside it.
    fsutil::create_dirs_within(shared.dir, &arch_dir)?;
    let target = arch_dir.join(binary);
    let side = arch_dir.join(format!("{binary}.sha256"));
    match present(&target, &expected, item) {
        Ok(size) => {
            write_side(&side, &expected)?;
            tracing::info!(file = %item.relative(), sha256 = %expected, bytes = size, "already mirrored and verified");
            return Ok(Done {
                sha256: expected,
                size,
                downloaded: false,
            });
        }
        Err(None) => {}
        Err(Some(why)) => {
            tracing::warn!(file = %item.relative(), sha256 = %expected, found = %why, "replacing a file that is not the upstream release");
        }
    }
    let partial = layout::partial(&arch_dir, binary, &expected);
    let mut progress = Progress::new(binary, false).counting(Arc::clone(&shared.bytes));
    let want = fetch::Want {
        url,
        binary,
        arch: item.arch,
        expected: &expected,
        from,
        partial: &partial,
        limit: settings.max_download_bytes,
        retries: settings.fetch_retries,
    };
    let done = fetch::download_verified(transport, want, &mut progress, attempts, None).await?;
    let partial = done.partial.path().to_path_buf();
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err("set permissions on", &partial))?;
    std::fs::rename(&partial, &target).map_err(io_err("rename into place", &target))?;
    write_side(&side, &done.sha256)?;
    fsutil::sync_dir(&arch_dir)?;
    tracing::info!(file = %item.relative(), url = %crate::http::redact(url), sha256 = %done.sha256, bytes = done.size, transferred = done.transferred, seconds = done.elapsed.as_secs_f64(), "mirrored and verified");
    Ok(Done {
        sha256: done.sha256,
        size: done.size,
        downloaded: true,
    })
}

/// The size of the file at `target` when it is a regular file with the expected bytes for
/// the architecture; otherwise `None` when there is no file, or what is there instead.
fn present(target: &Path, expected: &str, item: &Item) -> Result<u64, Option<String>> {
    match super::read_binary(target) {
        Ok((sha, size, header)) if sha == expected => crate::arch::check_elf(&header, item.arch)
            .map(|()| size)
            .map_err(|m| Some(m.to_string())),
        Ok((sha, _, _)) => Err(Some(format!("sha256 {sha}"))),
        Err(super::Unusable::Missing(_)) => Err(None),
        Err(super::Unusable::Wrong(why)) => Err(Some(why)),
    }
}

fn write_side(side: &Path, sha256: &str) -> Result<(), fsutil::Error> {
    fsutil::write_if_changed(side, layout::side_file(sha256).as_bytes(), 0o644).map(|_| ())
}

/// Writes `<version>/pins-<arch>.env`, keeping the pins of binaries this run did not touch.
fn write_pins(
    dir: &Path,
    version: &str,
    arch: &str,
    mut pins: BTreeMap<&'static str, String>,
) -> Result<(), fsutil::Error> {
    let path = layout::pins_path(dir, version, arch);
    fsutil::create_dirs_within(dir, fsutil::parent(&path))?;
    if let Ok(old) = crate::envfile::read(&path)
        && old
            .iter()
            .any(|(k, v)| k == env_vars::KUBE_VERSION && v == version)
    {
        for (key, value) in old {
            if let Some(binary) = layout::binary_of_pin(&key) {
                pins.entry(binary).or_insert(value);
            }
        }
    }
    let text = layout::render_pins(version, arch, &pins);
    if fsutil::write_if_changed(&path, text.as_bytes(), 0o644)? {
        tracing::info!(path = %path.display(), "pins written");
    }
    crate::fsutil::print(&format!("{}\n", path.display()))
}
