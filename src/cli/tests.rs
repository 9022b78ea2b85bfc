//! The command line's tests: the exec fast path agrees with clap; help and version output.

use super::*;
use std::ffi::OsString;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The fast path must parse exactly what clap parses, and leave everything else to clap.
#[test]
fn exec_fast_path_agrees_with_clap() {
    for (args, fast) in [
        (&["exec", "kubelet"][..], true),
        (&["--root", "/sandbox", "exec", "kube-kubelet"], true),
        (
            &[
                "--config",
                "/etc/x.env",
                "-v",
                "-v",
                "exec",
                "proxy",
                "--",
                "--v=2",
                "--x=a b",
            ],
            true,
        ),
        (&["-q", "exec", "apiserver", "--", "--", "-v"], true),
        (&["exec", "kubelet", "--", ""], true),
        (&["exec", "kubelet", "--help"], false),
        (&["exec", "kubelet", "extra"], false),
        (&["exec", "etcd"], false),
        (&["exec"], false),
        (&["--root=/x", "exec", "kubelet"], false),
        (&["-vq", "exec", "kubelet"], false),
        (&["fetch", "kubelet"], false),
        (&["exec", "--root", "/x", "kubelet"], false),
    ] {
        let parsed = Cli::parse_exec(&os(args), None);
        assert_eq!(parsed.is_some(), fast, "{args:?}");
        if let Some(cli) = parsed {
            let mut full = vec!["kube-bootstrap"];
            full.extend(args);
            let clap = Cli::try_parse_from(&full).unwrap();
            assert_eq!(format!("{cli:?}"), format!("{clap:?}"), "{args:?}");
        }
    }
}

#[test]
fn exec_fast_path_takes_the_root_from_the_environment() {
    let cli = Cli::parse_exec(
        &os(&["exec", "kubelet"]),
        Some(std::ffi::OsStr::new("/env-root")),
    )
    .unwrap();
    assert_eq!(cli.root, PathBuf::from("/env-root"));
    let cli = Cli::parse_exec(
        &os(&["--root", "/cli", "exec", "kubelet"]),
        Some(std::ffi::OsStr::new("/env")),
    )
    .unwrap();
    assert_eq!(cli.root, PathBuf::from("/cli"));
}

#[test]
fn version_flags_print_what_the_version_subcommand_prints() {
    for flag in ["--version", "-V"] {
        let err = Cli::try_parse_from(["kube-bootstrap", flag]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion, "{flag}");
        assert_eq!(
            err.to_string(),
            format!("kube-bootstrap {}\n", version_line()),
            "{flag}"
        );
    }
    assert!(version_line().contains(crate::kube_version::DEFAULT));
}

#[test]
fn subcommand_help_lists_global_options_under_their_own_heading() {
    let err = Cli::try_parse_from(["kube-bootstrap", "fetch", "--help"]).unwrap_err();
    let help = err.to_string();
    let own = help.find("--kube-version").expect("fetch's own option");
    let heading = help.find("Global options:").expect("global heading");
    let root = help.find("--root").expect("global option");
    assert!(own < heading && heading < root, "{help}");
}
