//! Kept releases: an upgrade keeps the previous release, and going back to it needs no
//! mirror; what is restored is verified again, and `exec` runs it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::artifact::sha256_hex;
use crate::support::mirror::Mirror;
use crate::support::{Sandbox, fake, kb};

const OLD: &str = "v1.35.3";
const NEW: &str = "v1.36.4";

/// The fake component with a tag byte appended: runnable, and different per release.
fn tagged(tag: u8) -> Vec<u8> {
    let mut bytes = fake::bytes();
    bytes.push(tag);
    bytes
}

/// A node that can exec a kubelet: leader, address and placeholder certificates.
fn node() -> Sandbox {
    let sb = Sandbox::new();
    let write = |rel: &str, content: &str| {
        let path = sb.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    };
    write("etc/leader", "LEADER_ENDPOINT=10.0.0.1\n");
    write(
        "etc/network-environment",
        "LO_IPV4=127.0.0.1\nDEFAULT_IPV4=10.0.0.5\n",
    );
    for name in ["ca.crt", "kubelet.crt", "kubelet.key"] {
        write(&format!("etc/kubernetes/pki/{name}"), "placeholder\n");
    }
    sb
}

fn kept_dir(sb: &Sandbox) -> PathBuf {
    sb.root().join("var/lib/kube-bootstrap/releases/kubelet")
}

fn kept_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".json") && !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Installs OLD then NEW from a mirror that is gone afterwards; returns the bytes of each.
fn upgraded(sb: &Sandbox) -> (Vec<u8>, Vec<u8>, String) {
    let (old, new) = (tagged(0x35), tagged(0x36));
    let mirror = Mirror::start();
    mirror.publish(OLD, "kubelet", &old);
    mirror.publish(NEW, "kubelet", &new);
    let url = mirror.url();
    for v in [OLD, NEW] {
        kb(sb.root())
            .version(v)
            .mirrors(&[&url])
            .allow_http()
            .fetch(&["kubelet"])
            .run()
            .success();
    }
    sb.assert_installed("kubelet", &new);
    (old, new, url)
}

#[test]
fn rollback_with_every_mirror_down_installs_and_execs_the_kept_release() {
    let sb = node();
    let (old, _, dead) = upgraded(&sb);
    assert_eq!(
        kept_files(&kept_dir(&sb)),
        [format!("{OLD}-amd64-{}", sha256_hex(&old))]
    );

    let out = kb(sb.root())
        .version(OLD)
        .mirrors(&[&dead, "file:///no/such/mirror"])
        .allow_http()
        .fetch(&["kubelet"])
        .run();
    out.success().mentions("restored a kept release");

    sb.assert_installed("kubelet", &old);
    assert_eq!(sb.read_record("kubelet")["version"], OLD);
    assert_eq!(sb.read_record("kubelet")["sha256"], sha256_hex(&old));
    sb.assert_no_partials("kubelet");
    // The release rolled back from is kept too: going forward again is offline as well.
    assert_eq!(kept_files(&kept_dir(&sb)).len(), 2);
    let env = fs::read_to_string(sb.env_file("kubelet")).unwrap();
    assert!(env.contains(&format!("KUBE_VERSION=\"{OLD}\"")), "{env}");

    // fetch and doctor show what is kept and the disk it takes.
    assert!(out.stderr.contains("kept releases"), "{out}");
    let doctor = kb(sb.root())
        .version(OLD)
        .args(&["doctor", "kubelet"])
        .run();
    let line = doctor
        .stdout
        .lines()
        .find(|l| l.contains("kubelet: kept"))
        .unwrap_or_else(|| panic!("no kept-releases line\n{doctor}"));
    assert!(
        line.contains(NEW) && line.contains(OLD) && line.contains("KUBE_KEEP_RELEASES=2"),
        "{line}"
    );

    let record = sb.root().join("fake.record");
    kb(sb.root())
        .version(OLD)
        .env("FAKE_RECORD", record.display().to_string())
        .args(&["exec", "kubelet"])
        .run()
        .success();
    let (_, argv) = fake::read_record(&record).expect("the kept release ran");
    assert_eq!(argv[0], sb.installed("kubelet").display().to_string());
}

#[test]
fn a_corrupt_kept_copy_is_never_installed() {
    let sb = node();
    let (old, new, dead) = upgraded(&sb);
    let kept = kept_dir(&sb).join(format!("{OLD}-amd64-{}", sha256_hex(&old)));
    let mut bytes = fs::read(&kept).unwrap();
    bytes[100] ^= 0xff;
    fs::write(&kept, bytes).unwrap();

    kb(sb.root())
        .version(OLD)
        .mirrors(&[&dead])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&["kubelet"])
        .run()
        .failure(1)
        .mentions("kept copy is corrupt");

    sb.assert_installed("kubelet", &new);
    sb.assert_no_partials("kubelet");
    assert!(!kept.exists(), "the corrupt copy is dropped");
}

#[test]
fn keep_releases_bounds_the_store() {
    let sb = node();
    let mirror = Mirror::start();
    let versions = ["v1.34.0", OLD, NEW];
    for (i, v) in versions.iter().enumerate() {
        mirror.publish(v, "kubelet", &tagged(0x40 + i as u8));
    }
    for v in versions {
        kb(sb.root())
            .version(v)
            .mirrors(&[&mirror.url()])
            .allow_http()
            .env("KUBE_KEEP_RELEASES", "1")
            .fetch(&["kubelet"])
            .run()
            .success();
    }
    let kept = kept_files(&kept_dir(&sb));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].starts_with(OLD), "{kept:?}");
}

/// A pinned node: going back with the old pin left in the config file names that pin and its
/// file, instead of passing over the kept copy and blaming the mirror (issue 22, item 2).
#[test]
fn rollback_on_a_pinned_node_names_the_stale_pin_and_its_file() {
    let sb = node();
    let (old, new, dead) = upgraded(&sb);
    let config = sb.root().join("etc/kube-bootstrap.env");
    fs::write(
        &config,
        format!(
            "KUBE_VERSION={OLD}\nKUBE_SHA256_KUBELET={}\n",
            sha256_hex(&new)
        ),
    )
    .unwrap();
    let out = kb(sb.root())
        .unset("KUBE_VERSION")
        .mirrors(&[&dead])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&["kubelet"])
        .run();
    out.failure(1)
        .mentions(&format!(
            "KUBE_SHA256_KUBELET (from config file '{}') pins {}",
            config.display(),
            sha256_hex(&new)
        ))
        .mentions(&format!(
            "the kept kubelet {OLD} has sha256 {}: the pin is for another release",
            sha256_hex(&old)
        ))
        .mentions("hint: when KUBE_VERSION changes, change its pins too");
    assert!(!out.stderr.contains("mirror"), "blames a mirror\n{out}");
    sb.assert_installed("kubelet", &new);

    // `releases` shows what is installed, what is kept and the pin in force, with its file.
    let listed = kb(sb.root())
        .unset("KUBE_VERSION")
        .args(&["releases", "kubelet"])
        .run();
    listed.success();
    let text = &listed.stdout;
    assert!(text.starts_with("kubelet\n"), "{listed}");
    assert!(
        text.contains(&format!(
            "  installed  {NEW} amd64 sha256 {} (installed 20",
            sha256_hex(&new)
        )),
        "{listed}"
    );
    assert!(
        text.contains(&format!(
            "  kept       {OLD} amd64 sha256 {} (installed 20",
            sha256_hex(&old)
        )) && text.contains(" UTC, kept 20"),
        "{listed}"
    );
    assert!(
        text.contains(&format!(
            "  pin        KUBE_SHA256_KUBELET={} (from config file '{}'), for KUBE_VERSION {OLD}",
            sha256_hex(&new),
            config.display()
        )),
        "{listed}"
    );
    let all = kb(sb.root())
        .unset("KUBE_VERSION")
        .args(&["releases"])
        .run();
    all.success();
    assert!(
        all.stdout
            .contains("kubectl\n  installed  nothing (no install record)"),
        "{all}"
    );

    // With the pin following the release, the rollback is offline.
    fs::write(
        &config,
        format!(
            "KUBE_VERSION={OLD}\nKUBE_SHA256_KUBELET={}\n",
            sha256_hex(&old)
        ),
    )
    .unwrap();
    kb(sb.root())
        .unset("KUBE_VERSION")
        .mirrors(&[&dead])
        .allow_http()
        .fetch(&["kubelet"])
        .run()
        .success()
        .mentions("restored a kept release");
    sb.assert_installed("kubelet", &old);
}

/// A stale pin with no kept copy to compare: the mirror's bytes fail the pin, and the error
/// and its hint name the pin and the file it came from (issue 22, item 2).
#[test]
fn a_stale_pin_without_a_kept_copy_is_named_with_its_file() {
    let sb = node();
    let bytes = tagged(7);
    let mirror = Mirror::serving_kubelet(&bytes);
    let config = sb.root().join("etc/kube-bootstrap.env");
    let stale = sha256_hex(&tagged(8));
    fs::write(&config, format!("KUBE_SHA256_KUBELET={stale}\n")).unwrap();
    let out = kb(sb.root())
        .mirrors(&[&mirror.url()])
        .allow_http()
        .env("KUBE_FETCH_RETRIES", "0")
        .fetch(&["kubelet"])
        .run();
    out.failure(1)
        .mentions(&format!(
            "pinned by KUBE_SHA256_KUBELET (config file '{}')",
            config.display()
        ))
        .mentions(&format!(
            "KUBE_SHA256_KUBELET (config file '{}') may still pin the old release",
            config.display()
        ));
}
