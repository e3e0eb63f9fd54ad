//! The resource types the fake serves: their REST names, kinds, groups and behaviours.

/// One served resource type (the fake's equivalent of an `APIResource` entry).
#[derive(Debug)]
pub(super) struct ResourceDef {
    /// REST plural (`deployments`).
    pub plural: &'static str,
    /// Singular name for discovery (`deployment`).
    pub singular: &'static str,
    /// Kind (`Deployment`).
    pub kind: &'static str,
    /// API group, empty for the core group.
    pub group: &'static str,
    /// The one version served (`v1`; `v2` for autoscaling, whose v1 lacks CPU targets' shape).
    pub version: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Whether the type has a `/status` subresource (its status is ignored on writes to the main resource).
    pub status_subresource: bool,
    /// Whether `metadata.generation` is maintained (bumped on spec changes).
    pub generation: bool,
    /// Short names for discovery.
    pub short_names: &'static [&'static str],
}

impl ResourceDef {
    /// `apiVersion` of the type (`v1`, `apps/v1`).
    pub fn api_version(&self) -> &'static str {
        match self.group {
            "" => "v1",
            "storage.k8s.io" => "storage.k8s.io/v1",
            "autoscaling" => "autoscaling/v2",
            "apiregistration.k8s.io" => "apiregistration.k8s.io/v1",
            "rbac.authorization.k8s.io" => "rbac.authorization.k8s.io/v1",
            _ => "apps/v1",
        }
    }

    /// Kind of the list type (`DeploymentList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The group-qualified resource name real error messages use (`deployments.apps`).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const fn def(
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    group: &'static str,
    namespaced: bool,
    status_subresource: bool,
    short_names: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        plural,
        singular,
        kind,
        group,
        version: if matches!(group.as_bytes(), b"autoscaling") {
            "v2"
        } else {
            "v1"
        },
        namespaced,
        status_subresource,
        // The workloads (group apps) keep a generation; the core and storage types here do not.
        generation: matches!(group.as_bytes(), b"apps"),
        short_names,
    }
}

/// The RBAC API group.
const RBAC: &str = "rbac.authorization.k8s.io";

/// Every resource type the fake serves.
pub(super) static RESOURCES: &[ResourceDef] = &[
    def(
        "namespaces",
        "namespace",
        "Namespace",
        "",
        false,
        true,
        &["ns"],
    ),
    def("pods", "pod", "Pod", "", true, true, &["po"]),
    def("services", "service", "Service", "", true, true, &["svc"]),
    def(
        "configmaps",
        "configmap",
        "ConfigMap",
        "",
        true,
        false,
        &["cm"],
    ),
    def("secrets", "secret", "Secret", "", true, false, &[]),
    def(
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        "",
        true,
        false,
        &["sa"],
    ),
    def(
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        "",
        true,
        true,
        &["quota"],
    ),
    def(
        "limitranges",
        "limitrange",
        "LimitRange",
        "",
        true,
        false,
        &["limits"],
    ),
    def(
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        "",
        true,
        true,
        &["pvc"],
    ),
    def("nodes", "node", "Node", "", false, true, &["no"]),
    def(
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        "",
        false,
        true,
        &["pv"],
    ),
    def("events", "event", "Event", "", true, false, &["ev"]),
    def(
        "storageclasses",
        "storageclass",
        "StorageClass",
        "storage.k8s.io",
        false,
        false,
        &["sc"],
    ),
    def(
        "deployments",
        "deployment",
        "Deployment",
        "apps",
        true,
        true,
        &["deploy"],
    ),
    def(
        "statefulsets",
        "statefulset",
        "StatefulSet",
        "apps",
        true,
        true,
        &["sts"],
    ),
    def(
        "daemonsets",
        "daemonset",
        "DaemonSet",
        "apps",
        true,
        true,
        &["ds"],
    ),
    def(
        "replicasets",
        "replicaset",
        "ReplicaSet",
        "apps",
        true,
        true,
        &["rs"],
    ),
    def(
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        "autoscaling",
        true,
        true,
        &["hpa"],
    ),
    def("roles", "role", "Role", RBAC, true, false, &[]),
    def(
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        RBAC,
        true,
        false,
        &[],
    ),
    def(
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        RBAC,
        false,
        false,
        &[],
    ),
    def(
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        RBAC,
        false,
        false,
        &[],
    ),
    def(
        "apiservices",
        "apiservice",
        "APIService",
        "apiregistration.k8s.io",
        false,
        true,
        &[],
    ),
];

/// The groups served besides the core one, in discovery order.
pub(super) fn groups() -> Vec<&'static ResourceDef> {
    let mut out: Vec<&'static ResourceDef> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !out.iter().any(|o| o.group == r.group) {
            out.push(r);
        }
    }
    out
}

/// The resource with this plural in this group (`""` = core).
pub(super) fn by_plural(group: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
}

/// The resource of this kind (kinds are unique across the served groups).
pub(super) fn by_kind(kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// Shorthand for the resource definitions the controllers use (all present in [`RESOURCES`]).
pub(super) mod res {
    pub const NAMESPACES: &str = "namespaces";
    pub const PODS: &str = "pods";
    pub const SECRETS: &str = "secrets";
    pub const SERVICE_ACCOUNTS: &str = "serviceaccounts";
    pub const CLUSTER_ROLES: &str = "clusterroles";
    pub const CLUSTER_ROLE_BINDINGS: &str = "clusterrolebindings";
    pub const ROLES: &str = "roles";
    pub const ROLE_BINDINGS: &str = "rolebindings";
    pub const CONFIGMAPS: &str = "configmaps";
    pub const PVCS: &str = "persistentvolumeclaims";
    pub const PVS: &str = "persistentvolumes";
    pub const NODES: &str = "nodes";
    pub const EVENTS: &str = "events";
    pub const STORAGE_CLASSES: &str = "storageclasses";
    pub const DEPLOYMENTS: &str = "deployments";
    pub const STATEFULSETS: &str = "statefulsets";
    pub const DAEMONSETS: &str = "daemonsets";
    pub const REPLICASETS: &str = "replicasets";
    pub const HPAS: &str = "horizontalpodautoscalers";
    pub const APISERVICES: &str = "apiservices";
}

/// The definition for a plural known to be in [`RESOURCES`] (controllers only use those).
pub(super) fn known(plural: &str) -> &'static ResourceDef {
    match RESOURCES.iter().find(|r| r.plural == plural) {
        Some(d) => d,
        // Only called with the `res::*` constants, all of which are in RESOURCES; falling back
        // to the first entry keeps this total without a panic.
        None => &RESOURCES[0],
    }
}
