//! `pki rbac` against a stand-in apiserver on 127.0.0.1: a Python HTTPS server with the
//! leader's `apiserver.crt` that requires a client certificate of `ca.crt`, answers `/readyz`,
//! and keeps the ClusterRoleBindings it is sent, recording who sent them.

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
bindings = json.loads(preset) if preset else {}
asked = {"readyz": 0}
PREFIX = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
class Api(http.server.BaseHTTPRequestHandler):
    def who(self):
        subject = dict(x[0] for x in self.connection.getpeercert()["subject"])
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
    def do_GET(self):
        self.log(f"GET {self.path} {self.who()}")
        if self.path == "/readyz":
            asked["readyz"] += 1
            return self.answer(200, "ok") if asked["readyz"] > not_ready else self.answer(500, "[-]etcd failed")
        name = self.path[len(PREFIX) + 1:]
        if self.path.startswith(PREFIX + "/") and name in bindings:
            served = dict(bindings[name])
            served["metadata"] = {"name": name, "uid": "u-1", "resourceVersion": "42"}
            return self.answer(200, served)
        self.answer(404, {"kind": "Status", "code": 404})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.log(f"POST {self.path} {self.who()} {self.headers['Content-Type']} {json.dumps(body, sort_keys=True)}")
        bindings[body["metadata"]["name"]] = body
        self.answer(201, body)
    def log_message(self, *a): pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(pki, "apiserver.crt"), os.path.join(pki, "apiserver.key"))
ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
ctx.verify_mode = ssl.CERT_REQUIRED
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
    assert_eq!(posted.len(), 2, "{requests:#?}");
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
        2,
        "{again}"
    );
    assert_eq!(posts(&leader.requests()).len(), 2);
}

#[test]
fn pki_rbac_refuses_to_change_a_binding_that_grants_something_else() {
    let preset = r#"{"kube-bootstrap:cluster-admins": {"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding", "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole", "name": "view"}, "subjects": [{"apiGroup": "rbac.authorization.k8s.io",
        "kind": "Group", "name": "kube-bootstrap:cluster-admins"}]}}"#;
    let leader = Leader::start(0, preset);
    let out = leader.rbac("30").run();
    assert_eq!(out.code(), Some(1), "{out}");
    out.mentions("clusterrolebinding 'kube-bootstrap:cluster-admins' exists but grants group kube-bootstrap:cluster-admins -> ClusterRole view")
        .mentions("hint: inspect it with 'kubectl get clusterrolebinding kube-bootstrap:cluster-admins -o yaml'");
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
