//! `pki init`, `pki node`, `pki install` and `pki check` with real tools: openssl reads and
//! verifies every file, a Python TLS server with `apiserver.crt` demands client certificates
//! from curl on 127.0.0.1 (and on a node address inside a network namespace the test creates).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::netenv::Netns;
use crate::support::artifact::sha256_hex;
use crate::support::cmd::{Kb, Outcome};
use crate::support::server::Served;
use crate::support::{Sandbox, kb, node_sandbox, running_as_root, write};

const LEADER: &str = "k8s.example.test";
const LEADER_IP: &str = "10.0.0.1";
const EXTRA_SANS: &str = "api.example.test,192.0.2.10";

const LEAVES: [&str; 8] = [
    "apiserver",
    "apiserver-kubelet-client",
    "controller-manager",
    "scheduler",
    "admin",
    "super-admin",
    "kubelet",
    "proxy",
];

/// A leader sandbox: `/etc/leader` names `leader`, the node is `node_ip`.
fn leader(leader: &str, node_ip: &str) -> Sandbox {
    node_sandbox(leader, node_ip)
}

fn pki_dir(sb: &Sandbox) -> PathBuf {
    sb.root().join("etc/kubernetes/pki")
}

fn init(sb: &Sandbox) -> Kb {
    kb(sb.root())
        .env("KUBE_APISERVER_SANS", EXTRA_SANS)
        .args(&["pki", "init"])
}

/// sha256, mode and inode of every file of the PKI dir and admin.conf.
fn snapshot(sb: &Sandbox) -> BTreeMap<String, (String, u32, u64)> {
    let dir = pki_dir(sb);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .chain(fs::read_dir(dir.join("etcd")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.push(sb.root().join("etc/kubernetes/admin.conf"));
    files.push(sb.root().join("etc/kubernetes/super-admin.conf"));
    files
        .into_iter()
        .map(|p| {
            let meta = fs::metadata(&p).unwrap();
            let name = p
                .strip_prefix(&dir)
                .unwrap_or_else(|_| Path::new(p.file_name().unwrap()));
            (
                name.to_string_lossy().into_owned(),
                (
                    sha256_hex(&fs::read(&p).unwrap()),
                    meta.permissions().mode() & 0o7777,
                    meta.ino(),
                ),
            )
        })
        .collect()
}

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl")
}

fn text(dir: &Path, crt: &str) -> String {
    let out = openssl(&["x509", "-noout", "-text", "-in", crt], dir);
    assert!(out.status.success(), "openssl x509 {crt}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn init_makes_every_file_with_its_identity_names_usages_and_mode() {
    let sb = leader(LEADER, LEADER_IP);
    let out = init(&sb).run();
    out.success();
    for made in [
        "ca.crt",
        "sa.key",
        "apiserver.crt",
        "admin.conf",
        "super-admin.conf",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("made") && l.contains(made)),
            "{made} not listed as made\n{out}"
        );
    }
    let dir = pki_dir(&sb);
    let snap = snapshot(&sb);
    for (name, (_, mode, _)) in &snap {
        let want = if name.ends_with(".key") || name.ends_with(".conf") {
            0o600
        } else {
            0o644
        };
        assert_eq!(*mode, want, "{name}");
    }
    // No private key on stdout or stderr.
    assert!(!out.stdout.contains("PRIVATE KEY") && !out.stderr.contains("PRIVATE KEY"));

    let ca = text(&dir, "ca.crt");
    assert!(
        ca.contains("CA:TRUE") && ca.contains("Certificate Sign"),
        "{ca}"
    );
    for leaf in LEAVES {
        let crt = format!("{leaf}.crt");
        let verify = openssl(&["verify", "-CAfile", "ca.crt", &crt], &dir);
        assert!(
            verify.status.success(),
            "openssl verify {crt}: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        // The key is the certificate's.
        let pubkey = |args: &[&str]| openssl(args, &dir).stdout;
        assert_eq!(
            pubkey(&["x509", "-noout", "-pubkey", "-in", &crt]),
            pubkey(&["pkey", "-pubout", "-in", &format!("{leaf}.key")]),
            "{leaf}.key does not match {crt}"
        );
    }
    for (leaf, subject, usage) in [
        (
            "apiserver",
            "CN = kube-apiserver",
            "TLS Web Server Authentication",
        ),
        (
            "apiserver-kubelet-client",
            "CN = kube-apiserver-kubelet-client",
            "TLS Web Client Authentication",
        ),
        (
            "controller-manager",
            "CN = system:kube-controller-manager",
            "TLS Web Client Authentication",
        ),
        (
            "scheduler",
            "CN = system:kube-scheduler",
            "TLS Web Client Authentication",
        ),
        (
            "admin",
            "CN = kubernetes-admin, O = kube-bootstrap:cluster-admins",
            "TLS Web Client Authentication",
        ),
        (
            "super-admin",
            "CN = kubernetes-super-admin, O = system:masters",
            "TLS Web Client Authentication",
        ),
        (
            "kubelet",
            "CN = system:node:10.0.0.1, O = system:nodes",
            "TLS Web Client Authentication",
        ),
        (
            "proxy",
            "CN = system:kube-proxy",
            "TLS Web Client Authentication",
        ),
    ] {
        let t = text(&dir, &format!("{leaf}.crt"));
        assert!(t.contains(&format!("Subject: {subject}\n")), "{leaf}:\n{t}");
        assert!(t.contains(usage), "{leaf}: {usage}\n{t}");
        assert!(t.contains("Digital Signature"), "{leaf}\n{t}");
        assert!(t.contains("ASN1 OID: prime256v1"), "{leaf}: P-256\n{t}");
    }
    // etcd's own CA signs etcd's pairs and the apiserver's client pair for etcd, and nothing
    // the cluster CA signs is an etcd client.
    let etcd_ca = text(&dir, "etcd/ca.crt");
    assert!(
        etcd_ca.contains("Subject: CN = etcd-ca, O = kube-bootstrap\n"),
        "{etcd_ca}"
    );
    assert!(etcd_ca.contains("CA:TRUE"), "{etcd_ca}");
    for (leaf, subject, both) in [
        ("etcd/server", "CN = kube-etcd", true),
        ("etcd/peer", "CN = kube-etcd-peer", true),
        (
            "apiserver-etcd-client",
            "CN = kube-apiserver-etcd-client",
            false,
        ),
    ] {
        let crt = format!("{leaf}.crt");
        let verify = openssl(&["verify", "-CAfile", "etcd/ca.crt", &crt], &dir);
        assert!(
            verify.status.success(),
            "openssl verify {crt} against etcd/ca.crt"
        );
        let cross = openssl(&["verify", "-CAfile", "ca.crt", &crt], &dir);
        assert!(
            !cross.status.success(),
            "{crt} must not chain to the cluster CA"
        );
        let t = text(&dir, &crt);
        assert!(t.contains(&format!("Subject: {subject}\n")), "{leaf}:\n{t}");
        assert!(t.contains("TLS Web Client Authentication"), "{leaf}\n{t}");
        assert_eq!(
            t.contains("TLS Web Server Authentication"),
            both,
            "{leaf}\n{t}"
        );
        if both {
            for name in [
                "DNS:localhost",
                "IP Address:10.0.0.1",
                "IP Address:127.0.0.1",
            ] {
                assert!(t.contains(name), "{leaf} lacks {name}\n{t}");
            }
        }
    }
    let kubelet_in_etcd = openssl(&["verify", "-CAfile", "etcd/ca.crt", "kubelet.crt"], &dir);
    assert!(
        !kubelet_in_etcd.status.success(),
        "kubelet.crt must not chain to the etcd CA"
    );
    let etcd_dir_mode = fs::metadata(dir.join("etcd")).unwrap().permissions().mode() & 0o7777;
    assert_eq!(etcd_dir_mode, 0o700, "the etcd directory holds keys");

    let api = text(&dir, "apiserver.crt");
    for name in [
        "DNS:kubernetes,",
        "DNS:kubernetes.default,",
        "DNS:kubernetes.default.svc,",
        "DNS:kubernetes.default.svc.cluster.local",
        "DNS:k8s.example.test",
        "DNS:api.example.test",
        "IP Address:10.0.0.1",
        "IP Address:127.0.0.1",
        "IP Address:172.22.0.1",
        "IP Address:192.0.2.10",
    ] {
        assert!(api.contains(name), "apiserver.crt lacks {name}\n{api}");
    }

    // Service-account tokens: signed with sa.key (RSA), verified with sa.pub.
    let sa = openssl(&["pkey", "-in", "sa.key", "-noout", "-text"], &dir);
    assert!(
        String::from_utf8_lossy(&sa.stdout).contains("Private-Key: (2048 bit"),
        "sa.key is not RSA 2048"
    );
    fs::write(dir.join("token.txt"), "header.payload").unwrap();
    assert!(
        openssl(
            &[
                "dgst",
                "-sha256",
                "-sign",
                "sa.key",
                "-out",
                "token.sig",
                "token.txt"
            ],
            &dir
        )
        .status
        .success()
    );
    let verified = openssl(
        &[
            "dgst",
            "-sha256",
            "-verify",
            "sa.pub",
            "-signature",
            "token.sig",
            "token.txt",
        ],
        &dir,
    );
    assert_eq!(String::from_utf8_lossy(&verified.stdout), "Verified OK\n");

    let conf = fs::read_to_string(sb.root().join("etc/kubernetes/admin.conf")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&conf).expect("admin.conf is JSON (YAML)");
    assert_eq!(
        doc["clusters"][0]["cluster"]["server"], "https://127.0.0.1:6443",
        "{conf}"
    );
    assert!(conf.contains("admin.key"), "{conf}");
    kb(sb.root()).args(&["pki", "check"]).run().success();
}

#[test]
fn rerun_changes_no_byte_and_a_moved_leader_reissues_only_the_apiserver_certificate() {
    let sb = leader(LEADER, LEADER_IP);
    init(&sb).run().success();
    let first = snapshot(&sb);
    let out = init(&sb).run();
    out.success();
    assert_eq!(snapshot(&sb), first, "a second run changed files\n{out}");
    assert!(
        !out.stdout.contains("made") && !out.stdout.contains("re-issued"),
        "{out}"
    );

    write(sb.root(), "etc/leader", "LEADER_ENDPOINT=10.0.0.99:6443\n");
    let out = init(&sb).run();
    out.success();
    let after = snapshot(&sb);
    let changed: Vec<_> = first
        .keys()
        .filter(|k| first[*k] != after[*k])
        .cloned()
        .collect();
    assert_eq!(changed, ["apiserver.crt"], "{out}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("apiserver.crt"))
        .unwrap();
    assert!(
        line.starts_with("re-issued")
            && line.contains("adds 10.0.0.99")
            && line.contains("drops k8s.example.test"),
        "{line}"
    );
    let api = text(&pki_dir(&sb), "apiserver.crt");
    assert!(api.contains("IP Address:10.0.0.99"), "{api}");
}

#[test]
fn leaves_near_expiry_are_renewed_and_the_ca_and_service_account_key_never_touched() {
    let sb = leader(LEADER, LEADER_IP);
    init(&sb)
        .env("KUBE_PKI_CERT_DAYS", "10")
        .env("KUBE_PKI_RENEW_BEFORE", "5")
        .run()
        .success();
    let first = snapshot(&sb);
    let check = kb(sb.root()).args(&["pki", "check"]).run();
    check.success();
    // Warned 30 days ahead, naming the certificate and what renews it.
    assert!(
        check
            .stdout
            .contains("apiserver.crt: certificate CN=kube-apiserver expires on")
            && (check.stdout.contains(", in 9 days") || check.stdout.contains(", in 10 days"))
            && check
                .stdout
                .contains("hint: kube-bootstrap-pki-renew.timer on the leader re-issues it"),
        "{check}"
    );
    assert!(
        !check.stdout.contains("nothing renews a CA"),
        "the CAs (10 years) are not warned about\n{check}"
    );

    // The timer's command, without restarting anything here: every leaf re-issued, then the
    // components that read them listed in restart order, the apiserver last.
    let out = kb(sb.root())
        .env("KUBE_APISERVER_SANS", EXTRA_SANS)
        .args(&["pki", "renew", "--no-restart"])
        .run();
    out.success();
    let restarts: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("restart "))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        restarts,
        [
            "kube-controller-manager.service",
            "kube-kubelet.service",
            "kube-proxy.service",
            "kube-scheduler.service",
            "kube-apiserver.service"
        ],
        "{out}"
    );
    let after = snapshot(&sb);
    for name in ["ca.crt", "ca.key", "sa.key", "sa.pub"] {
        assert_eq!(first[name], after[name], "{name} was touched");
    }
    for leaf in LEAVES {
        let crt = format!("{leaf}.crt");
        assert_ne!(first[&crt].0, after[&crt].0, "{crt} not renewed\n{out}");
        let line = out.stdout.lines().find(|l| l.contains(&crt)).unwrap();
        assert!(
            line.starts_with("re-issued") && line.contains("within KUBE_PKI_RENEW_BEFORE=30 days"),
            "{line}"
        );
        let still = openssl(
            &["x509", "-noout", "-checkend", "2592000", "-in", &crt],
            &pki_dir(&sb),
        );
        assert!(still.status.success(), "{crt} still expires within 30 days");
    }
}

/// Runs `kb` in a private mount namespace where `dir` is `mount` (a read-only bind of itself,
/// or a tiny full tmpfs holding a copy), then prints the sha256 of its files as seen there.
fn in_mount_namespace(kb: Kb, dir: &Path, mount: &str) -> Outcome {
    let script = format!(
        r#"set -e
d="$0"
{mount}
set +e
"$@"
rc=$?
cd "$d" && sha256sum *.crt *.key *.pub 1>&2
echo LISTING: 1>&2
ls -A "$d" 1>&2
exit $rc"#
    );
    kb.wrapped(&[
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        &dir.display().to_string(),
    ])
    .run()
}

fn hashes(dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("sha256sum *.crt *.key *.pub")
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn read_only_or_full_pki_dir_gives_a_clear_error_and_leaves_every_file_intact() {
    if !running_as_root() {
        eprintln!("skipped: needs root for mount namespaces");
        return;
    }
    let sb = leader(LEADER, LEADER_IP);
    init(&sb).run().success();
    let dir = pki_dir(&sb);
    let before = hashes(&dir);
    // A new leader address makes init want to re-issue apiserver.crt.
    write(sb.root(), "etc/leader", "LEADER_ENDPOINT=10.0.0.98\n");

    let out = in_mount_namespace(
        init(&sb),
        &dir,
        r#"mount --bind "$d" "$d"; mount -o remount,bind,ro "$d""#,
    );
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("error: cannot create")
        .mentions("Read-only file system")
        .mentions("hint: make room in or make");
    assert!(out.stderr.contains(&before), "files changed inside\n{out}");
    assert_eq!(hashes(&dir), before);

    let out = in_mount_namespace(
        init(&sb),
        &dir,
        r#"tmp=$(mktemp -d); cp -a "$d/." "$tmp/"; mount -t tmpfs -o size=200k tmpfs "$d"; cp -a "$tmp/." "$d/"; dd if=/dev/zero of="$d/fill" bs=1k count=1000 2>/dev/null || true"#,
    );
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("No space left on device");
    assert!(out.stderr.contains(&before), "files changed inside\n{out}");
    let listing = out.stderr.split("LISTING:").nth(1).unwrap_or_default();
    assert!(
        !listing.contains(".tmp"),
        "a temporary file survived\n{out}"
    );
}

/// A Python TLS server with `cert`/`key` that requires a client certificate from `ca`, and
/// answers with the client's common name. Run through `prefix` (e.g. `ip netns exec NS`).
fn tls_server(prefix: &[&str], bind: &str, dir: &Path) -> Served {
    let port_file = dir.join(format!(".port-{bind}"));
    let script = r#"
import http.server, os, socketserver, ssl, sys
bind, cert, key, ca, port_file = sys.argv[1:6]
class Who(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
        body = subject.get("commonName", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
httpd = Server((bind, 0), Who)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(httpd.server_address[1]))
os.rename(port_file + ".tmp", port_file)
httpd.serve_forever()
"#;
    let (program, rest) = prefix
        .split_first()
        .map_or(("python3", &[][..]), |(p, r)| (*p, r));
    let mut cmd = Command::new(program);
    cmd.args(rest);
    if !prefix.is_empty() {
        cmd.arg("python3");
    }
    cmd.arg("-c")
        .arg(script)
        .arg(bind)
        .arg(dir.join("apiserver.crt"))
        .arg(dir.join("apiserver.key"))
        .arg(dir.join("ca.crt"))
        .arg(&port_file);
    Served::start(cmd, &port_file, "the python TLS server")
}

/// curl through `prefix` at `url`, connecting to `addr:port` whatever the URL's host, trusting
/// only `ca`, presenting `client` (`<stem>.crt/.key` in `dir`). Returns (exit code, body).
fn curl(
    prefix: &[&str],
    dir: &Path,
    client: Option<(&Path, &str)>,
    host: &str,
    addr: &str,
    port: u16,
) -> (i32, String) {
    let (program, rest) = prefix
        .split_first()
        .map_or(("curl", &[][..]), |(p, r)| (*p, r));
    let mut cmd = Command::new(program);
    cmd.args(rest);
    if !prefix.is_empty() {
        cmd.arg("curl");
    }
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    cmd.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(dir.join("ca.crt"))
        .arg("--connect-to")
        .arg(format!("{url_host}:{port}:{addr}:{port}"))
        .arg(format!("https://{url_host}:{port}/"));
    if let Some((cdir, stem)) = client {
        cmd.arg("--cert")
            .arg(cdir.join(format!("{stem}.crt")))
            .arg("--key")
            .arg(cdir.join(format!("{stem}.key")));
    }
    let out = cmd.stdin(Stdio::null()).output().expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every name and address in the apiserver certificate reaches the server; the kubelet's and
/// kube-proxy's certificates are accepted, a foreign CA's and none at all are not, and a name
/// outside the certificate is refused by curl.
fn mutual_tls(prefix: &[&str], bind: &str, sb: &Sandbox, foreign: &Sandbox) {
    let dir = pki_dir(sb);
    let server = tls_server(prefix, bind, &dir);
    let port = server.port;
    for host in [
        bind,
        "127.0.0.1",
        "10.0.0.1",
        "172.22.0.1",
        "192.0.2.10",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        LEADER,
        "api.example.test",
    ] {
        let (code, body) = curl(prefix, &dir, Some((&dir, "kubelet")), host, bind, port);
        assert_eq!((code, body.as_str()), (0, "system:node:10.0.0.1"), "{host}");
    }
    let (code, body) = curl(prefix, &dir, Some((&dir, "proxy")), LEADER, bind, port);
    assert_eq!((code, body.as_str()), (0, "system:kube-proxy"));

    let (code, _) = curl(
        prefix,
        &dir,
        Some((&pki_dir(foreign), "kubelet")),
        LEADER,
        bind,
        port,
    );
    assert_ne!(code, 0, "a client certificate from another CA was accepted");
    let (code, _) = curl(prefix, &dir, None, LEADER, bind, port);
    assert_ne!(code, 0, "a client without a certificate was accepted");
    let (code, _) = curl(
        prefix,
        &dir,
        Some((&dir, "kubelet")),
        "not-in-the-certificate.example.test",
        bind,
        port,
    );
    assert_eq!(code, 60, "curl accepted a name outside the SANs");
}

#[test]
fn apiserver_certificate_serves_mutual_tls_on_loopback() {
    let sb = leader(LEADER, LEADER_IP);
    init(&sb).run().success();
    let foreign = leader(LEADER, LEADER_IP);
    init(&foreign).run().success();
    mutual_tls(&[], "127.0.0.1", &sb, &foreign);
}

#[test]
fn apiserver_certificate_serves_mutual_tls_on_the_node_address_in_a_namespace() {
    let Some(ns) = Netns::create() else { return };
    ns.veth("kb-p", "kb-p-peer", "10.214.0.2/24", None);
    let sb = leader(LEADER, "10.214.0.2");
    init(&sb).run().success();
    let foreign = leader(LEADER, "10.214.0.2");
    init(&foreign).run().success();
    let dir = pki_dir(&sb);
    assert!(text(&dir, "apiserver.crt").contains("IP Address:10.214.0.2"));
    let words = ns.exec_prefix();
    let prefix: Vec<&str> = words.iter().map(String::as_str).collect();
    let server = tls_server(&prefix, "10.214.0.2", &dir);
    let (code, body) = curl(
        &prefix,
        &dir,
        Some((&dir, "kubelet")),
        "10.214.0.2",
        "10.214.0.2",
        server.port,
    );
    assert_eq!((code, body.as_str()), (0, "system:node:10.214.0.2"));
    let (code, _) = curl(
        &prefix,
        &dir,
        Some((&pki_dir(&foreign), "kubelet")),
        "10.214.0.2",
        "10.214.0.2",
        server.port,
    );
    assert_ne!(code, 0, "a client certificate from another CA was accepted");
}

fn explain_has_no_missing_file(root: &Path, component: &str) {
    let out = kb(root).args(&["flags", component, "--explain"]).run();
    out.success();
    assert!(out.stdout.contains("# files that must exist"), "{out}");
    assert!(!out.stdout.contains("MISSING"), "{component}\n{out}");
}

#[test]
fn sandbox_leader_and_worker_from_pki_init_node_and_install_have_every_file() {
    let lead = leader(LEADER_IP, LEADER_IP);
    // Before pki init, every missing file names the command that makes it.
    let out = kb(lead.root())
        .args(&["flags", "apiserver", "--explain"])
        .run();
    assert!(out.stdout.contains("MISSING"), "{out}");
    assert!(
        out.stdout
            .contains("<- run 'kube-bootstrap pki init' on the leader"),
        "{out}"
    );

    kb(lead.root()).args(&["pki", "init"]).run().success();
    for c in [
        "apiserver",
        "controller-manager",
        "scheduler",
        "kubelet",
        "proxy",
    ] {
        explain_has_no_missing_file(lead.root(), c);
    }
    let check = kb(lead.root()).args(&["pki", "check"]).run();
    check.success();
    assert!(!check.stdout.contains("fail"), "{check}");

    kb(lead.root())
        .in_dir(lead.root())
        .args(&["pki", "node", "10.0.0.2", "--out", "node-10.0.0.2.tar"])
        .run()
        .success();
    let bundle = lead.root().join("node-10.0.0.2.tar");
    assert_eq!(
        fs::metadata(&bundle).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let listing = Command::new("tar")
        .arg("-tvf")
        .arg(&bundle)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for (mode, name) in [
        ("-rw-r--r--", "ca.crt"),
        ("-rw-------", "kubelet.key"),
        ("-rw-r--r--", "kubelet.crt"),
        ("-rw-------", "proxy.key"),
        ("-rw-r--r--", "proxy.crt"),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(&format!(" {name}"))),
            "{name} {mode}\n{listing}"
        );
    }

    let worker = leader(LEADER_IP, "10.0.0.2");
    fs::copy(&bundle, worker.root().join("bundle.tar")).unwrap();
    let out = kb(worker.root())
        .in_dir(worker.root())
        .args(&["pki", "install", "bundle.tar"])
        .run();
    out.success();
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("made")).count(),
        5
    );
    let before = snapshot_dir(&pki_dir(&worker));
    let again = kb(worker.root())
        .in_dir(worker.root())
        .args(&["pki", "install", "bundle.tar"])
        .run();
    again.success();
    assert_eq!(
        snapshot_dir(&pki_dir(&worker)),
        before,
        "re-install changed files"
    );
    for (name, mode) in [
        ("kubelet.key", 0o600),
        ("kubelet.crt", 0o644),
        ("ca.crt", 0o644),
    ] {
        let m = fs::metadata(pki_dir(&worker).join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o7777, mode, "{name}");
    }
    for c in ["kubelet", "proxy"] {
        explain_has_no_missing_file(worker.root(), c);
    }
    let check = kb(worker.root()).args(&["pki", "check"]).run();
    check.success();
    assert!(check.stdout.contains("CN=system:node:10.0.0.2"), "{check}");
    assert!(
        openssl(
            &["verify", "-CAfile", "ca.crt", "kubelet.crt", "proxy.crt"],
            &pki_dir(&worker)
        )
        .status
        .success()
    );

    // A bundle for another node name is refused, and says so.
    kb(lead.root())
        .in_dir(lead.root())
        .args(&["pki", "node", "10.0.0.3", "--out", "node-10.0.0.3.tar"])
        .run()
        .success();
    fs::copy(
        lead.root().join("node-10.0.0.3.tar"),
        worker.root().join("other.tar"),
    )
    .unwrap();
    kb(worker.root())
        .in_dir(worker.root())
        .args(&["pki", "install", "other.tar"])
        .run()
        .failure(1)
        .mentions("was made for node '10.0.0.3', but this node registers as '10.0.0.2'")
        .mentions("hint: on the leader, run 'kube-bootstrap pki node 10.0.0.2 --out FILE'");
    assert_eq!(snapshot_dir(&pki_dir(&worker)), before);

    // pki init is the leader's: on this worker (ca.crt, no ca.key) it refuses before writing
    // anything, neither a service-account key nor an etcd CA.
    kb(worker.root())
        .args(&["pki", "init"])
        .run()
        .failure(1)
        .mentions("cannot issue apiserver.crt: the CA key")
        .mentions("hint: run 'kube-bootstrap pki init' on the leader");
    let names: Vec<String> = fs::read_dir(pki_dir(&worker))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("sa.") || n == "etcd"),
        "{names:?}"
    );
    assert_eq!(snapshot_dir(&pki_dir(&worker)), before);
}

fn snapshot_dir(dir: &Path) -> BTreeMap<String, (String, u32, u64)> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                (
                    sha256_hex(&fs::read(&p).unwrap()),
                    meta.permissions().mode() & 0o7777,
                    meta.ino(),
                ),
            )
        })
        .collect()
}

/// A tar made by Python's tarfile with the given (name, kind) members: `file`, `symlink`.
fn crafted_tar(path: &Path, members: &[(&str, &str)], source: &Path) {
    let spec: Vec<String> = members.iter().map(|(n, k)| format!("{n}:{k}")).collect();
    let script = r#"
import io, sys, tarfile
out, src = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w") as t:
    for spec in sys.argv[3:]:
        name, kind = spec.rsplit(":", 1)
        info = tarfile.TarInfo(name)
        if kind == "symlink":
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/shadow"
            t.addfile(info)
        else:
            try:
                data = open(src + "/" + name.split("/")[-1], "rb").read()
            except OSError:
                data = b"not a certificate"
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
"#;
    let ok = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .arg(source)
        .args(spec)
        .status()
        .unwrap()
        .success();
    assert!(ok, "python3 tarfile");
}

#[test]
fn install_refuses_bundles_with_paths_links_or_missing_files() {
    let lead = leader(LEADER_IP, LEADER_IP);
    kb(lead.root()).args(&["pki", "init"]).run().success();
    let src = pki_dir(&lead);
    let worker = leader(LEADER_IP, "10.0.0.1");
    let all = ["ca.crt", "kubelet.crt", "kubelet.key", "proxy.crt"];
    for (members, reason) in [
        (
            vec![("../evil.crt", "file")],
            "entry '../evil.crt' is not a plain file name",
        ),
        (
            vec![("/etc/kubernetes/pki/ca.crt", "file")],
            "is not a plain file name",
        ),
        (
            vec![("ca.crt", "symlink")],
            "entry 'ca.crt' is not a regular file",
        ),
        (vec![("unexpected.txt", "symlink")], "unexpected entry"),
        (
            all.iter().map(|n| (*n, "file")).collect(),
            "'proxy.key' is missing",
        ),
    ] {
        let tar = worker.root().join("crafted.tar");
        crafted_tar(&tar, &members, &src);
        kb(worker.root())
            .in_dir(worker.root())
            .args(&["pki", "install", "crafted.tar"])
            .run()
            .failure(1)
            .mentions("is not a kube-bootstrap bundle (a tar file")
            .mentions(reason);
        assert!(
            !pki_dir(&worker).exists() || fs::read_dir(pki_dir(&worker)).unwrap().count() == 0,
            "{reason}: something was written"
        );
        assert!(!worker.root().join("evil.crt").exists());
    }
}

#[test]
fn operator_certificates_in_the_pki_dir_are_used_and_never_overwritten() {
    let sb = leader(LEADER, LEADER_IP);
    let dir = pki_dir(&sb);
    fs::create_dir_all(&dir).unwrap();
    // The operator's own CA (RSA, not made by kube-bootstrap) and an apiserver certificate
    // that lacks names pki init would put in.
    let run = |args: &[&str]| {
        let out = openssl(args, &dir);
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=operator-ca",
        "-days",
        "3650",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=kube-apiserver",
        "-keyout",
        "apiserver.key",
        "-out",
        "apiserver.csr",
    ]);
    fs::write(
        dir.join("ext.cnf"),
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:kubernetes\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "apiserver.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "365",
        "-extfile",
        "ext.cnf",
        "-out",
        "apiserver.crt",
    ]);
    let before = hashes(&dir);
    let out = init(&sb).run();
    out.success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("apiserver.crt"))
        .unwrap();
    assert!(
        line.starts_with("kept")
            && line.contains("never overwritten")
            && line.contains("names changed"),
        "{line}"
    );
    let after = hashes(&dir);
    for l in before.lines() {
        assert!(after.contains(l), "{l} changed\n{after}");
    }
    // The missing leaves are issued by the operator's CA (an RSA key in PKCS#8).
    assert!(
        openssl(
            &[
                "verify",
                "-CAfile",
                "ca.crt",
                "kubelet.crt",
                "scheduler.crt"
            ],
            &dir
        )
        .status
        .success()
    );
    // pki check names what the operator's certificate lacks.
    let check = kb(sb.root()).args(&["pki", "check"]).run();
    check.failure(1);
    assert!(
        check
            .stdout
            .contains("lacks names the apiserver is reached at"),
        "{check}"
    );
}

#[test]
fn pki_install_onto_a_full_disk_changes_no_file() {
    if !running_as_root() {
        eprintln!("skipped: needs root for mount namespaces");
        return;
    }
    let lead = leader(LEADER, LEADER_IP);
    init(&lead).run().success();
    let worker = leader(LEADER_IP, "10.0.0.2");
    // Typed paths are taken as given (not under --root): the bundles are named by full path.
    for name in ["first.tar", "second.tar"] {
        let out = lead.root().join(name);
        kb(lead.root())
            .args(&["pki", "node", "10.0.0.2", "--out", out.to_str().unwrap()])
            .run()
            .success();
        fs::copy(&out, worker.root().join(name)).unwrap();
    }
    let first = worker.root().join("first.tar");
    let second = worker.root().join("second.tar");
    kb(worker.root())
        .args(&["pki", "install", first.to_str().unwrap()])
        .run()
        .success();
    let dir = pki_dir(&worker);
    let before = hashes(&dir);
    // Room for one new file of the four that change: the first is written, the second is
    // not, and the first must not be renamed over its old self alone.
    let out = in_mount_namespace(
        kb(worker.root()).args(&["pki", "install", second.to_str().unwrap()]),
        &dir,
        r#"tmp=$(mktemp -d); cp -a "$d/." "$tmp/"; mount -t tmpfs -o size=64k tmpfs "$d"; cp -a "$tmp/." "$d/"; rm -rf "$tmp"; dd if=/dev/zero of="$d/fill" bs=4k count=1000 2>/dev/null || true; truncate -s -4096 "$d/fill""#,
    );
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("No space left on device");
    assert!(out.stderr.contains(&before), "files changed inside\n{out}");
    let listing = out.stderr.split("LISTING:").nth(1).unwrap_or_default();
    assert!(
        !listing.contains(".tmp"),
        "a temporary file survived\n{out}"
    );
}

/// Paths typed on the command line are taken as given, as every Unix tool takes them: a
/// relative one from the current directory, an absolute one as it is; `--root` re-bases only
/// the node's own files (issue 22, item 3).
#[test]
fn typed_paths_are_taken_as_given_whatever_root_says() {
    let lead = leader(LEADER_IP, LEADER_IP);
    kb(lead.root()).args(&["pki", "init"]).run().success();
    let elsewhere = tempfile::tempdir().unwrap();
    // Relative: from the current directory, not from --root.
    kb(lead.root())
        .in_dir(elsewhere.path())
        .args(&["pki", "node", "10.0.0.2", "--out", "relative.tar"])
        .run()
        .success();
    assert!(elsewhere.path().join("relative.tar").is_file());
    assert!(!lead.root().join("relative.tar").exists());
    // Absolute: that very path, not one inside --root.
    let absolute = elsewhere.path().join("absolute.tar");
    kb(lead.root())
        .args(&[
            "pki",
            "node",
            "10.0.0.2",
            "--out",
            absolute.to_str().unwrap(),
        ])
        .run()
        .success();
    assert!(absolute.is_file());
    assert!(
        !lead
            .root()
            .join(absolute.strip_prefix("/").unwrap())
            .exists()
    );
    // And `pki install` reads it from there into the worker's own (re-based) KUBE_PKI_DIR.
    let worker = leader(LEADER_IP, "10.0.0.2");
    kb(worker.root())
        .in_dir(elsewhere.path())
        .args(&["pki", "install", "relative.tar"])
        .run()
        .success();
    assert!(pki_dir(&worker).join("kubelet.crt").is_file());
    // --config too: an explicit file is read where it is.
    let config = elsewhere.path().join("typed.env");
    fs::write(&config, "KUBE_VERSON=v1.35.3\n").unwrap();
    kb(worker.root())
        .args(&["--config", config.to_str().unwrap(), "pki", "check"])
        .run()
        .failure(2)
        .mentions(&format!(
            "unknown setting KUBE_VERSON in '{}'",
            config.display()
        ));
}

#[test]
fn help_states_the_path_rule() {
    let sb = Sandbox::new();
    let help = kb(sb.root()).args(&["pki", "node", "--help"]).run();
    help.success();
    assert!(
        help.stdout.contains("as given (not under --root)"),
        "{help}"
    );
    let help = kb(sb.root()).args(&["--help"]).run();
    assert!(
        help.stdout.contains("paths typed") && help.stdout.contains("taken as given"),
        "{help}"
    );
}

#[test]
fn pki_renew_on_a_worker_refuses_and_makes_nothing() {
    let sb = leader(LEADER, LEADER_IP);
    init(&sb).run().success();
    let worker = node_sandbox(LEADER, "10.0.0.7");
    let dir = pki_dir(&worker);
    fs::create_dir_all(&dir).unwrap();
    fs::copy(pki_dir(&sb).join("ca.crt"), dir.join("ca.crt")).unwrap();
    let out = kb(worker.root())
        .args(&["pki", "renew", "--no-restart"])
        .run();
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("pki renew runs on the leader, which holds")
        .mentions("hint: on a worker the kubelet renews its own certificate");
    let left: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["ca.crt"], "nothing made beside ca.crt");
}
