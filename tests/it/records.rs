//! Install records offline: metadata-only changes are re-hashed and trusted, records belong
//! to the installed path, and a legacy per-binary record speaks only for the file it describes.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::VERSION;

const KUBELET: &str = "kubelet";

/// The status of doctor's `binary` check, with the mirrors unreachable.
fn doctor_binary_status(node: &crate::exec::Node) -> String {
    let out = node
        .kb()
        .mirrors(&[UNREACHABLE])
        .args(&["doctor", "--json", KUBELET])
        .run();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e})\n{out}"));
    let check = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "binary")
        .unwrap_or_else(|| panic!("no binary check\n{out}"));
    check["status"].as_str().unwrap().to_string()
}

/// A mirror nobody listens on: any request fails at once.
pub(crate) const UNREACHABLE: &str = "http://127.0.0.1:9/";

#[test]
fn metadata_only_changes_restart_offline_and_only_content_changes_are_refused() {
    use crate::exec::Node;
    use std::time::{Duration, SystemTime};

    let node = Node::new(VERSION, &[KUBELET]);
    // doctor probes the leader: keep it on loopback.
    node.write("etc/leader", "LEADER_ENDPOINT=127.0.0.1\n");
    let installed = node.sb.installed(KUBELET);
    let record = node.sb.record(KUBELET);
    let other = tempfile::tempdir().unwrap();
    let links = std::cell::Cell::new(0);
    let changes: [(&str, &dyn Fn()); 3] = [
        ("chmod to the same mode", &|| {
            fs::set_permissions(&installed, fs::Permissions::from_mode(0o755)).unwrap()
        }),
        ("touch", &|| {
            let f = fs::File::options().write(true).open(&installed).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(3600))
                .unwrap();
        }),
        ("an extra hard link", &|| {
            links.set(links.get() + 1);
            fs::hard_link(&installed, other.path().join(links.get().to_string())).unwrap()
        }),
    ];
    for (what, change) in changes {
        change();
        let output = exec_offline(&node);
        assert!(fake_ran(&node), "exec refused after {what}\n{output}");
        output.mentions("install record refreshed");
        let refreshed = fs::metadata(&record).unwrap().modified().unwrap();

        change();
        node.kb()
            .mirrors(&[UNREACHABLE])
            .fetch(&[KUBELET])
            .run()
            .success();
        assert!(
            fs::metadata(&record).unwrap().modified().unwrap() >= refreshed,
            "fetch did not refresh the record after {what}"
        );

        change();
        assert_eq!(doctor_binary_status(&node), "ok", "doctor after {what}");
    }

    // A real content change (same size) is refused by all three.
    let mut bytes = fs::read(&installed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::os::unix::fs::FileExt::write_at(
        &fs::File::options().write(true).open(&installed).unwrap(),
        &bytes[last..],
        last as u64,
    )
    .unwrap();
    exec_offline(&node)
        .failure(1)
        .mentions("changed since it was fetched");
    assert!(!fake_ran(&node), "a modified binary was executed");
    node.kb()
        .mirrors(&[UNREACHABLE])
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions("127.0.0.1:9");
    assert_eq!(doctor_binary_status(&node), "fail");
}

fn fake_ran(node: &crate::exec::Node) -> bool {
    node.record_file().exists()
}

/// `exec kubelet` with the mirrors unreachable; the fake leaves its record when it runs.
fn exec_offline(node: &crate::exec::Node) -> crate::support::cmd::Outcome {
    let _ = fs::remove_file(node.record_file());
    node.kb()
        .mirrors(&[UNREACHABLE])
        .env("FAKE_RECORD", node.record_file().display().to_string())
        .args(&["exec", KUBELET])
        .run()
}

#[test]
fn records_belong_to_the_installed_path_not_the_binary_name() {
    use crate::exec::Node;
    use crate::support::{PREV_VERSION, fake};

    let node = Node::new(VERSION, &[KUBELET]);
    let env_file = fs::read_to_string(node.sb.env_file(KUBELET)).unwrap();
    let mut other = fake::bytes();
    other.push(0x5a);
    node.mirror.publish(PREV_VERSION, KUBELET, &other);
    node.kb()
        .version(PREV_VERSION)
        .args(&["fetch", "--bin-dir", "/opt/other", KUBELET])
        .run()
        .success()
        .mentions("their environment file is left as it is");
    // The units' environment file still describes the binary they run.
    assert_eq!(
        fs::read_to_string(node.sb.env_file(KUBELET)).unwrap(),
        env_file
    );
    assert_eq!(
        fs::read(node.root().join("opt/other/kubelet")).unwrap(),
        other
    );
    let record = node.sb.read_record(KUBELET);
    assert_eq!(
        record["version"], VERSION,
        "record of /opt/bin/kubelet: {record}"
    );
    let others = node
        .root()
        .join("var/lib/kube-bootstrap/opt-other-kubelet.json");
    let others: serde_json::Value = serde_json::from_slice(&fs::read(&others).unwrap()).unwrap();
    assert_eq!(others["version"], PREV_VERSION, "{others}");

    // The untouched /opt/bin/kubelet still runs, offline.
    let out = exec_offline(&node);
    assert!(fake_ran(&node), "exec refused /opt/bin/kubelet\n{out}");
}

#[test]
fn a_legacy_record_is_used_only_for_the_file_it_describes() {
    use crate::exec::Node;

    let node = Node::new(VERSION, &[KUBELET]);
    // What a node upgraded from an older release has: the record under the binary's name.
    fs::rename(node.sb.record(KUBELET), node.sb.legacy_record(KUBELET)).unwrap();
    let out = exec_offline(&node);
    assert!(
        fake_ran(&node),
        "exec refused the binary its legacy record describes\n{out}"
    );
    assert!(
        node.sb.record(KUBELET).exists(),
        "the record was not moved to its per-path name"
    );

    // A legacy record describing another file (here: the binary before a copy) is not used.
    fs::remove_file(node.sb.record(KUBELET)).unwrap();
    let installed = node.sb.installed(KUBELET);
    let bytes = fs::read(&installed).unwrap();
    fs::remove_file(&installed).unwrap();
    fs::write(&installed, &bytes).unwrap();
    fs::set_permissions(&installed, fs::Permissions::from_mode(0o755)).unwrap();
    exec_offline(&node)
        .failure(1)
        .mentions("install record is missing");
    assert!(!fake_ran(&node));
}

#[test]
fn refusals_say_what_is_missing_what_was_wanted_and_where_it_came_from() {
    use crate::exec::Node;
    use crate::support::{PREV_VERSION, kb};

    let node = Node::new(VERSION, &[KUBELET]);
    fs::remove_file(node.sb.record(KUBELET)).unwrap();
    let out = exec_offline(&node);
    out.failure(1)
        .mentions("the binary is there but its install record is missing")
        .mentions("kube-bootstrap fetch");
    assert!(!out.stderr.contains("not installed yet"), "{out}");

    node.kb().fetch(&[KUBELET]).run().success();
    node.kb()
        .version(PREV_VERSION)
        .args(&["exec", KUBELET])
        .run()
        .failure(1)
        .mentions(&format!(
            "installed release is {VERSION} amd64, wanted {PREV_VERSION} amd64 (KUBE_VERSION from the environment)"
        ));

    let missing = node.root().join("no-such-root");
    let out = kb(&missing).args(&["exec", KUBELET]).run();
    out.failure(2)
        .mentions(&format!("root directory '{}'", missing.display()))
        .mentions("does not exist");
    assert!(!out.stderr.contains("network-environment"), "{out}");
}

#[test]
fn read_only_state_and_env_dirs_are_named_in_the_hint() {
    use std::process::Command;

    use crate::exec::Node;
    use crate::support::{running_as_root, shell_quote};

    if !running_as_root()
        || !Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: needs root and `unshare -m` for a read-only bind mount");
        return;
    }
    let node = Node::new(VERSION, &[KUBELET]);
    let read_only = |dir: &std::path::Path| {
        let d = shell_quote(dir.to_str().unwrap());
        format!("mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$@\"")
    };
    let state = node.root().join("var/lib/kube-bootstrap");
    // A fetch that must download takes its lock in the state directory.
    fs::remove_file(node.sb.installed(KUBELET)).unwrap();
    let out = node
        .kb()
        .wrapped(&["unshare", "-m", "sh", "-c", &read_only(&state), "sh"])
        .fetch(&[KUBELET])
        .run();
    out.failure(1).mentions(&format!(
        "hint: make the state directory '{}' writable",
        state.display()
    ));
    assert!(!out.stderr.contains("KUBE_BIN_DIR"), "{out}");

    node.kb().fetch(&[KUBELET]).run().success();
    let run = node.root().join("run/kube-bootstrap");
    fs::remove_file(node.sb.env_file(KUBELET)).unwrap();
    let out = node
        .kb()
        .wrapped(&["unshare", "-m", "sh", "-c", &read_only(&run), "sh"])
        .fetch(&[KUBELET])
        .run();
    out.failure(1)
        .mentions(&format!("hint: make '{}' writable", run.display()));
    assert!(!out.stderr.contains("KUBE_BIN_DIR"), "{out}");
}
