//! Storage: the DefaultStorageClass admission, and the PersistentVolume controller with the
//! external provisioners the cluster runs ([`FakeOptions::provisioners`]).
//!
//! A claim binds only through a provisioner that runs; with no StorageClass it stays Pending
//! for ever, as on a kubeadm cluster (Kubernetes docs, Persistent Volumes, "Class"). A class
//! in `WaitForFirstConsumer` mode is provisioned only once the scheduler has picked a node for
//! a pod using the claim (`volume.kubernetes.io/selected-node`), and the volume is then pinned
//! to that node, as rancher local-path-provisioner's are.
//!
//! [`FakeOptions::provisioners`]: crate::fakekube::FakeOptions::provisioners

use super::super::events::{self, Event, Recorder};
use super::super::meta::{self, at, str_at};
use super::super::resources::res;
use super::super::store::State;
use serde_json::{Value, json};

/// The annotation that makes a StorageClass the default.
pub(in super::super) const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// The annotation the scheduler puts on a delayed-binding claim.
pub(super) const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
const COMPONENT: &str = "persistentvolume-controller";

/// The default StorageClass: the newest of those annotated default (what the admission plugin
/// picks since Kubernetes 1.26 when several are).
pub(in super::super) fn default_class(st: &State) -> Option<String> {
    let mut defaults: Vec<&Value> = st
        .list(res::STORAGE_CLASSES, None)
        .into_iter()
        .filter(|c| str_at(c, &["metadata", "annotations", DEFAULT_CLASS]) == Some("true"))
        .collect();
    defaults.sort_by_key(|c| {
        (
            str_at(c, &["metadata", "creationTimestamp"])
                .unwrap_or_default()
                .to_string(),
            meta::name(c).to_string(),
        )
    });
    defaults.last().map(|c| meta::name(c).to_string())
}

/// The DefaultStorageClass admission plugin: a new claim without `storageClassName` gets the
/// default class's name (a claim with `""` asked for no class and keeps it).
pub(in super::super) fn admit_claim(st: &State, claim: &mut Value) {
    if at(claim, &["spec", "storageClassName"]).is_none()
        && let Some(class) = default_class(st)
    {
        meta::set_at(claim, &["spec", "storageClassName"], json!(class));
    }
}

/// Whether the class binds at first consumer (`volumeBindingMode: WaitForFirstConsumer`).
pub(super) fn waits_for_consumer(st: &State, class: &str) -> bool {
    st.get(res::STORAGE_CLASSES, "", class)
        .and_then(|c| str_at(c, &["volumeBindingMode"]))
        == Some("WaitForFirstConsumer")
}

/// One round over the claims and volumes.
pub(super) fn sync_all(st: &mut State) {
    for claim in st.list_owned(res::PVCS, None) {
        if str_at(&claim, &["status", "phase"]) != Some("Bound") {
            sync_pending(st, claim);
        }
    }
    // Reclaim policy Delete: a volume whose claim is gone goes with it.
    for pv in st.list_owned(res::PVS, None) {
        let ns = str_at(&pv, &["spec", "claimRef", "namespace"]).unwrap_or_default();
        let name = str_at(&pv, &["spec", "claimRef", "name"]).unwrap_or_default();
        let claim_uid = str_at(&pv, &["spec", "claimRef", "uid"]).unwrap_or_default();
        let gone = st
            .get(res::PVCS, ns, name)
            .is_none_or(|c| meta::uid(c) != claim_uid);
        if gone && str_at(&pv, &["spec", "persistentVolumeReclaimPolicy"]) == Some("Delete") {
            st.delete(res::PVS, "", meta::name(&pv));
        }
    }
}

fn normal(st: &mut State, claim: &Value, reason: &str, message: &str) {
    let event = Event {
        type_: "Normal",
        reason,
        message,
        component: COMPONENT,
        recorder: Recorder::Core,
    };
    events::record(st, claim, &event);
}

fn sync_pending(st: &mut State, mut claim: Value) {
    let (ns, name) = super::ns_name(&claim);
    // Retroactive default StorageClass assignment (GA in 1.28): a claim created before any
    // default existed gets it once one does.
    if at(&claim, &["spec", "storageClassName"]).is_none() {
        let before = claim.clone();
        admit_claim(st, &mut claim);
        if claim != before {
            claim = st.replace(res::PVCS, claim).0;
        }
    }
    let class = str_at(&claim, &["spec", "storageClassName"])
        .unwrap_or_default()
        .to_string();
    if class.is_empty() {
        normal(
            st,
            &claim,
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        );
        return;
    }
    let Some(sc) = st.get(res::STORAGE_CLASSES, "", &class).cloned() else {
        let message = format!("storageclass.storage.k8s.io \"{class}\" not found");
        let event = Event {
            type_: "Warning",
            reason: "ProvisioningFailed",
            message: &message,
            component: COMPONENT,
            recorder: Recorder::Core,
        };
        events::record(st, &claim, &event);
        return;
    };
    let selected = str_at(&claim, &["metadata", "annotations", SELECTED_NODE]).map(str::to_string);
    if waits_for_consumer(st, &class) && selected.is_none() {
        normal(
            st,
            &claim,
            "WaitForFirstConsumer",
            "waiting for first consumer to be created before binding",
        );
        return;
    }
    let provisioner = str_at(&sc, &["provisioner"])
        .unwrap_or_default()
        .to_string();
    if !st.knobs.provisioners.contains(&provisioner) {
        let message = format!(
            "Waiting for a volume to be created either by the external provisioner '{provisioner}' \
             or manually by the system administrator. If volume creation is delayed, please \
             verify that the provisioner is running and correctly registered."
        );
        normal(st, &claim, "ExternalProvisioning", &message);
        return;
    }
    let pv_name = format!("pvc-{}", meta::uid(&claim));
    let node = selected.unwrap_or_else(|| "fake-node-0".into());
    let modes = at(&claim, &["spec", "accessModes"])
        .cloned()
        .unwrap_or(json!(["ReadWriteOnce"]));
    let capacity = at(&claim, &["spec", "resources", "requests"])
        .cloned()
        .unwrap_or(json!({}));
    let reclaim = str_at(&sc, &["reclaimPolicy"]).unwrap_or("Delete");
    let pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {
            "name": pv_name,
            "annotations": { "pv.kubernetes.io/provisioned-by": provisioner },
        },
        "spec": {
            "accessModes": modes, "capacity": capacity,
            "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": name,
                "uid": meta::uid(&claim),
                "resourceVersion": str_at(&claim, &["metadata", "resourceVersion"]).unwrap_or_default(),
            },
            "hostPath": {
                "path": format!("/opt/local-path-provisioner/{pv_name}_{ns}_{name}"),
                "type": "DirectoryOrCreate",
            },
            "nodeAffinity": { "required": { "nodeSelectorTerms": [{ "matchExpressions": [
                { "key": "kubernetes.io/hostname", "operator": "In", "values": [node] }] }] } },
            "persistentVolumeReclaimPolicy": reclaim,
            "storageClassName": class,
            "volumeMode": "Filesystem",
        },
        "status": { "phase": "Bound" },
    });
    st.insert(res::PVS, pv);
    meta::with_map(&mut claim, &["metadata", "annotations"], |a| {
        a.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
        a.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
        a.insert(
            "volume.kubernetes.io/storage-provisioner".into(),
            json!(provisioner),
        );
    });
    meta::set_at(&mut claim, &["spec", "volumeName"], json!(pv_name));
    meta::set_at(
        &mut claim,
        &["status"],
        json!({ "phase": "Bound", "accessModes": modes, "capacity": capacity }),
    );
    let claim = st.replace(res::PVCS, claim).0;
    let message = format!("Successfully provisioned volume {pv_name}");
    let event = Event {
        type_: "Normal",
        reason: "ProvisioningSucceeded",
        message: &message,
        component: &provisioner,
        recorder: Recorder::Core,
    };
    events::record(st, &claim, &event);
}

/// The node a bound claim's volume is pinned to, if any.
pub(super) fn pinned_node(st: &State, claim: &Value) -> Option<String> {
    let pv = st.get(res::PVS, "", str_at(claim, &["spec", "volumeName"])?)?;
    let terms = at(
        pv,
        &["spec", "nodeAffinity", "required", "nodeSelectorTerms"],
    )?;
    terms
        .get(0)
        .and_then(|t| t.get("matchExpressions"))
        .and_then(|e| e.get(0))
        .and_then(|e| e.get("values"))
        .and_then(|v| v.get(0))
        .and_then(Value::as_str)
        .map(str::to_string)
}
