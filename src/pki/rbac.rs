//! `pki rbac`: the API objects the identities `pki init` makes, and workers joining with a
//! token, rely on; made on the apiserver beside the leader once it answers. Which objects is
//! pure (`bindings`, `discovery`); the requests go through `kubeapi`.
//!
//! - `admin.conf`'s group to cluster-admin, the apiserver's kubelet client to
//!   system:kubelet-api-admin;
//! - kubelets: renewal CSRs of their own node identity approved (selfnodeclient), and kube-proxy
//!   on a joined worker running as its node (system:node-proxier for system:nodes);
//! - joining: the token's group may create CSRs (system:node-bootstrapper) whose node client
//!   certificate is approved (nodeclient), and anyone may read the cluster CA from
//!   `kube-public/kube-bootstrap-cluster-info` (the worker checks it against a pinned hash).

use std::collections::BTreeMap;
use std::time::Duration;

use super::leaves::{APISERVER_KUBELET_CLIENT_USER, CLUSTER_ADMINS_GROUP};
use super::{Action, Error, Outcome};
use crate::kubeapi::objects::{ClusterRoleBinding, ConfigMap, Object, Role, RoleBinding, Subject};
use crate::kubeapi::{Client, Created};
use crate::settings::Settings;

/// The group every token `pki token` makes puts its worker in.
pub const BOOTSTRAPPERS_GROUP: &str = "system:bootstrappers:kube-bootstrap:default-node-token";
/// Where a joining worker reads the cluster CA (`ca.crt`), with no credentials.
pub const CLUSTER_INFO_NAMESPACE: &str = "kube-public";
pub const CLUSTER_INFO: &str = "kube-bootstrap-cluster-info";

/// The ClusterRoleBindings kube-bootstrap owns. Pure.
pub fn bindings() -> Vec<ClusterRoleBinding> {
    let crb = ClusterRoleBinding::new;
    vec![
        crb(
            CLUSTER_ADMINS_GROUP,
            "cluster-admin",
            vec![Subject::group(CLUSTER_ADMINS_GROUP)],
        ),
        crb(
            "kube-bootstrap:apiserver-kubelet-client",
            "system:kubelet-api-admin",
            vec![Subject::user(APISERVER_KUBELET_CLIENT_USER)],
        ),
        // A kubelet's renewal CSR (rotateCertificates) for its own node identity is approved
        // by the controller-manager when the requester may create selfnodeclient requests.
        crb(
            "kube-bootstrap:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            vec![Subject::group("system:nodes")],
        ),
        // A worker joining with a token: its kubelet may ask for a certificate...
        crb(
            "kube-bootstrap:kubelet-bootstrap",
            "system:node-bootstrapper",
            vec![Subject::group(BOOTSTRAPPERS_GROUP)],
        ),
        // ...which is approved when it asks for a node client certificate.
        crb(
            "kube-bootstrap:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            vec![Subject::group(BOOTSTRAPPERS_GROUP)],
        ),
        // kube-proxy on a joined worker uses its node's identity (no key of its own to move):
        // nodes may read what kube-proxy reads (services, endpoints, nodes), most of which the
        // Node authorizer allows them already.
        crb(
            "kube-bootstrap:node-proxier",
            "system:node-proxier",
            vec![Subject::group("system:nodes")],
        ),
    ]
}

/// The cluster CA published for joining workers, and the rights to read it without
/// credentials (the worker has none yet, and trusts the answer only by its hash). Pure.
pub fn discovery(ca_pem: &str) -> (ConfigMap, Role, RoleBinding) {
    let name = "kube-bootstrap:cluster-info-reader";
    (
        ConfigMap::new(
            CLUSTER_INFO_NAMESPACE,
            CLUSTER_INFO,
            BTreeMap::from([("ca.crt".to_string(), ca_pem.to_string())]),
        ),
        Role::getter(CLUSTER_INFO_NAMESPACE, name, "configmaps", &[CLUSTER_INFO]),
        RoleBinding::new(
            CLUSTER_INFO_NAMESPACE,
            name,
            vec![Subject::user("system:anonymous")],
        ),
    )
}

/// Makes `want` when missing; `replace` overwrites one that says otherwise, else it is named
/// and left alone.
fn ensure<T: Object>(client: &Client, want: &T, replace: bool) -> Result<Outcome, Error> {
    let collection = want.collection();
    let path = format!("{collection}/{}", want.name());
    let have: Option<T> = client.get(&path).map_err(Error::Api)?;
    let action = match have {
        Some(have) if want.agrees(&have) => Action::Kept,
        Some(_) if replace => {
            client.replace(&path, want).map_err(Error::Api)?;
            Action::Reissued
        }
        Some(have) => {
            return Err(Error::ObjectDiffers {
                path: path.clone(),
                have: have.describe(),
                want: want.describe(),
            });
        }
        None => match client.create(&collection, want).map_err(Error::Api)? {
            Created::Made => Action::Made,
            Created::Exists => Action::Kept,
        },
    };
    Ok(Outcome {
        action,
        path: format!("{}{path}", client.base()).into(),
        why: want.describe(),
    })
}

/// The apiserver beside this leader as `super-admin.conf`'s identity, once it is ready.
pub(super) fn leader_client(settings: &Settings, wait: Duration) -> Result<Client, Error> {
    let client = Client::leader(settings, "super-admin").map_err(Error::Api)?;
    client.wait_ready(wait).map_err(Error::Api)?;
    Ok(client)
}

/// `pki rbac`: waits at most `wait` for the apiserver, then makes each missing object. Nothing
/// to do below 1.20, whose insecure topology authorizes everything.
pub fn rbac(settings: &Settings, wait: Duration) -> Result<Vec<Outcome>, Error> {
    let minor = crate::flags::rules_minor(&settings.version);
    if minor < 20 {
        tracing::info!(
            version = %settings.version,
            "nothing to bind: Kubernetes < 1.20 runs the insecure topology, without RBAC"
        );
        return Ok(Vec::new());
    }
    let client = leader_client(settings, wait)?;
    ensure_all(settings, &client)
}

/// Every object of `bindings` and `discovery`, on a ready apiserver.
pub(super) fn ensure_all(settings: &Settings, client: &Client) -> Result<Vec<Outcome>, Error> {
    let mut out = Vec::new();
    for want in bindings() {
        out.push(ensure(client, &want, false)?);
    }
    let (_, ca) = super::read_ca(settings)?;
    let (config_map, role, binding) = discovery(&String::from_utf8_lossy(&ca));
    out.push(ensure(client, &config_map, true)?);
    out.push(ensure(client, &role, false)?);
    out.push(ensure(client, &binding, false)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_grant_the_identities_of_pki_and_joining_workers_and_nothing_else() {
        let described: Vec<String> = bindings().iter().map(Object::describe).collect();
        assert_eq!(
            described,
            [
                "group kube-bootstrap:cluster-admins -> ClusterRole cluster-admin",
                "user kube-apiserver-kubelet-client -> ClusterRole system:kubelet-api-admin",
                "group system:nodes -> ClusterRole system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                "group system:bootstrappers:kube-bootstrap:default-node-token -> ClusterRole system:node-bootstrapper",
                "group system:bootstrappers:kube-bootstrap:default-node-token -> ClusterRole system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                "group system:nodes -> ClusterRole system:node-proxier",
            ]
        );
        let (cm, role, binding) = discovery("PEM");
        assert_eq!(cm.collection(), "/api/v1/namespaces/kube-public/configmaps");
        assert_eq!(cm.data["ca.crt"], "PEM");
        // Anonymous may get that one ConfigMap, nothing else.
        assert_eq!(
            role.describe(),
            "get configmaps kube-bootstrap-cluster-info in kube-public"
        );
        assert_eq!(
            binding.describe(),
            "user system:anonymous -> Role kube-bootstrap:cluster-info-reader in kube-public"
        );
    }
}
