//! Each thing is said once: a warning `flags --explain` prints is not logged as well (issue 22,
//! item 4).

use std::fs;

use crate::support::{Sandbox, kb};

#[test]
fn flags_explain_prints_each_warning_once() {
    let sb = Sandbox::new();
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).unwrap();
    fs::write(etc.join("leader"), "LEADER_ENDPOINT=10.0.0.1\n").unwrap();
    fs::write(etc.join("network-environment"), "DEFAULT_IPV4=10.0.0.2\n").unwrap();
    for args in [
        &["flags", "kubelet", "--explain"][..],
        &["flags", "kubelet", "--json"][..],
        &["flags", "kubelet"][..],
    ] {
        let out = kb(sb.root()).version("v1.40.0").args(args).run();
        out.success();
        let all = format!("{}{}", out.stdout, out.stderr);
        let newer = all.matches("is newer than the newest release").count();
        assert_eq!(newer, 1, "{args:?}: the version warning\n{out}");
        // The kubelet's certificates are missing here: `--explain` marks them MISSING and
        // `--json` says `exists: false`, so only the plain argv warns about them on stderr.
        let warned = out.stderr.contains("file not found");
        assert_eq!(warned, args.len() == 2, "{args:?}: missing files\n{out}");
    }
}
