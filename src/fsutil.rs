//! File-system primitives that keep files whole: atomic writes and directory fsync.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file-system operation that failed: what was done, to which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} '{}'", path.display())]
pub struct Error {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Wraps an I/O error with the action and the path it concerns.
pub fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Creates a directory and its parents.
pub fn create_dir_all(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))
}

/// Creates a directory and its parents; a `dir` this call creates gets `mode` exactly, whatever
/// the caller's umask. One that exists is left as the operator made it (`pki check` judges the
/// pki directory's).
pub fn create_dir_mode(dir: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    if fs::symlink_metadata(dir).is_ok() {
        return create_dir_all(dir);
    }
    create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).map_err(io_err("chmod", dir))
}

/// Creates `dir` and the directories between `root` and it, refusing any that is a symbolic
/// link or not a directory: what is written below `root` stays below it, whatever was planted
/// inside. `root` itself may be a link (the operator's choice).
pub fn create_dirs_within(root: &Path, dir: &Path) -> Result<(), Error> {
    create_dir_all(root)?;
    let Ok(inside) = dir.strip_prefix(root) else {
        return Err(Error {
            action: "write outside the directory given, to",
            path: dir.to_path_buf(),
            source: io::ErrorKind::InvalidInput.into(),
        });
    };
    let mut at = root.to_path_buf();
    for part in inside.components() {
        at.push(part);
        match fs::create_dir(&at) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err("create directory", &at)(e)),
        }
        let meta = fs::symlink_metadata(&at).map_err(io_err("stat", &at))?;
        if !meta.is_dir() {
            return Err(Error {
                action: "write through",
                path: at,
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a symbolic link or not a directory: nothing is written outside the directory given",
                ),
            });
        }
    }
    Ok(())
}

/// fsyncs a directory so that a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// The parent directory of `path` (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `contents` to `path` so that readers see either the old file or the whole new one:
/// a new temporary file in the same directory (never an existing file or a link someone planted
/// there), fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    stage(path, contents, mode)?.commit()
}

/// A whole new file written and fsynced beside `path` but not yet renamed over it: the step
/// that needs disk space is done, what is left ([`Staged::commit`]) only renames. Dropped
/// without a commit, the temporary file is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    /// Renames the staged file over its path and fsyncs the directory.
    pub fn commit(mut self) -> Result<(), Error> {
        fs::rename(&self.tmp, &self.path).map_err(io_err("rename into place", &self.path))?;
        self.committed = true;
        sync_dir(parent(&self.path))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The first half of [`write_atomic`]: `contents` in a new temporary file beside `path`,
/// with `mode`, fsynced.
pub fn stage(path: &Path, contents: &[u8], mode: u32) -> Result<Staged, Error> {
    stage_via(path, contents, mode, temp_names(path))
}

#[cfg(test)]
fn write_atomic_via(
    path: &Path,
    contents: &[u8],
    mode: u32,
    names: impl Iterator<Item = PathBuf>,
) -> Result<(), Error> {
    stage_via(path, contents, mode, names)?.commit()
}

/// [`stage`] with the candidate temporary names given (tests plant files at them).
fn stage_via(
    path: &Path,
    contents: &[u8],
    mode: u32,
    mut names: impl Iterator<Item = PathBuf>,
) -> Result<Staged, Error> {
    let dir = parent(path);
    create_dir_all(dir)?;
    let (tmp, mut f) = loop {
        // `temp_names` never ends; a finite list in tests ends in an error.
        let Some(tmp) = names.next() else {
            return Err(Error {
                action: "create a temporary file for",
                path: path.to_path_buf(),
                source: io::ErrorKind::AlreadyExists.into(),
            });
        };
        match create_new(&tmp, mode) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(Error {
                    action: "create",
                    path: tmp,
                    source,
                });
            }
        }
    };
    // Removed on every error below, and on drop unless committed.
    let staged = Staged {
        tmp,
        path: path.to_path_buf(),
        committed: false,
    };
    let tmp = &staged.tmp;
    f.write_all(contents).map_err(io_err("write", tmp))?;
    // The umask may have narrowed the mode given to open().
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("set permissions on", tmp))?;
    f.sync_all().map_err(io_err("fsync", tmp))?;
    Ok(staged)
}

/// Creates a file that did not exist: `O_EXCL` and `O_NOFOLLOW`, so neither a file nor a
/// symlink planted at `path` is ever opened (a dangling link counts as existing).
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
}

/// Writes the file only when its content differs, so unchanged files keep their identity and
/// the warm path does no fsync. Returns whether it wrote.
pub fn write_if_changed(path: &Path, contents: &[u8], mode: u32) -> Result<bool, Error> {
    match stage_if_changed(path, contents, mode)? {
        Some(staged) => staged.commit().map(|()| true),
        None => Ok(false),
    }
}

/// [`stage`] only when the file's content or mode differ: `None` when it is as wanted.
/// Several files staged first and committed after change together or not at all on a
/// full disk (every commit is a rename).
pub fn stage_if_changed(path: &Path, contents: &[u8], mode: u32) -> Result<Option<Staged>, Error> {
    // Bounded and non-blocking: a FIFO or a huge file planted at `path` is simply replaced.
    match read_bounded(path, contents.len() as u64) {
        Ok(existing) if existing == contents => {
            let current = fs::symlink_metadata(path)
                .map_err(io_err("stat", path))?
                .permissions()
                .mode()
                & 0o7777;
            if current == mode {
                return Ok(None);
            }
        }
        Ok(_) | Err(BoundedReadError::NotRegular | BoundedReadError::TooLarge) => {}
        Err(BoundedReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
        Err(BoundedReadError::Io(source)) => {
            return Err(Error {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    }
    stage(path, contents, mode).map(Some)
}

/// Why [`read_bounded`] read nothing.
#[derive(Debug, thiserror::Error)]
pub enum BoundedReadError {
    #[error(transparent)]
    Io(io::Error),
    /// A FIFO, device or directory: reading it could block or never end.
    #[error("not a regular file")]
    NotRegular,
    /// Larger than the limit.
    #[error("larger than expected")]
    TooLarge,
}

/// Reads a regular file of at most `max` bytes. Opened non-blocking, so a FIFO planted at
/// `path` is refused instead of hanging, and a link to `/dev/zero` is refused instead of read
/// until memory runs out.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, BoundedReadError> {
    use std::io::Read;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(BoundedReadError::Io)?;
    let meta = file.metadata().map_err(BoundedReadError::Io)?;
    if !meta.is_file() {
        return Err(BoundedReadError::NotRegular);
    }
    if meta.len() > max {
        return Err(BoundedReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: never take more than the limit.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(BoundedReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(bytes)
}

/// [`read_bounded`] on a thread of its own, given up after `within`: a file on a hung mount
/// blocks that thread (left to die with the process), never the caller past its deadline.
pub fn read_bounded_within(
    path: &Path,
    max: u64,
    within: std::time::Duration,
) -> Result<Vec<u8>, BoundedReadError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || drop(tx.send(read_bounded(&owned, max))));
    rx.recv_timeout(within)
        .unwrap_or_else(|_| Err(BoundedReadError::Io(io::ErrorKind::TimedOut.into())))
}

/// What is wrong with a file a program is about to be pointed at, found without blocking: it is
/// opened non-blocking (a FIFO must not wait for a writer) and never read. `None` when it is a
/// regular file this process can open for reading.
pub fn unusable_file(path: &Path) -> Option<String> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path);
    match opened.and_then(|f| f.metadata()) {
        Ok(m) if m.is_file() => None,
        Ok(_) => Some("not a regular file".into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some("missing".into()),
        Err(e) => Some(format!("cannot be opened: {e}")),
    }
}

/// Unpredictable temporary names beside `path`: `.<name>.<random>.tmp`, without end.
fn temp_names(path: &Path) -> impl Iterator<Item = PathBuf> {
    use rand_core::RngCore;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = parent(path).to_path_buf();
    std::iter::repeat_with(move || {
        dir.join(format!(".{name}.{:016x}.tmp", rand_core::OsRng.next_u64()))
    })
}

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn print(text: &str) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error {
            action: "write to",
            path: "standard output".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_whole_file_with_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.env");
        write_atomic(&path, b"A=1\n", 0o644).unwrap();
        write_atomic(&path, b"A=2\n", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"A=2\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
    }

    #[test]
    fn write_atomic_never_follows_a_link_planted_at_its_temp_name() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"precious").unwrap();
        let path = dir.path().join("sub/kubelet.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let planted = path.with_file_name(".kubelet.json.planted.tmp");
        std::os::unix::fs::symlink(&outside, &planted).unwrap();
        let fresh = path.with_file_name(".kubelet.json.fresh.tmp");

        write_atomic_via(&path, b"{}", 0o644, [planted.clone(), fresh].into_iter()).unwrap();

        assert_eq!(fs::read(&outside).unwrap(), b"precious");
        assert!(fs::symlink_metadata(&planted).unwrap().is_symlink());
        let installed = fs::symlink_metadata(&path).unwrap();
        assert!(installed.is_file(), "installed a link");
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        // Only planted names and nothing else: the write fails, the target stays untouched.
        let err = write_atomic_via(&outside, b"x", 0o644, [planted].into_iter()).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&outside).unwrap(), b"precious");
    }

    #[test]
    fn unusable_file_refuses_fifos_and_devices_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ca.crt");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // No writer ever opens the FIFO: a blocking open would hang this test.
        assert_eq!(unusable_file(&fifo).as_deref(), Some("not a regular file"));
        assert_eq!(
            unusable_file(Path::new("/dev/zero")).as_deref(),
            Some("not a regular file")
        );
        assert_eq!(
            unusable_file(&dir.path().join("nope")).as_deref(),
            Some("missing")
        );
        let file = dir.path().join("ok");
        fs::write(&file, b"x").unwrap();
        assert_eq!(unusable_file(&file), None);
    }

    #[test]
    fn a_staged_file_is_invisible_until_committed_and_gone_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        fs::write(&path, b"old").unwrap();
        let staged = stage(&path, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"old");
        drop(staged);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left"
        );
        assert_eq!(fs::read(&path).unwrap(), b"old");
        stage(&path, b"new", 0o644).unwrap().commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left"
        );
    }

    #[test]
    fn create_dir_mode_sets_the_mode_it_creates_with() {
        let tmp = tempfile::tempdir().unwrap();
        for mode in [0o700, 0o755, 0o711] {
            let dir = tmp.path().join(format!("d{mode:o}"));
            create_dir_mode(&dir, mode).unwrap();
            assert_eq!(
                fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
                mode
            );
        }
    }

    #[test]
    fn create_dirs_within_refuses_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("mirror"), dir.path().join("outside"));
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&outside).unwrap();
        create_dirs_within(&root, &root.join("v1/bin/linux")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("v2")).unwrap();
        let err = create_dirs_within(&root, &root.join("v2/bin/linux")).unwrap_err();
        assert_eq!(err.path, root.join("v2"));
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "wrote outside");
    }

    #[test]
    fn write_if_changed_keeps_identical_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(write_if_changed(&path, b"x", 0o644).unwrap());
        assert!(!write_if_changed(&path, b"x", 0o644).unwrap());
        assert!(write_if_changed(&path, b"y", 0o644).unwrap());
    }
}
