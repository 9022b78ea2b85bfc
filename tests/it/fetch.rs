//! `kube-bootstrap fetch`: install, verification, retries, resumption and failure safety.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use crate::support::artifact::{
    self, SIZE, artifact_path, kubelet, kubelet_path, sha256_hex, side_path,
};
use crate::support::mirror::{Behaviour, Mirror};
use crate::support::{
    ARCH, Sandbox, VERSION, install_previous, kb, running_as_root, shell_quote, wait_until,
};

const KUBELET: &str = "kubelet";

/// The v1.36.4 kubelet artifact served by the test mirrors.

#[test]
fn fetch_installs_binary_record_and_env_file() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let sha = sha256_hex(&bytes);
    let mirror = Mirror::serving_kubelet(&bytes);

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
    assert_eq!(mirror.gets(&kubelet_path()).len(), 1);

    let url = mirror.artifact_url(VERSION, KUBELET);
    let record = sb.read_record(KUBELET);
    assert_eq!(record["version"], VERSION, "record: {record}");
    assert_eq!(record["arch"], ARCH, "record: {record}");
    assert_eq!(record["url"], url.as_str(), "record: {record}");
    assert_eq!(record["sha256"], sha.as_str(), "record: {record}");
    assert_eq!(record["size"], bytes.len(), "record: {record}");
    assert!(
        !record["identity"].is_null(),
        "record lacks identity: {record}"
    );

    let env = fs::read_to_string(sb.env_file(KUBELET)).expect("env file");
    let installed = sb.installed(KUBELET);
    for line in [
        format!("KUBE_VERSION=\"{VERSION}\""),
        format!("KUBE_ARCH=\"{ARCH}\""),
        format!("KUBE_BINARY=\"{}\"", installed.display()),
        format!("KUBE_SHA256=\"{sha}\""),
        format!("KUBE_SOURCE=\"{url}\""),
    ] {
        assert!(
            env.lines().any(|l| l == line),
            "env file lacks line {line}:\n{env}"
        );
    }
}

#[test]
fn warm_run_makes_no_network_request() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);
    fetch.run().success();
    mirror.clear_requests();

    fetch.run().success();

    assert_eq!(mirror.requests(), vec![], "warm run hit the network");
    sb.assert_installed(KUBELET, &bytes);
}

#[test]
fn pinned_checksum_mismatch_fails_and_keeps_previous() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let pin = sha256_hex(b"definitely not the kubelet");

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .env("KUBE_SHA256_KUBELET", &pin)
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions(&mirror.artifact_url(VERSION, KUBELET))
        .mentions(&pin)
        .mentions(&sha256_hex(&bytes));

    previous.assert_intact(&sb);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn side_file_checksum_mismatch_fails_and_keeps_previous() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let bytes = kubelet();
    let claimed = sha256_hex(b"some other build");
    let mirror = Mirror::start();
    mirror.publish_with_side(VERSION, KUBELET, &bytes, claimed.clone());

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions(&mirror.artifact_url(VERSION, KUBELET))
        .mentions(&claimed)
        .mentions(&sha256_hex(&bytes));

    previous.assert_intact(&sb);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn html_page_served_for_binary_is_a_checksum_mismatch() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let page = artifact::html_page();
    for _ in 0..10 {
        mirror.push(&kubelet_path(), Behaviour::Body(page.clone()));
    }

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions(&mirror.artifact_url(VERSION, KUBELET))
        .mentions(&sha256_hex(&bytes))
        .mentions(&sha256_hex(&page));

    previous.assert_intact(&sb);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn html_side_file_is_an_invalid_checksum_file() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::start();
    mirror.publish_with_side(VERSION, KUBELET, &kubelet(), artifact::html_page());

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions("invalid checksum file")
        .mentions(&mirror.side_url(VERSION, KUBELET));

    previous.assert_intact(&sb);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn side_file_with_file_name_is_accepted() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::start();
    let side = format!("{}  {KUBELET}\n", sha256_hex(&bytes));
    mirror.publish_with_side(VERSION, KUBELET, &bytes, side);

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
}

#[test]
fn not_found_on_first_mirror_falls_through_to_second() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let first = Mirror::serving_kubelet(&bytes);
    first.push(&kubelet_path(), Behaviour::Status(404));
    let second = Mirror::serving_kubelet(&bytes);

    kb(sb.root())
        .mirrors(&[&first.url(), &second.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "3")
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    assert_eq!(
        first.gets(&kubelet_path()).len(),
        1,
        "a 404 must not be retried on the same mirror: {:?}",
        first.requests()
    );
    assert_eq!(second.gets(&kubelet_path()).len(), 1);
    let record = sb.read_record(KUBELET);
    assert_eq!(
        record["url"],
        second.artifact_url(VERSION, KUBELET).as_str(),
        "record: {record}"
    );
}

#[test]
fn service_unavailable_is_retried_then_succeeds() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    mirror.push(&kubelet_path(), Behaviour::Status(503));
    mirror.push(&kubelet_path(), Behaviour::Status(503));

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "3")
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    assert_eq!(mirror.gets(&kubelet_path()).len(), 3);
}

#[test]
fn exhausted_retries_fail_and_keep_previous() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::serving_kubelet(&kubelet());
    for _ in 0..10 {
        mirror.push(&kubelet_path(), Behaviour::Status(503));
    }

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "2")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions(&mirror.artifact_url(VERSION, KUBELET));

    let attempts = mirror.gets(&kubelet_path()).len();
    assert!(
        (2..=3).contains(&attempts),
        "KUBE_FETCH_RETRIES=2 but {attempts} attempts were made"
    );
    previous.assert_intact(&sb);
}

#[test]
fn cut_connection_resumes_with_range_request() {
    const CUT: usize = 700_001;
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    mirror.push(&kubelet_path(), Behaviour::CutAfter(CUT));

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "3")
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
    let gets = mirror.gets(&kubelet_path());
    assert_eq!(gets.len(), 2, "requests: {gets:?}");
    assert_eq!(gets[0].range, None, "requests: {gets:?}");
    assert_eq!(
        gets[1].range.as_deref(),
        Some(format!("bytes={CUT}-").as_str()),
        "requests: {gets:?}"
    );
}

#[test]
fn range_ignored_by_server_restarts_from_zero() {
    const CUT: usize = 500_000;
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    mirror.push(&kubelet_path(), Behaviour::CutAfter(CUT));
    mirror.push(&kubelet_path(), Behaviour::IgnoreRange);

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "3")
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
    let gets = mirror.gets(&kubelet_path());
    assert!(gets.len() >= 2, "requests: {gets:?}");
    assert_eq!(
        gets[1].range.as_deref(),
        Some(format!("bytes={CUT}-").as_str()),
        "requests: {gets:?}"
    );
}

#[test]
fn stalled_transfer_is_abandoned_within_stall_timeout() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    mirror.push(
        &kubelet_path(),
        Behaviour::Stall {
            after: 300_000,
            sleep: Duration::from_secs(60),
        },
    );

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_STALL_TIMEOUT", "1")
        .env("KUBE_FETCH_RETRIES", "3")
        .limit(Duration::from_secs(30))
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    assert!(mirror.gets(&kubelet_path()).len() >= 2);
}

#[test]
fn plain_http_mirror_without_pin_is_refused_before_download() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::serving_kubelet(&kubelet());

    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .fetch(&[KUBELET])
        .run();

    assert!(
        matches!(out.code(), Some(1 | 2)),
        "expected a failure exit code\n{out}"
    );
    out.reports_error().mentions_ignoring_case("http");
    assert_eq!(
        mirror.hits(&kubelet_path()),
        0,
        "the binary was requested: {:?}",
        mirror.requests()
    );
    previous.assert_intact(&sb);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn plain_http_mirror_with_pin_is_accepted() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .env("KUBE_SHA256_KUBELET", sha256_hex(&bytes))
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
}

#[test]
fn pin_variable_of_dashed_binary_name_is_honoured() {
    let sb = Sandbox::new();
    let bytes = artifact::elf(SIZE / 2, 0x55);
    let mirror = Mirror::start();
    mirror.publish(VERSION, "kube-apiserver", &bytes);

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .env("KUBE_SHA256_KUBE_APISERVER", sha256_hex(&bytes))
        .fetch(&["apiserver"])
        .run()
        .success();

    sb.assert_installed("kube-apiserver", &bytes);
}

#[test]
fn html_body_with_matching_side_file_is_refused_as_not_elf() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::serving_kubelet(&artifact::html_page());

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions_ignoring_case("elf");

    previous.assert_intact(&sb);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn concurrent_fetches_download_once() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    // 32 chunks 40 ms apart: the download lasts over a second, so all four overlap.
    mirror.push(
        &kubelet_path(),
        Behaviour::Slow {
            chunk: 64 * 1024,
            every: Duration::from_millis(40),
        },
    );
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);

    let running: Vec<_> = (0..4).map(|_| fetch.spawn()).collect();
    for run in running {
        run.wait().success();
    }

    assert_eq!(
        mirror.gets(&kubelet_path()).len(),
        1,
        "requests: {:?}",
        mirror.requests()
    );
    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn killed_download_keeps_previous_and_rerun_succeeds() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let bytes = kubelet();
    let sha = sha256_hex(&bytes);
    let mirror = Mirror::serving_kubelet(&bytes);
    // 128 chunks 20 ms apart: about 2.5 s, ample time to kill it midway.
    mirror.push(
        &kubelet_path(),
        Behaviour::Slow {
            chunk: 16 * 1024,
            every: Duration::from_millis(20),
        },
    );
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);

    let running = fetch.spawn();
    let partial = sb.partial(KUBELET, &sha);
    wait_until(Duration::from_secs(15), "a partial download", || {
        fs::metadata(&partial).is_ok_and(|m| m.len() > 0)
    });
    let killed = running.kill();
    assert_eq!(killed.code(), None, "expected death by SIGKILL\n{killed}");

    previous.assert_intact(&sb);

    fetch.run().success();
    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn read_only_bin_dir_error_names_the_directory() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::serving_kubelet(&kubelet());
    let bin_dir = sb.bin_dir();
    let dir = bin_dir.to_str().expect("utf-8 sandbox path");
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);

    let out = if running_as_root() {
        // Root ignores permission bits: make the directory read-only with a
        // bind mount in a private mount namespace instead.
        let unshare_works = Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success());
        if !unshare_works {
            eprintln!("skipped: `unshare -m` is not available to make {dir} read-only");
            return;
        }
        let d = shell_quote(dir);
        let script = format!("mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec \"$@\"");
        fetch
            .wrapped(&["unshare", "-m", "sh", "-c", &script, "sh"])
            .run()
    } else {
        fs::set_permissions(&bin_dir, fs::Permissions::from_mode(0o555)).expect("chmod 0555");
        let out = fetch.run();
        fs::set_permissions(&bin_dir, fs::Permissions::from_mode(0o755)).expect("chmod 0755");
        out
    };

    out.failure(1).mentions(dir);
    previous.assert_intact(&sb);
}

#[test]
fn full_verification_refetches_binary_modified_in_place() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);
    fetch.run().success();

    // Same inode, same size, same mtime: only the content betrays the change.
    let path = sb.installed(KUBELET);
    let mtime = fs::metadata(&path)
        .expect("stat")
        .modified()
        .expect("mtime");
    {
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open installed");
        file.seek(SeekFrom::Start(SIZE as u64 / 2)).expect("seek");
        file.write_all(b"tampered").expect("tamper");
        file.set_modified(mtime).expect("restore mtime");
    }
    assert_eq!(fs::metadata(&path).expect("stat").len(), SIZE as u64);
    mirror.clear_requests();

    fetch.env("KUBE_VERIFY", "full").run().success();

    sb.assert_installed(KUBELET, &bytes);
    assert_eq!(mirror.gets(&kubelet_path()).len(), 1);
}

#[test]
fn stamp_verification_refetches_when_identity_changes() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);
    fetch.run().success();

    // Rewrite the file as a new inode of the same size.
    let path = sb.installed(KUBELET);
    let replacement = sb.bin_dir().join("replacement");
    let mut tampered = bytes.clone();
    tampered[SIZE / 2] ^= 0xff;
    {
        let mut file = File::create(&replacement).expect("create replacement");
        file.write_all(&tampered).expect("write replacement");
    }
    fs::set_permissions(&replacement, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::rename(&replacement, &path).expect("replace installed binary");
    mirror.clear_requests();

    fetch.run().success();

    sb.assert_installed(KUBELET, &bytes);
    assert_eq!(mirror.gets(&kubelet_path()).len(), 1);
}

#[test]
fn missing_binary_is_refetched() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let fetch = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[KUBELET]);
    fetch.run().success();
    fs::remove_file(sb.installed(KUBELET)).expect("remove installed binary");
    mirror.clear_requests();

    fetch.run().success();

    sb.assert_installed(KUBELET, &bytes);
    assert_eq!(mirror.gets(&kubelet_path()).len(), 1);
}

#[test]
fn invalid_version_is_a_usage_error() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::serving_kubelet(&kubelet());

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .version("1.36")
        .fetch(&[KUBELET])
        .run()
        .failure(2)
        .mentions("KUBE_VERSION");

    assert_eq!(mirror.requests(), vec![], "no request may be made");
    previous.assert_intact(&sb);
}

#[test]
fn download_above_size_limit_is_refused() {
    let sb = Sandbox::new();
    let previous = install_previous(&sb, KUBELET);
    let mirror = Mirror::serving_kubelet(&kubelet());
    let limit = SIZE / 2;

    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_MAX_DOWNLOAD_BYTES", limit.to_string())
        .env("KUBE_FETCH_RETRIES", "1")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions(&mirror.artifact_url(VERSION, KUBELET));

    previous.assert_intact(&sb);
    for partial in sb.partials(KUBELET) {
        let len = fs::metadata(&partial).expect("stat partial").len();
        assert!(
            len <= limit as u64,
            "{} holds {len} bytes, above the limit",
            partial.display()
        );
    }
}

#[test]
fn file_mirror_is_resolved_inside_root() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let base = sb.root().join("srv/mirror");
    let artifact = base.join(artifact_path(VERSION, KUBELET).trim_start_matches('/'));
    let side = base.join(side_path(VERSION, KUBELET).trim_start_matches('/'));
    fs::create_dir_all(artifact.parent().expect("artifact dir")).expect("mkdir mirror");
    fs::write(&artifact, &bytes).expect("write artifact");
    fs::write(&side, sha256_hex(&bytes)).expect("write side file");

    kb(sb.root())
        .mirrors(&["file:///srv/mirror"])
        .fetch(&[KUBELET])
        .run()
        .success();

    sb.assert_installed(KUBELET, &bytes);
    sb.assert_no_partials(KUBELET);
}

#[test]
fn config_file_in_root_supplies_settings() {
    let sb = Sandbox::new();
    let bytes = kubelet();
    let mirror = Mirror::serving_kubelet(&bytes);
    let etc = sb.root().join("etc");
    fs::create_dir_all(&etc).expect("mkdir etc");
    fs::write(
        etc.join("kube-bootstrap.env"),
        format!("KUBE_MIRRORS={}\nKUBE_ALLOW_HTTP=1\n", mirror.url()),
    )
    .expect("write config file");

    kb(sb.root()).fetch(&[KUBELET]).run().success();

    sb.assert_installed(KUBELET, &bytes);
}

#[test]
fn fetch_all_installs_every_component_and_reports_each_failure() {
    let sb = Sandbox::new();
    let mirror = Mirror::start();
    let binaries = [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
    ];
    let artifacts: Vec<Vec<u8>> = (0..binaries.len())
        .map(|i| artifact::elf(SIZE, 0x50 + i as u8))
        .collect();
    for (binary, bytes) in binaries.iter().zip(&artifacts) {
        mirror.publish(VERSION, binary, bytes);
    }
    kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&["all"])
        .run()
        .success();
    for (binary, bytes) in binaries.iter().zip(&artifacts) {
        sb.assert_installed(binary, bytes);
        assert_eq!(sb.read_record(binary)["version"], VERSION);
    }

    // One broken artifact fails only its own component; the error names it, the rest install.
    let sb = Sandbox::new();
    mirror.put(
        &artifact::side_path(VERSION, "kube-scheduler"),
        sha256_hex(b"something else"),
    );
    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&["all"])
        .run();
    out.failure(1)
        .mentions("1 of 5 fetches failed")
        .mentions("cannot fetch kube-scheduler");
    assert!(!sb.installed("kube-scheduler").exists());
    for (binary, bytes) in binaries
        .iter()
        .zip(&artifacts)
        .filter(|(b, _)| **b != "kube-scheduler")
    {
        sb.assert_installed(binary, bytes);
    }
}
