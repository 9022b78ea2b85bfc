//! What `fetch` says when mirrors fail: each failure once, with what happened and why, and
//! warnings that `-q` hides.

use std::fs::{self, File};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use crate::support::artifact::{self, SIZE, artifact_path, sha256_hex, side_path};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::{Sandbox, VERSION, kb};

const KUBELET: &str = "kubelet";

#[test]
fn redirect_to_a_file_url_is_refused_saying_why() {
    let sb = Sandbox::new();
    let mirror = Mirror::serving_kubelet(&artifact::elf(SIZE, 0x44));
    mirror.push(
        &side_path(VERSION, KUBELET),
        Behaviour::Redirect("file:///etc/shadow".into()),
    );
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions("refused the redirect (HTTP 302)")
        .mentions("'file:///etc/shadow'")
        .mentions("only to http and https URLs, not file");
}

#[test]
fn deadline_error_names_the_last_failure() {
    let sb = Sandbox::new();
    let mirror = Mirror::serving_kubelet(&artifact::elf(SIZE, 0x44));
    for _ in 0..100 {
        mirror.push(&side_path(VERSION, KUBELET), Behaviour::Status(503));
    }
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "100")
        .env("KUBE_FETCH_DEADLINE", "2")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions("did not finish within 2s (KUBE_FETCH_DEADLINE); the last failure: HTTP 503 from")
        .mentions(&mirror.side_url(VERSION, KUBELET));
}

#[test]
fn deadline_error_says_it_was_waiting_for_another_fetch() {
    let sb = Sandbox::new();
    let state = sb.root().join("var/lib/kube-bootstrap");
    fs::create_dir_all(&state).expect("mkdir state");
    // The lock of /opt/bin/kubelet, named after the installed path like its record.
    let lock = File::create(state.join("opt-bin-kubelet.lock")).expect("create lock file");
    let _held = Flock::lock(lock, FlockArg::LockExclusive).expect("hold the lock");
    kb(sb.root())
        .mirrors(&["http://127.0.0.1:9"])
        .allow_http()
        .env("KUBE_FETCH_DEADLINE", "1")
        .limit(Duration::from_secs(30))
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions("it was waiting for another fetch of kubelet to release")
        .mentions("opt-bin-kubelet.lock")
        .mentions("hint: another fetch of this binary held");
}

#[test]
fn mirror_failure_is_reported_once() {
    let sb = Sandbox::new();
    let empty = Mirror::start();
    let also_empty = Mirror::start();
    let out = kb(sb.root())
        .mirrors(&[&empty.url(), &also_empty.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET])
        .run();
    out.failure(1);
    for mirror in [&empty, &also_empty] {
        let side = mirror.side_url(VERSION, KUBELET);
        assert_eq!(
            out.stderr.matches(&side).count(),
            1,
            "{side} reported more than once\n{out}"
        );
    }

    // When a later mirror serves, the earlier failure is a warning, once; -q hides it.
    let bytes = artifact::elf(SIZE, 0x44);
    let good = Mirror::serving_kubelet(&bytes);
    let fetch = kb(sb.root())
        .mirrors(&[&empty.url(), &good.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET]);
    let out = fetch.run();
    out.success();
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("mirror"))
        .collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(warnings[0].contains(&empty.url()), "{out}");
    fs::remove_file(sb.installed(KUBELET)).expect("remove the binary");
    let quiet = fetch.args(&["-q"]).run();
    quiet.success();
    assert!(!quiet.stderr.contains("WARN"), "-q shows warnings\n{quiet}");
}

#[test]
fn uppercase_digest_in_side_file_is_accepted() {
    let sb = Sandbox::new();
    let bytes = artifact::elf(SIZE, 0x44);
    let mirror = Mirror::start();
    mirror.publish_with_side(
        VERSION,
        KUBELET,
        &bytes,
        format!("{}  kubelet\n", sha256_hex(&bytes).to_uppercase()),
    );
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET])
        .run()
        .success();
    sb.assert_installed(KUBELET, &bytes);
    assert_eq!(mirror.gets(&artifact_path(VERSION, KUBELET)).len(), 1);
}

/// On a terminal the bar shows the total size, the rate and an ETA; the log gets one summary
/// line per download with the bytes, the duration, the rate and the mirror (issue 22, item 5).
#[test]
fn progress_on_a_terminal_shows_total_rate_and_eta_and_the_summary_says_it_all() {
    let sb = Sandbox::new();
    let mirror = Mirror::serving_kubelet(&artifact::elf(SIZE, 0x44));
    // 32 chunks 40 ms apart: over a second, so the bar is drawn many times.
    mirror.push(
        &artifact_path(VERSION, KUBELET),
        Behaviour::Slow {
            chunk: 64 * 1024,
            every: Duration::from_millis(40),
        },
    );
    let inner = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET])
        .command();
    // script(1) gives the child a pseudo-terminal as stderr, as an operator's shell does.
    let line = std::iter::once(inner.get_program())
        .chain(inner.get_args())
        .map(|a| crate::support::shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qfec", &line, "/dev/null"]).env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("TERM", "dumb");
    let out = crate::support::cmd::spawn_bounded(cmd, "script", Duration::from_secs(30)).wait();
    assert_eq!(out.code(), Some(0), "{out}");
    let screen = out.stdout.replace('\r', "\n");
    let bar = screen
        .lines()
        .find(|l| l.contains("ETA ") && l.contains(" / 2.0 MiB, "))
        .unwrap_or_else(|| panic!("no bar with total, rate and ETA\n{screen}"));
    assert!(
        bar.contains("kubelet [") && bar.contains("/s, ETA "),
        "{bar}"
    );
    let summary: Vec<_> = screen
        .lines()
        .filter(|l| l.contains("downloaded and verified"))
        .collect();
    assert_eq!(summary.len(), 1, "{screen}");
    assert!(
        summary[0].contains("downloaded and verified 2.0 MiB in ")
            && summary[0].contains("/s) from ")
            && summary[0].contains(&mirror.url()),
        "{}",
        summary[0]
    );
}
