//! Authorization: RBAC as kube-apiserver evaluates it (`plugin/pkg/auth/authorizer/rbac`), over
//! the Roles, ClusterRoles and bindings in the store, with the default ClusterRoles a cluster
//! starts with (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`, abridged to the
//! resources that matter here) and `system:masters` allowed everything. A refusal is 403 in the
//! apiserver's words (`endpoints/handlers/responsewriters/errors.go`, `forbiddenMessage`).

use serde_json::{Value, json};

use super::auth::{Identity, MASTERS};
use super::errors::ApiError;
use super::meta;
use super::pki::ADMIN_GROUP;
use super::resources::ResourceDef;
use super::store::State;

use super::resources::res::{CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES};

/// What a request asks to do, as the authorizer sees it.
#[derive(Clone, Debug)]
pub(super) enum Attributes {
    /// A request for an API resource.
    Resource {
        verb: &'static str,
        group: String,
        /// `pods`, or `pods/log` with a subresource.
        resource: String,
        namespace: Option<String>,
        name: Option<String>,
    },
    /// Any other path (discovery, `/version`).
    Path { verb: &'static str, path: String },
}

/// Whether `who` may do `what`; the 403 the apiserver answers when not.
pub(super) fn authorize(st: &State, who: &Identity, what: &Attributes) -> Result<(), ApiError> {
    if who.groups.iter().any(|g| g == MASTERS) || allowed(st, who, what) {
        return Ok(());
    }
    Err(ApiError::Forbidden(forbidden(who, what)))
}

fn forbidden(who: &Identity, what: &Attributes) -> String {
    let user = &who.user;
    match what {
        Attributes::Path { verb, path } => format!("User {user:?} cannot {verb} path {path:?}"),
        Attributes::Resource {
            verb,
            group,
            resource,
            namespace,
            name,
        } => {
            let base = resource.split('/').next().unwrap_or_default();
            let qualified = if group.is_empty() {
                base.to_string()
            } else {
                format!("{base}.{group}")
            };
            let scope = match namespace {
                Some(ns) => format!("in the namespace {ns:?}"),
                None => "at the cluster scope".to_string(),
            };
            let why = format!(
                "User {user:?} cannot {verb} resource {resource:?} in API group {group:?} {scope}"
            );
            match name {
                Some(n) if !n.is_empty() => format!("{qualified} {n:?} is forbidden: {why}"),
                _ => format!("{qualified} is forbidden: {why}"),
            }
        }
    }
}

fn allowed(st: &State, who: &Identity, what: &Attributes) -> bool {
    let namespace = match what {
        Attributes::Resource { namespace, .. } => namespace.as_deref(),
        Attributes::Path { .. } => None,
    };
    let mut rules: Vec<Value> = Vec::new();
    for b in st.list_owned(CLUSTER_ROLE_BINDINGS, None) {
        if binds(&b, who, "") {
            rules.extend(role_rules(st, &b, ""));
        }
    }
    if let Some(ns) = namespace {
        for b in st.list_owned(ROLE_BINDINGS, Some(ns)) {
            if binds(&b, who, ns) {
                rules.extend(role_rules(st, &b, ns));
            }
        }
    }
    rules.iter().any(|r| rule_allows(r, what))
}

/// Whether binding `b` (in namespace `ns`, empty for a ClusterRoleBinding) names `who`.
fn binds(b: &Value, who: &Identity, ns: &str) -> bool {
    let subjects = b["subjects"].as_array().cloned().unwrap_or_default();
    subjects.iter().any(|s| {
        let name = s["name"].as_str().unwrap_or_default();
        match s["kind"].as_str() {
            Some("User") => who.user == name,
            Some("Group") => who.groups.iter().any(|g| g == name),
            Some("ServiceAccount") => {
                let sa_ns = s["namespace"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(ns);
                who.service_account() == Some((sa_ns, name))
            }
            _ => false,
        }
    })
}

/// The rules of the role binding `b` refers to (a Role only in the binding's namespace).
fn role_rules(st: &State, b: &Value, ns: &str) -> Vec<Value> {
    let name = meta::str_at(b, &["roleRef", "name"]).unwrap_or_default();
    let role = match meta::str_at(b, &["roleRef", "kind"]) {
        Some("ClusterRole") => st.get(CLUSTER_ROLES, "", name),
        Some("Role") if !ns.is_empty() => st.get(ROLES, ns, name),
        _ => None,
    };
    role.and_then(|r| r["rules"].as_array().cloned())
        .unwrap_or_default()
}

fn has(list: &Value, want: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == "*" || v == want))
}

fn rule_allows(rule: &Value, what: &Attributes) -> bool {
    match what {
        Attributes::Path { verb, path } => {
            has(&rule["verbs"], verb)
                && rule["nonResourceURLs"].as_array().is_some_and(|urls| {
                    urls.iter().filter_map(Value::as_str).any(|u| {
                        u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
                    })
                })
        }
        Attributes::Resource {
            verb,
            group,
            resource,
            name,
            ..
        } => {
            let sub = resource.split_once('/').map(|(_, s)| s);
            let resource_ok = rule["resources"].as_array().is_some_and(|rs| {
                rs.iter().filter_map(Value::as_str).any(|r| {
                    r == "*"
                        || r == resource
                        || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s))
                })
            });
            let names_ok = match rule["resourceNames"].as_array() {
                Some(names) if !names.is_empty() => name
                    .as_deref()
                    .is_some_and(|n| names.iter().any(|v| v == n)),
                _ => true,
            };
            has(&rule["verbs"], verb) && has(&rule["apiGroups"], group) && resource_ok && names_ok
        }
    }
}

/// A binding's `roleRef` cannot change (`pkg/apis/rbac/validation`, `ValidateRoleBindingUpdate`
/// and `ValidateClusterRoleBindingUpdate`): the update is 422, naming the new reference.
pub(super) fn check_role_ref(def: &ResourceDef, old: &Value, new: &Value) -> Result<(), ApiError> {
    if !matches!(def.kind, "RoleBinding" | "ClusterRoleBinding") || old["roleRef"] == new["roleRef"]
    {
        return Ok(());
    }
    let r = &new["roleRef"];
    let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    Err(ApiError::Invalid(format!(
        "{}.rbac.authorization.k8s.io {:?} is invalid: roleRef: Invalid value: rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}: cannot change roleRef",
        def.kind,
        meta::name(new),
        field("apiGroup"),
        field("kind"),
        field("name"),
    )))
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({ "apiGroups": groups, "resources": resources, "verbs": verbs })
}

fn cluster_role(name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": { "name": name, "labels": { "kubernetes.io/bootstrapping": "rbac-defaults" } },
        "rules": rules,
    })
}

fn cluster_binding(name: &str, role: &str, group: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": { "name": name },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
        "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group }],
    })
}

/// `view`'s rules: reading a namespace's workloads, never its Secrets.
fn view_rules() -> Vec<Value> {
    vec![
        rule(
            &[""],
            &[
                "pods",
                "pods/log",
                "pods/status",
                "services",
                "services/status",
                "endpoints",
                "persistentvolumeclaims",
                "persistentvolumeclaims/status",
                "configmaps",
                "serviceaccounts",
                "replicationcontrollers",
                "limitranges",
                "resourcequotas",
                "resourcequotas/status",
                "events",
                "bindings",
                "namespaces",
                "namespaces/status",
            ],
            READ,
        ),
        rule(
            &["apps"],
            &[
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status",
            ],
            READ,
        ),
        rule(
            &["autoscaling"],
            &[
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status",
            ],
            READ,
        ),
        rule(
            &["batch"],
            &["jobs", "jobs/status", "cronjobs", "cronjobs/status"],
            READ,
        ),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            READ,
        ),
    ]
}

/// `edit`'s rules: `view`'s, Secrets read, and writing the workloads; no RBAC, no quotas.
fn edit_rules() -> Vec<Value> {
    let mut rules = view_rules();
    rules.extend([
        rule(
            &[""],
            &[
                "secrets",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "services/proxy",
            ],
            READ,
        ),
        rule(
            &[""],
            &[
                "pods",
                "pods/attach",
                "pods/exec",
                "pods/portforward",
                "pods/proxy",
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "replicationcontrollers",
                "secrets",
                "serviceaccounts",
                "services",
                "services/proxy",
            ],
            WRITE,
        ),
        rule(
            &["apps"],
            &[
                "daemonsets",
                "deployments",
                "deployments/rollback",
                "deployments/scale",
                "replicasets",
                "replicasets/scale",
                "statefulsets",
                "statefulsets/scale",
            ],
            WRITE,
        ),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
        rule(&["batch"], &["jobs", "cronjobs"], WRITE),
        rule(
            &["networking.k8s.io"],
            &["ingresses", "networkpolicies"],
            WRITE,
        ),
    ]);
    rules
}

/// Stores the default ClusterRoles and ClusterRoleBindings a cluster starts with.
pub(super) fn populate(st: &mut State) {
    for obj in bootstrap() {
        let res = if obj["kind"] == "ClusterRole" {
            CLUSTER_ROLES
        } else {
            CLUSTER_ROLE_BINDINGS
        };
        st.insert(res, obj);
    }
}

fn bootstrap() -> Vec<Value> {
    let mut admin = edit_rules();
    admin.push(rule(
        &["rbac.authorization.k8s.io"],
        &["roles", "rolebindings"],
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
    ));
    vec![
        cluster_role(
            "cluster-admin",
            vec![
                rule(&["*"], &["*"], &["*"]),
                json!({ "nonResourceURLs": ["*"], "verbs": ["*"] }),
            ],
        ),
        cluster_role("admin", admin),
        cluster_role("edit", edit_rules()),
        cluster_role("view", view_rules()),
        cluster_role(
            "system:discovery",
            vec![json!({
                "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                    "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                "verbs": ["get"],
            })],
        ),
        cluster_binding("cluster-admin", "cluster-admin", MASTERS),
        cluster_binding("kubeadm:cluster-admins", "cluster-admin", ADMIN_GROUP),
        cluster_binding(
            "system:discovery",
            "system:discovery",
            "system:authenticated",
        ),
    ]
}
