//! Mirrors that fail or lie: a resumed download is never blamed on the wrong mirror, and a
//! `206` is taken only for exactly the rest of the file.

use crate::support::artifact::{kubelet, kubelet_path, sha256_hex};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::{Sandbox, VERSION, kb};

const KUBELET: &str = "kubelet";

/// A mirror whose kubelet is `bytes` but whose side file names `good`'s digest.
fn mirror_serving(bytes: &[u8], good: &[u8]) -> Mirror {
    let mirror = Mirror::start();
    mirror.publish_with_side(VERSION, KUBELET, bytes, sha256_hex(good));
    mirror
}

/// The same length as the kubelet, different bytes after the ELF header.
fn corrupted(good: &[u8]) -> Vec<u8> {
    let mut bad = good.to_vec();
    for b in &mut bad[64..] {
        *b ^= 0x5a;
    }
    bad
}

#[test]
fn resumed_checksum_failure_restarts_from_zero_at_the_same_mirror() {
    const CUT: usize = 600_000;
    let sb = Sandbox::new();
    let good = kubelet();
    // Mirror 1 sends wrong bytes and drops the connection; mirror 2 is honest.
    let liar = mirror_serving(&corrupted(&good), &good);
    liar.push(&kubelet_path(), Behaviour::CutAfter(CUT));
    let honest = mirror_serving(&good, &good);

    let out = kb(sb.root())
        .mirrors(&[&liar.url(), &honest.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET])
        .run();
    out.success();

    sb.assert_installed(KUBELET, &good);
    sb.assert_no_partials(KUBELET);
    let gets = honest.gets(&kubelet_path());
    assert_eq!(gets.len(), 2, "requests to mirror 2: {gets:?}\n{out}");
    assert_eq!(
        gets[0].range.as_deref(),
        Some(format!("bytes={CUT}-").as_str())
    );
    assert_eq!(gets[1].range, None, "second attempt must start from zero");
    assert!(
        !out.stderr.contains("checksum mismatch"),
        "no mirror may be blamed for a checksum:\n{out}"
    );
}

#[test]
fn checksum_failure_blames_only_the_mirror_whose_bytes_failed() {
    const CUT: usize = 600_000;
    let sb = Sandbox::new();
    let good = kubelet();
    // Mirror 1 drops the connection after good bytes; mirror 2 serves a wrong file.
    let flaky = mirror_serving(&good, &good);
    flaky.push(&kubelet_path(), Behaviour::CutAfter(CUT));
    let liar = mirror_serving(&corrupted(&good), &good);

    let out = kb(sb.root())
        .mirrors(&[&flaky.url(), &liar.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET])
        .run();
    out.failure(1);
    let blamed: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("checksum mismatch"))
        .collect();
    assert!(
        !blamed.is_empty() && blamed.iter().all(|l| !l.contains(&flaky.url())),
        "only mirror 2 may be blamed for the checksum:\n{out}"
    );
    assert!(blamed.iter().any(|l| l.contains(&liar.url())), "{out}");
    let gets = liar.gets(&kubelet_path());
    assert_eq!(gets.len(), 2, "mirror 2 retried from zero: {gets:?}");
    assert_eq!(gets[1].range, None);
    sb.assert_no_partials(KUBELET);

    // The rerun starts from nothing and succeeds from the good mirror.
    kb(sb.root())
        .mirrors(&[&flaky.url(), &liar.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&[KUBELET])
        .run()
        .success();
    sb.assert_installed(KUBELET, &good);
    let gets = flaky.gets(&kubelet_path());
    assert_eq!(gets.last().and_then(|g| g.range.clone()), None, "{gets:?}");
}

#[test]
fn partial_content_shorter_than_the_rest_is_refused() {
    const CUT: usize = 500_000;
    let sb = Sandbox::new();
    let good = kubelet();
    let mirror = mirror_serving(&good, &good);
    mirror.push(&kubelet_path(), Behaviour::CutAfter(CUT));
    // A 206 that honestly labels a piece shorter than the rest of the file.
    let end = CUT + 99;
    mirror.push(
        &kubelet_path(),
        Behaviour::Range206 {
            content_range: format!("bytes {CUT}-{end}/{}", good.len()),
            body: good[CUT..=end].to_vec(),
        },
    );

    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "2")
        .fetch(&[KUBELET])
        .run();
    out.success();
    sb.assert_installed(KUBELET, &good);
    assert!(out.stderr.contains("Content-Range"), "{out}");
    assert!(!out.stderr.contains("checksum"), "{out}");
    let gets = mirror.gets(&kubelet_path());
    assert_eq!(gets.len(), 3, "{gets:?}");
    assert_eq!(gets[2].range, None, "{gets:?}");
}

#[test]
fn partial_content_with_inconsistent_total_is_refused() {
    const CUT: usize = 500_000;
    let sb = Sandbox::new();
    let good = kubelet();
    let mirror = mirror_serving(&good, &good);
    mirror.push(&kubelet_path(), Behaviour::CutAfter(CUT));
    // The right bytes, but a total that disagrees with the range's end.
    mirror.push(
        &kubelet_path(),
        Behaviour::Range206 {
            content_range: format!("bytes {CUT}-{}/{}", good.len() - 1, good.len() + 1),
            body: good[CUT..].to_vec(),
        },
    );
    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run();
    // Refused as a range error at this mirror, with its one retry spent on the refusal.
    out.failure(1).mentions("Content-Range");
    assert!(!out.stderr.contains("checksum mismatch"), "{out}");
}
