//! The node always keeps a release `exec` will run: a full state directory during an
//! upgrade, a full bin directory during a restore, a read-only `/run` or state directory on a
//! warm start, `KUBE_KEEP_RELEASES=0`, and a record that is there but unusable.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::exec::Node;
use crate::support::cmd::Outcome;
use crate::support::{VERSION, fake, running_as_root, shell_quote};

const KUBELET: &str = "kubelet";
const NEW: &str = "v1.36.5";

fn can_mount() -> bool {
    running_as_root()
        && Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

/// The new release's bytes: the fake with another trailing byte (FAKE_EXE_TAIL tells them apart).
fn new_bytes() -> Vec<u8> {
    let mut b = fake::bytes();
    b.push(0x42);
    b
}

/// Runs `fetch kubelet` at `version` in a private mount namespace where `dir` is a tiny tmpfs
/// holding a copy of it, filled up; then, still there, `exec kubelet` at `exec_version`, and
/// lists the partial files left in `dir` and the bin dir. Prints `FETCH=`, `EXEC=`, `TAIL=`.
fn in_full_dir(node: &Node, dir: &Path, version: &str, exec_version: &str) -> Outcome {
    let d = shell_quote(dir.to_str().unwrap());
    let bin = shell_quote(node.sb.bin_dir().to_str().unwrap());
    let tail = shell_quote(node.root().join("tail").to_str().unwrap());
    let script = format!(
        r#"set -e
tmp=$(mktemp -d); cp -a {d}/. "$tmp/"; mount -t tmpfs -o size=256k tmpfs {d}; cp -a "$tmp/." {d}/; rm -rf "$tmp"
dd if=/dev/zero of={d}/fill bs=4k count=1000 2>/dev/null || true
set +e
"$@"; echo "FETCH=$?" 1>&2
rm -f {tail}
FAKE_EXE_TAIL={tail} KUBE_VERSION={exec_version} "$1" --root "$3" exec kubelet; echo "EXEC=$?" 1>&2
echo "TAIL=$(cat {tail} 2>/dev/null)" 1>&2
find {d} {bin} -name '*.partial' | sed 's/^/LEFT:/' 1>&2
exit 0"#
    );
    node.kb()
        .version(version)
        .wrapped(&[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .fetch(&[KUBELET])
        .run()
}

fn tail_of(bytes: &[u8]) -> String {
    format!("TAIL={}", bytes.last().unwrap())
}

#[test]
fn an_upgrade_into_a_full_state_dir_leaves_the_previous_release_runnable_and_no_partial() {
    if !can_mount() {
        eprintln!("skipped: needs root and `unshare -m` for a tmpfs");
        return;
    }
    let node = Node::new(VERSION, &[KUBELET]);
    node.mirror.publish(NEW, KUBELET, &new_bytes());
    let state = node.root().join("var/lib/kube-bootstrap");
    let out = in_full_dir(&node, &state, NEW, VERSION);
    out.mentions("No space left on device");
    assert!(!out.stderr.contains("FETCH=0"), "{out}");
    assert!(
        out.stderr.contains("EXEC=0"),
        "the previous release does not run\n{out}"
    );
    out.mentions(&tail_of(&fake::bytes()));
    assert!(
        !out.stderr.contains("LEFT:"),
        "a partial file was left\n{out}"
    );
}

#[test]
fn restoring_a_kept_release_onto_a_full_disk_says_so_and_leaves_no_partial() {
    if !can_mount() {
        eprintln!("skipped: needs root and `unshare -m` for a tmpfs");
        return;
    }
    let node = Node::new(VERSION, &[KUBELET]);
    node.mirror.publish(NEW, KUBELET, &new_bytes());
    node.kb().version(NEW).fetch(&[KUBELET]).run().success();
    // VERSION is kept; going back copies it into the (full) bin dir.
    let out = in_full_dir(&node, &node.sb.bin_dir(), VERSION, NEW);
    out.mentions("No space left on device");
    out.mentions_ignoring_case("disk");
    assert!(!out.stderr.contains("FETCH=0"), "{out}");
    assert!(
        out.stderr.contains("EXEC=0"),
        "the installed release does not run\n{out}"
    );
    out.mentions(&tail_of(&new_bytes()));
    assert!(
        !out.stderr.contains("LEFT:"),
        "a partial file was left\n{out}"
    );
}

#[test]
fn a_warm_start_writes_nothing_so_a_read_only_run_or_state_dir_does_not_stop_it() {
    if !can_mount() {
        eprintln!("skipped: needs root and `unshare -m` for a read-only bind mount");
        return;
    }
    let node = Node::new(VERSION, &[KUBELET]);
    for dir in ["var/lib/kube-bootstrap", "run/kube-bootstrap"] {
        // A changed identity, same content: the record would be refreshed, best effort.
        let target = node.sb.installed(KUBELET);
        let bytes = fs::read(&target).unwrap();
        fs::remove_file(&target).unwrap();
        fs::write(&target, &bytes).unwrap();
        fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let d = shell_quote(node.root().join(dir).to_str().unwrap());
        let script = format!("mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$@\"");
        node.kb()
            .wrapped(&[
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
                "sh",
            ])
            .fetch(&[KUBELET])
            .run()
            .success();
    }
}

#[test]
fn keep_releases_zero_drops_the_copies_already_kept() {
    let node = Node::new(VERSION, &[KUBELET]);
    node.mirror.publish(NEW, KUBELET, &new_bytes());
    node.kb().version(NEW).fetch(&[KUBELET]).run().success();
    let store = node.root().join("var/lib/kube-bootstrap/releases/kubelet");
    assert!(fs::read_dir(&store).unwrap().count() > 0, "nothing kept");
    node.kb()
        .version(NEW)
        .env("KUBE_KEEP_RELEASES", "0")
        .fetch(&[KUBELET])
        .run()
        .success();
    assert_eq!(fs::read_dir(&store).unwrap().count(), 0, "copies left");
}

#[test]
fn an_unusable_record_is_named_as_such_not_as_missing() {
    let node = Node::new(VERSION, &[KUBELET]);
    let record = node.sb.record(KUBELET);
    fs::remove_file(&record).unwrap();
    fs::create_dir(&record).unwrap();
    let out = node.kb().args(&["exec", KUBELET]).run();
    out.failure(1)
        .mentions("is unusable")
        .mentions("not a regular file")
        .mentions("hint: the record, not the binary");
    assert!(!out.stderr.contains("missing"), "{out}");
    assert!(!out.stderr.contains("fetching again"), "{out}");
    // Out of file descriptors: the same words, never "missing".
    fs::remove_dir(&record).unwrap();
    fs::write(&record, "{}").unwrap();
    let out = node
        .kb()
        .args(&["exec", KUBELET])
        .wrapped(&["sh", "-c", "ulimit -n 4; exec \"$@\"", "sh"])
        .run();
    out.failure(1).mentions("Too many open files");
    assert!(!out.stderr.contains("missing"), "{out}");
}
