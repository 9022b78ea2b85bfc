//! The API objects kube-bootstrap writes, as typed serde documents (only the fields it sets or
//! compares; the server's other fields are ignored when read back).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The label every object kube-bootstrap makes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kube-bootstrap");

/// `metadata`: a name, and labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// A name, labelled as made by kube-bootstrap.
    pub fn managed(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_string(),
            labels: BTreeMap::from([(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())]),
        }
    }
}

/// `rbac.authorization.k8s.io/v1` ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRoleBinding {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: Vec<Subject>,
}

/// The ClusterRole a binding grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

/// Who a binding grants it to: a `User` or a `Group` (by the certificate's CN or O).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: String,
    #[serde(default)]
    pub api_group: String,
    pub name: String,
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// `metadata` of a namespaced object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespacedMeta {
    pub name: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl NamespacedMeta {
    pub fn managed(namespace: &str, name: &str) -> NamespacedMeta {
        NamespacedMeta {
            name: name.into(),
            namespace: namespace.into(),
            labels: ObjectMeta::managed(name).labels,
        }
    }
}

/// `v1` Secret, written with `stringData` (the apiserver encodes it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: NamespacedMeta,
    #[serde(rename = "type")]
    pub type_: String,
    pub string_data: BTreeMap<String, String>,
}

/// `v1` ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    pub api_version: String,
    pub kind: String,
    pub metadata: NamespacedMeta,
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// `rbac.authorization.k8s.io/v1` Role: what may be done in one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub api_version: String,
    pub kind: String,
    pub metadata: NamespacedMeta,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

/// One rule of a Role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
    #[serde(default)]
    pub verbs: Vec<String>,
}

/// `rbac.authorization.k8s.io/v1` RoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBinding {
    pub api_version: String,
    pub kind: String,
    pub metadata: NamespacedMeta,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: Vec<Subject>,
}

impl ConfigMap {
    pub fn new(namespace: &str, name: &str, data: BTreeMap<String, String>) -> ConfigMap {
        ConfigMap {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            metadata: NamespacedMeta::managed(namespace, name),
            data,
        }
    }
}

impl Role {
    /// `get` on the named objects of one resource (`""` group).
    pub fn getter(namespace: &str, name: &str, resource: &str, names: &[&str]) -> Role {
        Role {
            api_version: format!("{RBAC_GROUP}/v1"),
            kind: "Role".into(),
            metadata: NamespacedMeta::managed(namespace, name),
            rules: vec![PolicyRule {
                api_groups: vec![String::new()],
                resources: vec![resource.into()],
                resource_names: names.iter().map(|n| n.to_string()).collect(),
                verbs: vec!["get".into()],
            }],
        }
    }
}

impl RoleBinding {
    /// `name` grants the Role of the same name to `subjects`.
    pub fn new(namespace: &str, name: &str, subjects: Vec<Subject>) -> RoleBinding {
        RoleBinding {
            api_version: format!("{RBAC_GROUP}/v1"),
            kind: "RoleBinding".into(),
            metadata: NamespacedMeta::managed(namespace, name),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "Role".into(),
                name: name.into(),
            },
            subjects,
        }
    }
}

impl ClusterRoleBinding {
    /// `name` grants the ClusterRole `role` to `subjects`.
    pub fn new(name: &str, role: &str, subjects: Vec<Subject>) -> ClusterRoleBinding {
        ClusterRoleBinding {
            api_version: format!("{RBAC_GROUP}/v1"),
            kind: "ClusterRoleBinding".into(),
            metadata: ObjectMeta::managed(name),
            role_ref: RoleRef {
                api_group: RBAC_GROUP.into(),
                kind: "ClusterRole".into(),
                name: role.into(),
            },
            subjects,
        }
    }

    /// Whether `other` grants the same role to the same subjects (labels aside).
    pub fn grants_as(&self, other: &ClusterRoleBinding) -> bool {
        self.role_ref == other.role_ref && sorted(&self.subjects) == sorted(&other.subjects)
    }

    /// `group G -> ClusterRole R`, for people.
    pub fn describe(&self) -> String {
        format!(
            "{} -> ClusterRole {}",
            who(&self.subjects),
            self.role_ref.name
        )
    }
}

impl Subject {
    pub fn group(name: &str) -> Subject {
        Subject {
            kind: "Group".into(),
            api_group: RBAC_GROUP.into(),
            name: name.into(),
        }
    }

    pub fn user(name: &str) -> Subject {
        Subject {
            kind: "User".into(),
            api_group: RBAC_GROUP.into(),
            name: name.into(),
        }
    }
}

/// An object kube-bootstrap keeps as it wants it: where it lives and whether a served copy
/// says the same.
pub trait Object: Serialize + DeserializeOwned {
    /// The collection it is created in (`/api/v1/namespaces/kube-public/configmaps`).
    fn collection(&self) -> String;
    fn name(&self) -> &str;
    /// Whether the served copy grants or holds what this one does (the server's own fields aside).
    fn agrees(&self, served: &Self) -> bool;
    /// What it is and says, for people: `clusterrolebinding/x (group g -> ClusterRole r)`.
    fn describe(&self) -> String;
}

fn sorted(subjects: &[Subject]) -> Vec<Subject> {
    let mut s = subjects.to_vec();
    s.sort();
    s
}

fn who(subjects: &[Subject]) -> String {
    subjects
        .iter()
        .map(|s| format!("{} {}", s.kind.to_lowercase(), s.name))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Object for ClusterRoleBinding {
    fn collection(&self) -> String {
        format!("/apis/{RBAC_GROUP}/v1/clusterrolebindings")
    }
    fn name(&self) -> &str {
        &self.metadata.name
    }
    fn agrees(&self, served: &Self) -> bool {
        self.grants_as(served)
    }
    fn describe(&self) -> String {
        ClusterRoleBinding::describe(self)
    }
}

impl Object for RoleBinding {
    fn collection(&self) -> String {
        format!(
            "/apis/{RBAC_GROUP}/v1/namespaces/{}/rolebindings",
            self.metadata.namespace
        )
    }
    fn name(&self) -> &str {
        &self.metadata.name
    }
    fn agrees(&self, served: &Self) -> bool {
        self.role_ref == served.role_ref && sorted(&self.subjects) == sorted(&served.subjects)
    }
    fn describe(&self) -> String {
        format!(
            "{} -> Role {} in {}",
            who(&self.subjects),
            self.role_ref.name,
            self.metadata.namespace
        )
    }
}

impl Object for Role {
    fn collection(&self) -> String {
        format!(
            "/apis/{RBAC_GROUP}/v1/namespaces/{}/roles",
            self.metadata.namespace
        )
    }
    fn name(&self) -> &str {
        &self.metadata.name
    }
    fn agrees(&self, served: &Self) -> bool {
        self.rules == served.rules
    }
    fn describe(&self) -> String {
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.verbs.join(","),
                    r.resources.join(","),
                    r.resource_names.join(",")
                )
            })
            .collect();
        format!("{} in {}", rules.join("; "), self.metadata.namespace)
    }
}

impl Object for ConfigMap {
    fn collection(&self) -> String {
        format!("/api/v1/namespaces/{}/configmaps", self.metadata.namespace)
    }
    fn name(&self) -> &str {
        &self.metadata.name
    }
    fn agrees(&self, served: &Self) -> bool {
        self.data == served.data
    }
    fn describe(&self) -> String {
        let keys: Vec<&str> = self.data.keys().map(String::as_str).collect();
        format!("{} in {}", keys.join(", "), self.metadata.namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_serializes_as_the_api_wants_and_reads_back_what_the_server_adds() {
        let b = ClusterRoleBinding::new("x", "cluster-admin", vec![Subject::group("g")]);
        let json: serde_json::Value = serde_json::to_value(&b).unwrap();
        assert_eq!(json["apiVersion"], "rbac.authorization.k8s.io/v1");
        assert_eq!(json["roleRef"]["kind"], "ClusterRole");
        assert_eq!(json["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(
            json["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "kube-bootstrap"
        );
        // What a server returns: more metadata, no labels, subjects in another order.
        let served = r#"{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",
            "metadata":{"name":"x","uid":"u","resourceVersion":"7","creationTimestamp":"2026-01-01T00:00:00Z"},
            "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
            "subjects":[{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"g"}]}"#;
        let read: ClusterRoleBinding = serde_json::from_str(served).unwrap();
        assert!(read.grants_as(&b));
        let other = ClusterRoleBinding::new("x", "view", vec![Subject::group("g")]);
        assert!(!read.grants_as(&other));
        assert_eq!(b.describe(), "group g -> ClusterRole cluster-admin");
    }
}
