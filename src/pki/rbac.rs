//! `pki rbac`: the ClusterRoleBindings the identities `pki init` makes rely on, made on the
//! apiserver beside the leader once it answers: `admin.conf`'s group to cluster-admin and the
//! apiserver's kubelet client to system:kubelet-api-admin. Which bindings is pure (`bindings`);
//! the requests go through `kubeapi`.

use std::time::Duration;

use super::leaves::{APISERVER_KUBELET_CLIENT_USER, CLUSTER_ADMINS_GROUP};
use super::{Action, Error, Outcome};
use crate::kubeapi::objects::{ClusterRoleBinding, Subject};
use crate::kubeapi::{Client, Created};
use crate::settings::Settings;

const BINDINGS: &str = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";

/// The bindings kube-bootstrap owns. Pure.
pub fn bindings() -> Vec<ClusterRoleBinding> {
    vec![
        ClusterRoleBinding::new(
            CLUSTER_ADMINS_GROUP,
            "cluster-admin",
            vec![Subject::group(CLUSTER_ADMINS_GROUP)],
        ),
        ClusterRoleBinding::new(
            "kube-bootstrap:apiserver-kubelet-client",
            "system:kubelet-api-admin",
            vec![Subject::user(APISERVER_KUBELET_CLIENT_USER)],
        ),
    ]
}

/// `pki rbac`: waits at most `wait` for the apiserver, then makes each missing binding. Nothing
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
    let client = Client::leader(settings, "super-admin").map_err(Error::Api)?;
    client.wait_ready(wait).map_err(Error::Api)?;
    let mut out = Vec::new();
    for want in bindings() {
        let name = &want.metadata.name;
        let path = format!("{}{BINDINGS}/{name}", client.base());
        let have: Option<ClusterRoleBinding> = client
            .get(&format!("{BINDINGS}/{name}"))
            .map_err(Error::Api)?;
        let action = match have {
            Some(have) if have.grants_as(&want) => Action::Kept,
            Some(have) => {
                return Err(Error::BindingDiffers {
                    name: name.clone(),
                    have: have.describe(),
                    want: want.describe(),
                });
            }
            None => match client.create(BINDINGS, &want).map_err(Error::Api)? {
                Created::Made => Action::Made,
                Created::Exists => Action::Kept,
            },
        };
        out.push(Outcome {
            action,
            path: path.into(),
            why: want.describe(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_grant_the_identities_of_pki_init_and_nothing_else() {
        let b = bindings();
        let described: Vec<String> = b.iter().map(|b| b.describe()).collect();
        assert_eq!(
            described,
            [
                "group kube-bootstrap:cluster-admins -> ClusterRole cluster-admin",
                "user kube-apiserver-kubelet-client -> ClusterRole system:kubelet-api-admin",
            ]
        );
        let names: Vec<&str> = b.iter().map(|b| b.metadata.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kube-bootstrap:cluster-admins",
                "kube-bootstrap:apiserver-kubelet-client"
            ]
        );
    }
}
