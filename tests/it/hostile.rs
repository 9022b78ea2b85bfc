//! Hostile files on the node: links, FIFOs and stale records planted where `fetch` and `exec`
//! write or read. Nothing planted can make them write outside the root or run what was not
//! verified.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use crate::records::UNREACHABLE;
use crate::support::artifact::{kubelet, sha256_hex};
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, kb};

const KUBELET: &str = "kubelet";

/// A file outside the sandbox root that a planted link points at.
fn precious(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, b"precious").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn assert_untouched(path: &Path) {
    assert_eq!(
        fs::read(path).unwrap(),
        b"precious",
        "{} was written",
        path.display()
    );
    let mode = fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "mode of {} was changed", path.display());
}

#[test]
fn symlinks_planted_at_the_partial_and_record_paths_are_never_followed() {
    let sb = Sandbox::new();
    let outside = tempfile::tempdir().unwrap();
    let bytes = kubelet();
    let sha = sha256_hex(&bytes);
    let mirror = Mirror::serving_kubelet(&bytes);
    fs::create_dir_all(sb.bin_dir()).unwrap();
    let partial_target = precious(outside.path(), "partial-target");
    symlink(&partial_target, sb.partial(KUBELET, &sha)).unwrap();
    let record = sb.record(KUBELET);
    fs::create_dir_all(record.parent().unwrap()).unwrap();
    let record_target = precious(outside.path(), "record-target");
    symlink(&record_target, &record).unwrap();

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET])
        .run()
        .success();

    assert_untouched(&partial_target);
    assert_untouched(&record_target);
    let installed = fs::symlink_metadata(sb.installed(KUBELET)).unwrap();
    assert!(
        installed.is_file(),
        "the installed binary is not a regular file"
    );
    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
    assert!(
        fs::symlink_metadata(&record).unwrap().is_file(),
        "the record is a link"
    );
    let json = sb.read_record(KUBELET);
    assert_eq!(json["identity"]["ino"], installed.ino(), "record: {json}");
}

#[test]
fn exec_runs_the_release_it_verified_while_fetches_swap_releases() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use crate::exec::Node;
    use crate::support::{PREV_VERSION, fake};

    let node = Node::new(VERSION, &[KUBELET]);
    let wanted = fake::bytes();
    let mut other = wanted.clone();
    other.push(wanted[wanted.len() - 1].wrapping_add(1));
    node.mirror.publish(PREV_VERSION, KUBELET, &other);
    let tail_of = |bytes: &[u8]| bytes[bytes.len() - 1].to_string();
    let (wanted_sha, other_sha) = (sha256_hex(&wanted), sha256_hex(&other));
    let tail_file = node.root().join("fake.tail");

    let stop = AtomicBool::new(false);
    let swaps = AtomicUsize::new(0);
    let (mut ran, mut refused) = (0, 0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for version in [PREV_VERSION, VERSION].into_iter().cycle() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                node.kb().version(version).fetch(&[KUBELET]).run().success();
                swaps.fetch_add(1, Ordering::SeqCst);
            }
        });
        // Stops the fetch loop even when an assertion below fails, so the scope can end.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let _stop = StopOnDrop(&stop);
        // Bounded in time (a loaded machine gets fewer rounds, not a longer test).
        let until = Instant::now() + Duration::from_secs(12);
        while Instant::now() < until && ran + refused < 300 {
            let _ = fs::remove_file(&tail_file);
            let out = node
                .kb()
                .env("FAKE_EXE_TAIL", tail_file.display().to_string())
                .args(&["exec", KUBELET])
                .run();
            let Ok(tail) = fs::read_to_string(&tail_file) else {
                out.failure(1).mentions("refusing to run");
                refused += 1;
                continue;
            };
            ran += 1;
            // exec wants VERSION: the only release it may verify, log and run is `wanted`.
            assert!(
                out.stderr.contains(&wanted_sha) && !out.stderr.contains(&other_sha),
                "exec did not log the sha256 of the release it wants\n{out}"
            );
            assert_eq!(
                tail.trim(),
                tail_of(&wanted),
                "exec verified and logged {wanted_sha} but ran the other release\n{out}"
            );
        }
    });
    assert!(ran > 0, "exec never ran ({refused} refusals)");
    assert!(
        swaps.load(Ordering::SeqCst) >= 2,
        "the releases were never swapped"
    );
    eprintln!(
        "{ran} runs, {refused} refusals, {} swaps",
        swaps.load(Ordering::SeqCst)
    );
}

#[test]
fn complete_partial_from_a_killed_run_is_installed_without_a_download() {
    use crate::support::artifact::artifact_path;

    let bytes = kubelet();
    let sha = sha256_hex(&bytes);
    // What a kill between fsync and rename leaves: the whole file, mode 0600, beside the target.
    let plant = |sb: &Sandbox| {
        fs::create_dir_all(sb.bin_dir()).unwrap();
        fs::write(sb.partial(KUBELET, &sha), &bytes).unwrap();
        fs::set_permissions(sb.partial(KUBELET, &sha), fs::Permissions::from_mode(0o600)).unwrap();
    };

    let sb = Sandbox::new();
    plant(&sb);
    let mirror = Mirror::serving_kubelet(&bytes);
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET])
        .run()
        .success()
        .mentions("complete, installing it without a download");
    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
    assert_eq!(
        mirror.gets(&artifact_path(VERSION, KUBELET)).len(),
        0,
        "downloaded again"
    );

    // Pinned: no mirror needs to answer at all.
    let sb = Sandbox::new();
    plant(&sb);
    kb(sb.root())
        .mirrors(&[UNREACHABLE])
        .env("KUBE_SHA256_KUBELET", &sha)
        .fetch(&[KUBELET])
        .run()
        .success();
    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn huge_duration_and_size_settings_never_panic() {
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    for (var, value) in [
        ("KUBE_FETCH_DEADLINE", "10000000000000000000"),
        ("KUBE_FETCH_DEADLINE", "18446744073709551615"),
        ("KUBE_FETCH_STALL_TIMEOUT", "18446744073709551615"),
        ("KUBE_MAX_DOWNLOAD_BYTES", "18446744073709551615"),
    ] {
        let sb = Sandbox::new();
        let out = kb(sb.root())
            .mirrors(&[&mirror.url()])
            .allow_http()
            .env(var, value)
            .fetch(&[KUBELET])
            .run();
        assert!(!out.stderr.contains("panicked"), "{var}={value}\n{out}");
        out.success();
        sb.assert_installed(KUBELET, &bytes);
    }
    // Beyond any whole number we hold: refused as a setting, naming the variable.
    for var in [
        "KUBE_FETCH_DEADLINE",
        "KUBE_FETCH_STALL_TIMEOUT",
        "KUBE_MAX_DOWNLOAD_BYTES",
        "KUBE_FETCH_RETRIES",
    ] {
        let sb = Sandbox::new();
        let out = kb(sb.root())
            .mirrors(&[&mirror.url()])
            .allow_http()
            .env(var, "99999999999999999999999")
            .fetch(&[KUBELET])
            .run();
        assert!(!out.stderr.contains("panicked"), "{var}\n{out}");
        out.failure(2).mentions(var);
    }
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

#[test]
fn fifos_at_a_file_mirror_or_a_partial_path_never_hang_fetch() {
    use crate::support::artifact::{artifact_path, side_path};
    use std::time::Duration;

    let bytes = kubelet();
    let sha = sha256_hex(&bytes);
    // A FIFO stands in for a hung NFS mount: opening or reading it blocks for ever.
    for fifo_at in ["artifact", "side file"] {
        let sb = Sandbox::new();
        let base = sb.root().join("srv/mirror");
        let artifact = base.join(artifact_path(VERSION, KUBELET).trim_start_matches('/'));
        let side = base.join(side_path(VERSION, KUBELET).trim_start_matches('/'));
        fs::create_dir_all(artifact.parent().unwrap()).unwrap();
        if fifo_at == "artifact" {
            mkfifo(&artifact);
            fs::write(&side, &sha).unwrap();
        } else {
            fs::write(&artifact, &bytes).unwrap();
            mkfifo(&side);
        }
        let out = kb(sb.root())
            .mirrors(&["file:///srv/mirror"])
            .env("KUBE_FETCH_DEADLINE", "20")
            .limit(Duration::from_secs(40))
            .fetch(&[KUBELET])
            .run();
        out.failure(1).mentions("not a regular file");
        assert!(
            out.elapsed < Duration::from_secs(20),
            "FIFO {fifo_at}: {out}"
        );
        assert!(!sb.installed(KUBELET).exists());
    }

    // A FIFO where the partial file goes is removed, and the download goes on.
    let sb = Sandbox::new();
    let mirror = Mirror::serving_kubelet(&bytes);
    fs::create_dir_all(sb.bin_dir()).unwrap();
    mkfifo(&sb.partial(KUBELET, &sha));
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_DEADLINE", "20")
        .limit(Duration::from_secs(40))
        .fetch(&[KUBELET])
        .run()
        .success();
    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn disk_full_removes_the_partial_and_says_how_much_was_needed() {
    use std::process::Command;

    use crate::support::{running_as_root, shell_quote};

    if !running_as_root()
        || !Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: needs root and `unshare -m` to mount a small tmpfs");
        return;
    }
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    fs::create_dir_all(sb.bin_dir()).unwrap();
    let dir = shell_quote(sb.bin_dir().to_str().unwrap());
    // A 256 KiB filesystem for a 2 MiB download; what is left in it is listed on stdout.
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs {dir} || exit 99; \"$@\"; rc=$?; ls -A {dir}; exit $rc"
    );
    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .wrapped(&["unshare", "-m", "sh", "-c", &script, "sh"])
        .fetch(&[KUBELET])
        .run();
    out.failure(1)
        .mentions("the disk is full")
        .mentions(sb.bin_dir().to_str().unwrap())
        .mentions(&format!("needs {} bytes", bytes.len()))
        .mentions("the filesystem there has 262144 bytes (256.0 KiB) free")
        .mentions("hint: free space on the filesystem of");
    assert!(
        !out.stdout.contains(".partial"),
        "partial left behind:\n{out}"
    );
    assert!(
        !out.stderr.contains("cannot fetch kubelet"),
        "blamed the mirror:\n{out}"
    );
}
