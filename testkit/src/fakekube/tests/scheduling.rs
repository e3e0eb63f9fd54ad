//! The scheduler and the storage: placement by requests and taints, the FitError wording,
//! claims that bind only through a running provisioner, and the events both write.

use super::statefulset::manifest;
use super::{apply, deployment, start_with, wait_for};
use crate::fakekube::{FakeOptions, FakeStorage};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;
use std::time::Duration;

fn opts(storage: FakeStorage) -> FakeOptions {
    FakeOptions {
        ready_delay: Duration::from_millis(40),
        storage,
        ..FakeOptions::default()
    }
}

/// The pod's PodScheduled condition as (status, reason, message).
fn scheduled(p: &Pod) -> Option<(String, String, String)> {
    let c = p
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")?;
    Some((
        c.status.clone(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

/// (type, reason, message) of the events about `name`.
async fn events_of(client: &kube::Client, name: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::default_namespaced(client.clone());
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn without_a_storage_class_a_claim_keeps_its_pod_unscheduled() {
    let (fake, client) = start_with(opts(FakeStorage::None)).await;
    let sets: Api<StatefulSet> = Api::default_namespaced(client.clone());
    apply(&sets, "mongodb", &manifest("mongodb", "mongo:8.0.4", 1)).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let want = "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. \
                preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..";
    let pod = wait_for(&pods, "mongodb-0", 5, |p| {
        scheduled(p).is_some_and(|(_, _, m)| m == want)
    })
    .await;
    assert_eq!(
        scheduled(&pod).map(|(s, r, _)| (s, r)),
        Some(("False".into(), "Unschedulable".into()))
    );
    assert!(pod.spec.unwrap().node_name.is_none());
    assert_eq!(pod.status.unwrap().container_statuses, None);
    assert!(events_of(&client, "mongodb-0").await.contains(&(
        "Warning".into(),
        "FailedScheduling".into(),
        want.into()
    )));
    let claims: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    let claim = claims.get("data-mongodb-0").await.unwrap();
    assert_eq!(claim.status.unwrap().phase.as_deref(), Some("Pending"));
    assert_eq!(claim.spec.unwrap().storage_class_name, None);
    assert!(events_of(&client, "data-mongodb-0").await.contains(&(
        "Normal".into(),
        "FailedBinding".into(),
        "no persistent volumes available for this claim and no storage class is set".into()
    )));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(fake.objects("PersistentVolume", None).is_empty());
}

#[tokio::test]
async fn a_default_class_without_its_provisioner_binds_nothing() {
    let (_fake, client) = start_with(opts(FakeStorage::ClassWithoutProvisioner)).await;
    let sets: Api<StatefulSet> = Api::default_namespaced(client.clone());
    apply(&sets, "mysql", &manifest("mysql", "mysql:8.4.3", 1)).await;
    let claims: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    let claim = wait_for(&claims, "data-mysql-0", 5, |c| {
        c.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("volume.kubernetes.io/selected-node"))
    })
    .await;
    assert_eq!(
        claim.spec.unwrap().storage_class_name.as_deref(),
        Some("local-path")
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = events_of(&client, "data-mysql-0").await;
    assert!(
        events.iter().any(|(t, r, m)| t == "Normal"
            && r == "ExternalProvisioning"
            && m.starts_with("Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path'")),
        "{events:?}"
    );
    let claim = claims.get("data-mysql-0").await.unwrap();
    assert_eq!(claim.status.unwrap().phase.as_deref(), Some("Pending"));
}

#[tokio::test]
async fn local_path_binds_at_first_consumer_and_pins_the_volume_to_its_node() {
    let (fake, client) = start_with(FakeOptions {
        nodes: 2,
        ..opts(FakeStorage::LocalPath)
    })
    .await;
    let sets: Api<StatefulSet> = Api::default_namespaced(client.clone());
    apply(
        &sets,
        "postgis",
        &manifest("postgis", "postgis/postgis:16-3.4", 1),
    )
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let pod = wait_for(&pods, "postgis-0", 5, |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
    })
    .await;
    let node = pod.spec.unwrap().node_name.unwrap();
    assert!(
        node.starts_with("fake-node-"),
        "never the tainted control plane: {node}"
    );
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pv = pvs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(pv.len(), 1);
    let spec = pv[0].spec.clone().unwrap();
    assert_eq!(spec.storage_class_name.as_deref(), Some("local-path"));
    let pinned = &spec
        .node_affinity
        .unwrap()
        .required
        .unwrap()
        .node_selector_terms[0]
        .match_expressions
        .clone()
        .unwrap()[0];
    assert_eq!(pinned.values, Some(vec![node.clone()]));
    // The replacement pod goes where its volume is.
    pods.delete("postgis-0", &DeleteParams::default())
        .await
        .unwrap();
    let again = wait_for(&pods, "postgis-0", 5, |p| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some()
    })
    .await;
    assert_eq!(again.spec.unwrap().node_name, Some(node));
    // Deleting the claim deletes its volume (reclaim policy Delete).
    sets.delete("postgis", &DeleteParams::default())
        .await
        .unwrap();
    let claims: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    claims
        .delete("data-postgis-0", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(fake.objects("PersistentVolume", None).is_empty());
    let classes: Api<StorageClass> = Api::all(client);
    assert_eq!(
        classes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn a_pod_too_big_for_every_node_is_unschedulable_with_the_schedulers_reasons() {
    let (_fake, client) = start_with(FakeOptions {
        node_memory: "1Gi".into(),
        ..opts(FakeStorage::LocalPath)
    })
    .await;
    let mut big = deployment("cratedb", "crate:5.8.2", 1, 600);
    big["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({ "requests": { "cpu": "500m", "memory": "1280Mi" }, "limits": { "memory": "1280Mi" } });
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    apply(&deployments, "cratedb", &big).await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let want = "0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint \
                {node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: \
                1 No preemption victims found for incoming pod, 1 Preemption is not helpful for \
                scheduling..";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let list = pods.list(&ListParams::default()).await.unwrap().items;
        if let Some(p) = list.first()
            && scheduled(p).is_some_and(|(_, _, m)| m == want)
        {
            assert_eq!(
                p.status.as_ref().unwrap().qos_class.as_deref(),
                Some("Burstable")
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not unschedulable: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A small pod that tolerates the taint fits on the control plane or the worker.
    let mut small = deployment("orion", "quay.io/fiware/orion:4.1.0", 2, 600);
    small["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({ "requests": { "cpu": "100m", "memory": "256Mi" } });
    small["spec"]["template"]["spec"]["tolerations"] = json!([{ "key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule" }]);
    apply(&deployments, "orion", &small).await;
    let done = wait_for(&deployments, "orion", 5, |d| {
        d.status.as_ref().and_then(|s| s.ready_replicas) == Some(2)
    })
    .await;
    assert_eq!(done.status.unwrap().ready_replicas, Some(2));
}
