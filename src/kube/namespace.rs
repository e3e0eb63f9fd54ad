//! A room's own namespaces (`/ns`): a namespace labelled as labkube's, a LimitRange that gives
//! every container a default request (so a quota on requests admits pods that name none) and,
//! when asked, a ResourceQuota on what its pods request together. Which room owns which
//! namespace is kept in the store ([`Owned`]): labels on the cluster are for people, and
//! anyone with root on a node could change them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::RoomRef;
use crate::config::NamespaceQuota;
use crate::kube::access::ACCESS_NAMESPACE;
use crate::kube::client::{FIELD_MANAGER, MANAGED_BY};
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;

/// Namespaces labkube never installs into nor hands to a room: Kubernetes' own, those of the
/// cluster's network and storage (`/cluster create` installs flannel and
/// local-path-provisioner) and labkube's accounts for `/kubeconfig`.
pub const RESERVED: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "kube-flannel",
    "local-path-storage",
    ACCESS_NAMESPACE,
];

/// The ResourceQuota of a room's namespace.
pub const QUOTA_NAME: &str = "labkube-quota";
/// The LimitRange of a room's namespace.
pub const LIMITS_NAME: &str = "labkube-defaults";
/// What a container that names no request is given: CPU, memory.
pub const DEFAULT_REQUEST: (&str, &str) = ("100m", "128Mi");

/// Why `ns` cannot be a room's namespace, if it cannot.
pub fn unavailable(ns: &str) -> Option<String> {
    if ns == "default" {
        return Some(
            "namespace default is Kubernetes' own and always there; choose another name".into(),
        );
    }
    (RESERVED.contains(&ns) || ns.starts_with("kube-")).then(|| {
        format!(
            "namespace {ns} belongs to Kubernetes itself, to the cluster's network or storage, or to labkube; choose another name"
        )
    })
}

/// A namespace `/ns create` made, as the store keeps it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Owned {
    /// The owning room's platform.
    pub platform: String,
    /// The owning room.
    pub room: String,
    /// Who made it (`platform:user`).
    pub by: String,
    /// When, Unix ms.
    pub created_ms: u64,
    /// Its quota.
    #[serde(default)]
    pub quota: NamespaceQuota,
}

impl Owned {
    /// Whether `room` owns it.
    pub fn belongs_to(&self, room: &RoomRef) -> bool {
        self.platform == room.platform && self.room == room.room
    }
}

/// What a namespace's quota allows and what its pods use, as the quota controller counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Resource name (`requests.cpu`) → (used, hard).
    pub by_resource: BTreeMap<String, (String, String)>,
}

impl std::fmt::Display for Usage {
    /// `requests.cpu 500m of 4, pods 2 of 40`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .by_resource
            .iter()
            .map(|(r, (used, hard))| format!("{r} {used} of {hard}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Creates `ns` on `cluster` (or takes over one that exists and is not being deleted), with the
/// LimitRange and, unless `quota` is empty, the ResourceQuota; an empty `quota` removes one set
/// before. Returns whether the namespace existed.
pub async fn create(
    layer: &KubeLayer,
    cluster: &str,
    ns: &str,
    quota: &NamespaceQuota,
) -> Result<bool, KubeError> {
    let c = layer.cluster(cluster).await?;
    let apply = PatchParams::apply(FIELD_MANAGER).force();
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    let found = c
        .call(
            format!("looking for namespace {ns}"),
            namespaces.get_opt(ns),
        )
        .await?;
    let terminating = |n: &Namespace| {
        n.metadata.deletion_timestamp.is_some()
            || n.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating")
    };
    if found.as_ref().is_some_and(terminating) {
        return Err(KubeError::Refused(format!(
            "namespace {ns} on {cluster} is still being deleted; try again once it is gone"
        )));
    }
    let body = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": ns, "labels": { MANAGED_BY.0: MANAGED_BY.1 } },
    });
    c.call(
        format!("creating namespace {ns}"),
        namespaces.patch(ns, &apply, &Patch::Apply(&body)),
    )
    .await?;
    let limits: Api<LimitRange> = Api::namespaced(c.client.clone(), ns);
    let (cpu, memory) = DEFAULT_REQUEST;
    let body = json!({
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": { "name": LIMITS_NAME, "namespace": ns, "labels": { MANAGED_BY.0: MANAGED_BY.1 } },
        "spec": { "limits": [{ "type": "Container", "defaultRequest": { "cpu": cpu, "memory": memory } }] },
    });
    c.call(
        format!("setting the default requests of namespace {ns}"),
        limits.patch(LIMITS_NAME, &apply, &Patch::Apply(&body)),
    )
    .await?;
    let quotas: Api<ResourceQuota> = Api::namespaced(c.client.clone(), ns);
    if quota.is_empty() {
        c.delete_quietly(&quotas, QUOTA_NAME, &DeleteParams::default())
            .await?;
    } else {
        let hard: serde_json::Map<String, serde_json::Value> = quota
            .hard()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let body = json!({
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": { "name": QUOTA_NAME, "namespace": ns, "labels": { MANAGED_BY.0: MANAGED_BY.1 } },
            "spec": { "hard": hard },
        });
        c.call(
            format!("setting the quota of namespace {ns}"),
            quotas.patch(QUOTA_NAME, &apply, &Patch::Apply(&body)),
        )
        .await?;
    }
    Ok(found.is_some())
}

/// What the quota of `ns` allows and what is used of it; `None` without a quota (or before
/// the quota controller counted).
pub async fn usage(layer: &KubeLayer, cluster: &str, ns: &str) -> Result<Option<Usage>, KubeError> {
    let c = layer.cluster(cluster).await?;
    let quotas: Api<ResourceQuota> = Api::namespaced(c.client.clone(), ns);
    let Some(q) = c
        .call(
            format!("reading the quota of namespace {ns}"),
            quotas.get_opt(QUOTA_NAME),
        )
        .await?
    else {
        return Ok(None);
    };
    let Some(status) = q.status else {
        return Ok(None);
    };
    let (hard, used) = (
        status.hard.unwrap_or_default(),
        status.used.unwrap_or_default(),
    );
    let by_resource = hard
        .into_iter()
        .map(|(r, h)| {
            let u = used.get(&r).map_or("0".to_string(), |q| q.0.clone());
            (r, (u, h.0))
        })
        .collect();
    Ok(Some(Usage { by_resource }))
}

/// Deletes `ns` from `cluster` with everything in it; `false` if it was not there.
pub async fn delete(layer: &KubeLayer, cluster: &str, ns: &str) -> Result<bool, KubeError> {
    let c = layer.cluster(cluster).await?;
    let namespaces: Api<Namespace> = Api::all(c.client.clone());
    c.delete_quietly(&namespaces, ns, &DeleteParams::background())
        .await
}
