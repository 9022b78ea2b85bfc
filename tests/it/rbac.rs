//! `pki rbac`, `pki token` and `pki join` against a stand-in apiserver on 127.0.0.1: a Python
//! HTTPS server with the leader's `apiserver.crt` that reads a client certificate of `ca.crt`
//! when one is offered, answers `/readyz`, and keeps the objects it is sent, recording who sent
//! them.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::cmd::Kb;
use crate::support::server::Served;
use crate::support::{Sandbox, kb, node_sandbox};

const STAND_IN: &str = r#"
import http.server, json, os, socketserver, ssl, sys
pki, state, not_ready, preset = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
objects = json.loads(preset) if preset else {}
asked = {"readyz": 0}
class Api(http.server.BaseHTTPRequestHandler):
    def who(self):
        cert = self.connection.getpeercert()
        if not cert:
            return "anonymous"
        subject = dict(x[0] for x in cert["subject"])
        return subject.get("commonName", "") + "/" + subject.get("organizationName", "")
    def answer(self, code, body):
        data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log(self, line):
        with open(os.path.join(state, "requests"), "a") as f:
            f.write(line + "\n")
    def body(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))
    def do_GET(self):
        self.log(f"GET {self.path} {self.who()}")
        if self.path == "/readyz":
            asked["readyz"] += 1
            return self.answer(200, "ok") if asked["readyz"] > not_ready else self.answer(500, "[-]etcd failed")
        if self.path in objects:
            served = dict(objects[self.path])
            served["metadata"] = dict(served.get("metadata", {}), uid="u-1", resourceVersion="42")
            served["metadata"].pop("labels", None)
            return self.answer(200, served)
        self.answer(404, {"kind": "Status", "code": 404})
    def do_POST(self):
        body = self.body()
        self.log(f"POST {self.path} {self.who()} {self.headers['Content-Type']} {json.dumps(body, sort_keys=True)}")
        objects[self.path + "/" + body["metadata"]["name"]] = body
        self.answer(201, body)
    def do_PUT(self):
        body = self.body()
        self.log(f"PUT {self.path} {self.who()} {json.dumps(body, sort_keys=True)}")
        objects[self.path] = body
        self.answer(200, body)
    def log_message(self, *a): pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(pki, "apiserver.crt"), os.path.join(pki, "apiserver.key"))
ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
ctx.verify_mode = ssl.CERT_OPTIONAL
srv = Server(("127.0.0.1", 0), Api)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = os.path.join(state, "port.tmp")
open(tmp, "w").write(str(srv.server_address[1]))
os.rename(tmp, os.path.join(state, "port"))
srv.serve_forever()
"#;

/// A leader whose `pki init` ran, and the stand-in apiserver serving with its certificates;
/// `/readyz` fails `not_ready` times first; `preset` is a JSON map of bindings it already has.
struct Leader {
    sb: Sandbox,
    api: Served,
}

impl Leader {
    fn start(not_ready: u32, preset: &str) -> Leader {
        let sb = node_sandbox("127.0.0.1", "127.0.0.1");
        kb(sb.root()).args(&["pki", "init"]).run().success();
        let state = sb.root().join("stand-in");
        fs::create_dir_all(&state).unwrap();
        let mut cmd = Command::new("python3");
        cmd.args(["-c", STAND_IN])
            .arg(sb.root().join("etc/kubernetes/pki"))
            .arg(&state)
            .arg(not_ready.to_string())
            .arg(preset);
        let api = Served::start(cmd, &state.join("port"), "the stand-in apiserver");
        Leader { sb, api }
    }

    fn rbac(&self, wait: &str) -> Kb {
        kb(self.sb.root())
            .env("KUBE_APISERVER_PORT", self.api.port.to_string())
            .args(&["pki", "rbac", "--wait", wait])
    }

    fn requests(&self) -> Vec<String> {
        fs::read_to_string(self.sb.root().join("stand-in/requests"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn posts(requests: &[String]) -> Vec<&String> {
    requests.iter().filter(|r| r.starts_with("POST ")).collect()
}

#[test]
fn pki_rbac_waits_for_the_apiserver_then_makes_each_missing_binding_once_as_super_admin() {
    let leader = Leader::start(2, "");
    let out = leader.rbac("30").run();
    out.success();
    for name in [
        "kube-bootstrap:cluster-admins",
        "kube-bootstrap:apiserver-kubelet-client",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("made")
                    && l.contains(&format!("/clusterrolebindings/{name}"))),
            "{name} not made\n{out}"
        );
    }
    for grant in [
        "(group kube-bootstrap:cluster-admins -> ClusterRole cluster-admin)",
        "(user kube-apiserver-kubelet-client -> ClusterRole system:kubelet-api-admin)",
    ] {
        assert!(out.stdout.contains(grant), "{grant}\n{out}");
    }
    let requests = leader.requests();
    let readyz = requests
        .iter()
        .filter(|r| r.starts_with("GET /readyz"))
        .count();
    assert_eq!(
        readyz, 3,
        "waited through two failing /readyz: {requests:#?}"
    );
    let posted = posts(&requests);
    assert_eq!(posted.len(), 9, "{requests:#?}");
    for p in &posted {
        // As the break-glass identity, with typed JSON.
        assert!(
            p.contains(" kubernetes-super-admin/system:masters application/json "),
            "{p}"
        );
    }
    assert!(
        posted[0].contains(
            r#""roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}"#
        ) && posted[0].contains(
            r#""subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kube-bootstrap:cluster-admins"}]"#
        ) && posted[0].contains(r#""labels": {"app.kubernetes.io/managed-by": "kube-bootstrap"}"#),
        "{}",
        posted[0]
    );

    // Again: both are there, nothing is sent.
    let again = leader.rbac("30").run();
    again.success();
    assert_eq!(
        again
            .stdout
            .lines()
            .filter(|l| l.starts_with("kept"))
            .count(),
        9,
        "{again}"
    );
    assert_eq!(posts(&leader.requests()).len(), 9);
}

#[test]
fn pki_rbac_refuses_to_change_a_binding_that_grants_something_else() {
    let preset = r#"{"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kube-bootstrap:cluster-admins": {"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding", "metadata": {"name": "kube-bootstrap:cluster-admins"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole", "name": "view"}, "subjects": [{"apiGroup": "rbac.authorization.k8s.io",
        "kind": "Group", "name": "kube-bootstrap:cluster-admins"}]}}"#;
    let leader = Leader::start(0, preset);
    let out = leader.rbac("30").run();
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("'/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kube-bootstrap:cluster-admins' exists but says group kube-bootstrap:cluster-admins -> ClusterRole view, not group kube-bootstrap:cluster-admins -> ClusterRole cluster-admin")
        .mentions("hint: inspect it with 'kubectl get --raw /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kube-bootstrap:cluster-admins'");
    assert!(posts(&leader.requests()).is_empty());
}

#[test]
fn pki_rbac_gives_up_on_an_apiserver_that_never_answers_within_its_wait() {
    let leader = Leader::start(u32::MAX, "");
    let started = Instant::now();
    let out = leader.rbac("2").run();
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions(&format!(
        "the apiserver at https://127.0.0.1:{}/readyz was not ready within 2 s (last: 500: [-]etcd failed)",
        leader.api.port
    ))
    .mentions("hint: start the apiserver");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn pki_rbac_without_pki_init_names_the_file_and_below_1_20_does_nothing() {
    let sb = node_sandbox("127.0.0.1", "127.0.0.1");
    let out = kb(sb.root()).args(&["pki", "rbac", "--wait", "1"]).run();
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("ca.crt")
        .mentions("hint: run 'kube-bootstrap pki init' on the leader first");
    let old = kb(sb.root())
        .env("KUBE_VERSION", "v1.19.16")
        .args(&["pki", "rbac", "--wait", "1"])
        .run();
    old.success();
    assert!(old.stdout.is_empty(), "{old}");
    assert!(!Path::new(&sb.root().join("etc/kubernetes/pki")).exists());
}

/// A worker sandbox whose `/etc/leader` names the stand-in and whose settings join with `token`
/// pinning `hash`.
fn worker(leader: &Leader, token: &str, hash: &str) -> Sandbox {
    let sb = node_sandbox(&format!("127.0.0.1:{}", leader.api.port), "127.0.0.2");
    crate::support::write(
        sb.root(),
        "etc/kube-bootstrap.env",
        &format!("KUBE_BOOTSTRAP_TOKEN={token}\nKUBE_DISCOVERY_TOKEN_CA_CERT_HASH={hash}\n"),
    );
    sb
}

/// The two lines `pki token` prints: (token, hash).
fn token_lines(out: &str) -> (String, String) {
    let value = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {out:?}"))
            .to_string()
    };
    (
        value("KUBE_BOOTSTRAP_TOKEN"),
        value("KUBE_DISCOVERY_TOKEN_CA_CERT_HASH"),
    )
}

#[test]
fn pki_token_stores_a_bootstrap_token_and_a_worker_joins_only_the_ca_it_pins() {
    let leader = Leader::start(0, "");
    let out = kb(leader.sb.root())
        .env("KUBE_APISERVER_PORT", leader.api.port.to_string())
        .args(&["pki", "token", "--ttl", "2h", "--wait", "10"])
        .run();
    out.success();
    // stdout is the worker's two lines and nothing else; the secret is never logged.
    assert_eq!(out.stdout.lines().count(), 2, "{out}");
    let (token, hash) = token_lines(&out.stdout);
    let secret = token.split_once('.').unwrap().1.to_string();
    assert!(!out.stderr.contains(&secret), "{out}");
    // The hash is openssl's of the CA's public key.
    let spki = Command::new("sh")
        .arg("-c")
        .arg("openssl x509 -noout -pubkey -in ca.crt | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1")
        .current_dir(leader.sb.root().join("etc/kubernetes/pki"))
        .output()
        .unwrap();
    assert_eq!(
        hash,
        format!("sha256:{}", String::from_utf8_lossy(&spki.stdout).trim())
    );
    let posted: Vec<String> = leader
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("POST /api/v1/namespaces/kube-system/secrets "))
        .collect();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let id = token.split_once('.').unwrap().0;
    for field in [
        format!(r#""name": "bootstrap-token-{id}""#),
        r#""type": "bootstrap.kubernetes.io/token""#.to_string(),
        format!(r#""token-secret": "{secret}""#),
        r#""usage-bootstrap-authentication": "true""#.to_string(),
        r#""auth-extra-groups": "system:bootstrappers:kube-bootstrap:default-node-token""#
            .to_string(),
    ] {
        assert!(posted[0].contains(&field), "{field} in {}", posted[0]);
    }
    assert!(posted[0].contains(" kubernetes-super-admin/system:masters "));

    // A worker that pins another hash refuses the CA, naming both, and writes nothing.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let before = leader.requests().len();
    let sb = worker(&leader, &token, &wrong);
    let out = kb(sb.root()).args(&["pki", "join", "--wait", "10"]).run();
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions(&format!(
        "holds a CA whose public key is {hash}, but KUBE_DISCOVERY_TOKEN_CA_CERT_HASH pins {wrong}"
    ))
    .mentions("hint: check KUBE_DISCOVERY_TOKEN_CA_CERT_HASH");
    assert!(!sb.root().join("etc/kubernetes/pki/ca.crt").exists());
    // It asked without credentials, and sent nothing.
    let asked = leader.requests()[before..].to_vec();
    assert!(
        !asked.is_empty()
            && asked.iter().all(|r| r
                == "GET /api/v1/namespaces/kube-public/configmaps/kube-bootstrap-cluster-info anonymous"),
        "{asked:#?}"
    );

    // The pinned hash: ca.crt is the leader's, and the kubelet's flags join with the token.
    let sb = worker(&leader, &token, &hash);
    kb(sb.root())
        .args(&["pki", "join", "--wait", "10"])
        .run()
        .success();
    assert_eq!(
        fs::read(sb.root().join("etc/kubernetes/pki/ca.crt")).unwrap(),
        fs::read(leader.sb.root().join("etc/kubernetes/pki/ca.crt")).unwrap()
    );
    // pki init never starts a CA of its own there.
    let init = kb(sb.root()).args(&["pki", "init"]).run();
    assert_eq!(init.code(), Some(1), "{init}");
    init.mentions(
        "pki init runs on the leader; this node joins the cluster with KUBE_BOOTSTRAP_TOKEN",
    );
    assert!(!sb.root().join("etc/kubernetes/pki/sa.key").exists());
    let again = kb(sb.root()).args(&["pki", "join", "--wait", "1"]).run();
    again.success();
    assert!(again.stdout.starts_with("kept"), "{again}");
    let flags = kb(sb.root())
        .env("KUBE_SKEW_CHECK", "off")
        .args(&["flags", "kubelet", "--json"])
        .run();
    flags.success();
    assert!(
        !flags.stdout.contains(&secret),
        "the token is never printed\n{flags}"
    );
    for needle in [
        "--bootstrap-kubeconfig=",
        "(holds the bootstrap token: written, never printed)",
        "kubelet-client-current.pem",
    ] {
        assert!(flags.stdout.contains(needle), "{needle}\n{flags}");
    }
    assert!(!flags.stdout.contains("kubelet.key"), "{flags}");
}
