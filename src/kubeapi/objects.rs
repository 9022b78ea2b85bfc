//! The API objects kube-bootstrap writes, as typed serde documents (only the fields it sets or
//! compares; the server's other fields are ignored when read back).

use std::collections::BTreeMap;

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
        let sorted = |b: &ClusterRoleBinding| {
            let mut s = b.subjects.clone();
            s.sort();
            s
        };
        self.role_ref == other.role_ref && sorted(self) == sorted(other)
    }

    /// `group G -> ClusterRole R`, for people.
    pub fn describe(&self) -> String {
        let who: Vec<String> = self
            .subjects
            .iter()
            .map(|s| format!("{} {}", s.kind.to_lowercase(), s.name))
            .collect();
        format!("{} -> ClusterRole {}", who.join(", "), self.role_ref.name)
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
