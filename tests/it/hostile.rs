//! Hostile files on the node: links, FIFOs and stale records planted where `fetch` and `exec`
//! write or read. Nothing planted can make them write outside the root or run what was not
//! verified.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use crate::support::artifact::{self, SIZE, sha256_hex};
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, VERSION, kb};

const KUBELET: &str = "kubelet";

fn kubelet() -> Vec<u8> {
    artifact::elf(SIZE, 0x44)
}

fn serving(bytes: &[u8]) -> Mirror {
    let mirror = Mirror::start();
    mirror.publish(VERSION, KUBELET, bytes);
    mirror
}

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
    let mirror = serving(&bytes);
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
