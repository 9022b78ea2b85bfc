//! Proxies for mirrors: `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY` and their lower-case forms,
//! from the environment or the config file alike, against a forward proxy on 127.0.0.1.

use std::fs;

use crate::support::artifact::{self, SIZE, artifact_path, side_path};
use crate::support::mirror::Mirror;
use crate::support::proxy::Proxy;
use crate::support::{Sandbox, VERSION, kb};
use crate::tls::{https_server, internal_pki};

const KUBELET: &str = "kubelet";

/// Whether the proxy forwarded the side file and the binary of `mirror`.
fn went_through(proxy: &Proxy, mirror: &str) -> bool {
    let seen = proxy.seen();
    [side_path(VERSION, KUBELET), artifact_path(VERSION, KUBELET)]
        .iter()
        .all(|p| {
            seen.iter()
                .any(|l| l.starts_with(&format!("GET {mirror}{p} ")))
        })
}

#[test]
fn http_proxy_from_the_environment_or_the_config_file_carries_mirror_requests() {
    let bytes = artifact::elf(SIZE, 0x44);
    let mirror = Mirror::start();
    mirror.publish(VERSION, KUBELET, &bytes);
    for (name, in_config) in [
        ("HTTP_PROXY", false),
        ("http_proxy", false),
        ("HTTP_PROXY", true),
        ("http_proxy", true),
        ("ALL_PROXY", false),
    ] {
        let sb = Sandbox::new();
        let proxy = Proxy::start();
        let mut fetch = kb(sb.root())
            .mirrors(&[&mirror.url()])
            .allow_http()
            .fetch(&[KUBELET]);
        if in_config {
            let etc = sb.root().join("etc");
            fs::create_dir_all(&etc).expect("mkdir etc");
            fs::write(
                etc.join("kube-bootstrap.env"),
                format!("{name}={}\n", proxy.url()),
            )
            .expect("write config file");
        } else {
            fetch = fetch.env(name, proxy.url());
        }
        let out = fetch.run();
        out.success();
        sb.assert_installed(KUBELET, &bytes);
        assert!(
            went_through(&proxy, &mirror.url()),
            "{name} (config file: {in_config}) was not used: {:?}\n{out}",
            proxy.seen()
        );
    }
}

#[test]
fn no_proxy_sends_matching_mirrors_direct() {
    let bytes = artifact::elf(SIZE, 0x44);
    let mirror = Mirror::start();
    mirror.publish(VERSION, KUBELET, &bytes);
    for (name, value) in [
        ("NO_PROXY", "*"),
        ("no_proxy", "127.0.0.1"),
        ("NO_PROXY", "example.com, 127.0.0.0/8"),
    ] {
        let sb = Sandbox::new();
        let proxy = Proxy::start();
        kb(sb.root())
            .mirrors(&[&mirror.url()])
            .allow_http()
            .env("HTTP_PROXY", proxy.url())
            .env(name, value)
            .fetch(&[KUBELET])
            .run()
            .success();
        sb.assert_installed(KUBELET, &bytes);
        assert_eq!(proxy.seen(), Vec::<String>::new(), "{name}={value}");
    }
}

#[test]
fn https_proxy_tunnels_https_mirrors() {
    let sb = Sandbox::new();
    let www = tempfile::tempdir().expect("www dir");
    let bytes = artifact::elf(SIZE, 7);
    for (path, content) in [
        (artifact_path(VERSION, KUBELET), bytes.clone()),
        (
            side_path(VERSION, KUBELET),
            format!("{}\n", artifact::sha256_hex(&bytes)).into_bytes(),
        ),
    ] {
        let file = www.path().join(path.trim_start_matches('/'));
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(file, content).expect("write mirror file");
    }
    let pki = tempfile::tempdir().expect("pki dir");
    let (ca, cert, key) = internal_pki(pki.path());
    let server = https_server(www.path(), &cert, &key);
    let ca_in_root = sb.root().join("etc/ssl/mirror-ca.pem");
    fs::create_dir_all(ca_in_root.parent().expect("parent")).expect("mkdir");
    fs::copy(&ca, &ca_in_root).expect("copy CA");
    let proxy = Proxy::start();

    kb(sb.root())
        .mirrors(&[&format!("https://127.0.0.1:{}", server.port)])
        .env("KUBE_CA_FILE", "/etc/ssl/mirror-ca.pem")
        .env("https_proxy", proxy.url())
        .fetch(&[KUBELET])
        .run()
        .success();
    sb.assert_installed(KUBELET, &bytes);
    let connect = format!("CONNECT 127.0.0.1:{} ", server.port);
    assert!(
        proxy.seen().iter().any(|l| l.starts_with(&connect)),
        "no tunnel through the proxy: {:?}",
        proxy.seen()
    );
}

#[test]
fn invalid_proxy_value_is_refused_naming_the_variable() {
    let sb = Sandbox::new();
    for (name, value) in [
        ("HTTPS_PROXY", "socks5://127.0.0.1:1080"),
        ("https_proxy", "http://127.0.0.1:3128 --x"),
        ("HTTP_PROXY", "http://127.0.0.1:99999"),
        ("NO_PROXY", "a b"),
    ] {
        kb(sb.root())
            .mirrors(&["http://127.0.0.1:9"])
            .allow_http()
            .env(name, value)
            .fetch(&[KUBELET])
            .run()
            .failure(2)
            .mentions(&format!("invalid {name}="));
    }
}
