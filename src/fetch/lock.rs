//! Per-binary locks, so concurrent fetches of one binary download it once.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::Error;
use crate::fsutil::{self, io_err};

/// An exclusive `flock` on a lock file, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] Flock<File>);

/// Takes the lock at `path`, waiting for another holder until `deadline`.
pub fn acquire(
    path: &Path,
    deadline: Instant,
    binary: &'static str,
    deadline_secs: u64,
) -> Result<Lock, Error> {
    // The state directory: readable by all, as the units and doctor read records.
    fsutil::create_dir_mode(fsutil::parent(path), 0o755)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(io_err("open lock file", path))?;
    let mut waited = false;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                if waited {
                    tracing::info!(binary = %binary, "the other fetch finished");
                }
                return Ok(Lock(lock));
            }
            Err((f, Errno::EWOULDBLOCK)) => {
                file = f;
                if !waited {
                    tracing::info!(binary = %binary, lock = %path.display(), "another fetch of this binary is running, waiting for it");
                    waited = true;
                }
                if Instant::now() >= deadline {
                    return Err(Error::Deadline {
                        binary,
                        secs: deadline_secs,
                        var: crate::env_vars::KUBE_FETCH_DEADLINE,
                        doing: format!(
                            "it was waiting for another fetch of {binary} to release '{}'",
                            path.display()
                        ),
                        lock: Some(path.to_path_buf()),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err((_, errno)) => {
                return Err(io_err("lock", path)(errno.into()).into());
            }
        }
    }
}
