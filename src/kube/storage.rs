//! Whether a cluster can hold a GE's data: a GE that keeps data asks for a PersistentVolumeClaim
//! without a class, which binds only through the cluster's default StorageClass (Kubernetes
//! docs, Persistent Volumes, "Class"). kubeadm installs none, so on a cluster without one the
//! claim stays Pending and the pod is never scheduled; this says so before anything is applied.

use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};

use crate::kube::client::Cluster;
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::precheck;
use crate::store::GeTarget;

/// The annotation that makes a StorageClass the default, and its beta form older
/// provisioners still set.
const DEFAULT_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

/// The name of the cluster's default StorageClass, if it has one.
pub async fn default_class(cluster: &Cluster) -> Result<Option<String>, KubeError> {
    let api: Api<StorageClass> = Api::all(cluster.client.clone());
    let classes = cluster
        .call(
            "listing the storage classes",
            api.list(&ListParams::default()),
        )
        .await?;
    Ok(classes.items.into_iter().find_map(|c| {
        let annotations = c.metadata.annotations.unwrap_or_default();
        DEFAULT_ANNOTATIONS
            .iter()
            .any(|a| annotations.get(*a).is_some_and(|v| v == "true"))
            .then(|| c.metadata.name.unwrap_or_default())
    }))
}

/// The GEs an install of `t.ge` with `params` would create that keep data.
pub fn with_data(
    layer: &KubeLayer,
    t: &GeTarget,
    params: &BTreeMap<String, String>,
) -> Result<Vec<String>, KubeError> {
    Ok(precheck::to_install(layer, t, params)?
        .into_iter()
        .filter(|g| g.has_data())
        .map(|g| g.name.clone())
        .collect())
}

/// Refuses an install that would create data on a cluster without a default StorageClass.
pub async fn check_install(
    layer: &KubeLayer,
    t: &GeTarget,
    params: &BTreeMap<String, String>,
) -> Result<(), KubeError> {
    let needing = with_data(layer, t, params)?;
    if needing.is_empty() {
        return Ok(());
    }
    let cluster = layer.cluster(&t.cluster).await?;
    if default_class(&cluster).await?.is_some() {
        return Ok(());
    }
    let what = if needing == [t.ge.clone()] {
        format!("{} keeps its data", t.ge)
    } else {
        format!("{} needs {}, which keep data", t.ge, needing.join(", "))
    };
    Err(KubeError::Refused(format!(
        "{what} in a volume claim, and cluster {} has no default StorageClass, so the claim would \
         never bind and the pod never start. Clusters labkube creates get one (local-path); for \
         another cluster install a provisioner and mark its class default \
         (storageclass.kubernetes.io/is-default-class=true); nothing was changed",
        t.cluster
    )))
}
