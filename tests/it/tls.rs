//! https mirrors: the system trust store plus `KUBE_CA_FILE`, against a real TLS server on
//! 127.0.0.1 with a certificate made by the test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::artifact::{self, artifact_path, side_path};
use crate::support::server::Served;
use crate::support::{Sandbox, VERSION, kb};

const KUBELET: &str = "kubelet";

/// A python https file server over `dir`, killed on drop.
pub fn https_server(dir: &Path, cert: &Path, key: &Path) -> Served {
    let port_file = dir.join(".port");
    let script = r#"
import http.server, os, socketserver, ssl, sys
root, cert, key, port_file = sys.argv[1:5]
os.chdir(root)
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
httpd = socketserver.TCPServer(("127.0.0.1", 0), Quiet)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(httpd.server_address[1]))
os.rename(port_file + ".tmp", port_file)
httpd.serve_forever()
"#;
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(script)
        .arg(dir)
        .arg(cert)
        .arg(key)
        .arg(&port_file);
    Served::start(cmd, &port_file, "the python https server")
}

fn openssl(args: &[&str], dir: &Path) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl {args:?} failed");
}

/// A private CA and a server certificate it signed for 127.0.0.1, as an internal mirror has.
/// Returns (CA certificate, server certificate, server key).
pub fn internal_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=kube-bootstrap test CA",
        ]
        .iter()
        .copied()
        .chain([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])
        .chain(["-keyout", "ca.key", "-out", "ca.crt"])
        .collect::<Vec<_>>(),
        dir,
    );
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "mirror.key",
            "-out",
            "mirror.csr",
        ],
        dir,
    );
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "mirror.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "mirror.crt",
        ],
        dir,
    );
    (
        dir.join("ca.crt"),
        dir.join("mirror.crt"),
        dir.join("mirror.key"),
    )
}

#[test]
fn https_mirror_is_trusted_only_with_its_ca_in_kube_ca_file() {
    let sb = Sandbox::new();
    let www = tempfile::tempdir().unwrap();
    let bytes = artifact::elf(artifact::SIZE, 7);
    let path = www
        .path()
        .join(artifact_path(VERSION, KUBELET).trim_start_matches('/'));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, &bytes).unwrap();
    let side = www
        .path()
        .join(side_path(VERSION, KUBELET).trim_start_matches('/'));
    fs::write(&side, format!("{}\n", artifact::sha256_hex(&bytes))).unwrap();
    let pki = tempfile::tempdir().unwrap();
    let (ca_cert, cert, key) = internal_pki(pki.path());
    let server = https_server(www.path(), &cert, &key);
    let mirror = format!("https://127.0.0.1:{}", server.port);

    // Without the CA the certificate is refused at once (no retries: it cannot heal), and
    // nothing is installed.
    kb(sb.root())
        .mirrors(&[&mirror])
        .env("KUBE_FETCH_RETRIES", "3")
        .fetch(&[KUBELET])
        .run()
        .failure(1)
        .mentions(&format!("{mirror}/: request to"))
        .mentions(&format!(
            "{mirror}/{VERSION}/bin/linux/amd64/kubelet.sha256"
        ))
        .mentions_ignoring_case("certificate");
    assert!(!sb.installed(KUBELET).exists());

    // KUBE_CA_FILE is a node path, resolved inside the root.
    let ca = sb.root().join("etc/ssl/mirror-ca.pem");
    fs::create_dir_all(ca.parent().unwrap()).unwrap();
    fs::copy(&ca_cert, &ca).unwrap();
    kb(sb.root())
        .mirrors(&[&mirror])
        .env("KUBE_CA_FILE", "/etc/ssl/mirror-ca.pem")
        .fetch(&[KUBELET])
        .run()
        .success();
    sb.assert_installed(KUBELET, &bytes);

    // A CA file that is missing, or holds no certificate, is a clear error naming the variable
    // and the file.
    fs::write(&ca, "not a certificate\n").unwrap();
    fs::remove_file(sb.record(KUBELET)).unwrap();
    for (file, why) in [
        ("/etc/ssl/missing.pem", "No such file"),
        ("/etc/ssl/mirror-ca.pem", "no PEM certificate"),
    ] {
        kb(sb.root())
            .mirrors(&[&mirror])
            .env("KUBE_CA_FILE", file)
            .fetch(&[KUBELET])
            .run()
            .failure(1)
            .mentions("KUBE_CA_FILE")
            .mentions(file)
            .mentions(why);
    }
}
