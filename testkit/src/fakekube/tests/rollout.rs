//! Deployment/ReplicaSet/DaemonSet controllers: rollouts, revisions, failures, deadlines, scaling.

use super::{apply, deployment, revision, rollout_status, start, wait_for};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;
use std::time::Duration;

async fn replicasets(client: &kube::Client) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    api.list(&ListParams::default()).await.unwrap().items
}

fn image_of(rs: &ReplicaSet) -> String {
    rs.spec
        .as_ref()
        .unwrap()
        .template
        .as_ref()
        .unwrap()
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap()
}

fn by_image<'a>(all: &'a [ReplicaSet], image: &str) -> &'a ReplicaSet {
    all.iter()
        .find(|rs| image_of(rs) == image)
        .unwrap_or_else(|| panic!("no ReplicaSet for {image}"))
}

#[tokio::test]
async fn rollout_update_failure_deadline_and_rollback() {
    let (fake, client) = start().await;
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    // Progress deadline 100 s, scaled by 0.01 → 1 s.
    apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:1", 2, 100),
    )
    .await;
    let d = wait_for(&api, "orion", 10, |d| rollout_status(d) == Ok(true)).await;
    assert_eq!(revision(&d).as_deref(), Some("1"));
    let status = d.status.unwrap();
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(2), Some(2), Some(2))
    );
    let progressing = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );
    let pods = fake.objects("Pod", Some("default"));
    assert_eq!(pods.len(), 2);
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["labels"]["pod-template-hash"].is_string())
    );

    // New image: a second ReplicaSet, revision 2, the old one scaled to zero.
    apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:2", 2, 100),
    )
    .await;
    let d = wait_for(&api, "orion", 10, |d| {
        rollout_status(d) == Ok(true) && revision(d).as_deref() == Some("2")
    })
    .await;
    assert_eq!(d.status.unwrap().updated_replicas, Some(2));
    let all = replicasets(&client).await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        revision(by_image(&all, "fiware/orion:2")).as_deref(),
        Some("2")
    );
    assert_eq!(
        by_image(&all, "fiware/orion:1")
            .spec
            .as_ref()
            .unwrap()
            .replicas,
        Some(0)
    );
    let rs2 = by_image(&all, "fiware/orion:2");
    assert!(rs2.metadata.name.as_ref().unwrap().starts_with("orion-"));
    assert_eq!(
        rs2.metadata.owner_references.as_ref().unwrap()[0].name,
        "orion"
    );

    // A broken image: pods wait on the image, the old pods stay (maxUnavailable 0), and the
    // deadline passes.
    apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:broken", 2, 100),
    )
    .await;
    let d = wait_for(&api, "orion", 10, |d| rollout_status(d).is_err()).await;
    let status = d.status.unwrap();
    let progressing = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    assert_eq!(status.available_replicas, Some(2));
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let broken: Vec<Pod> = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| {
            p.spec.as_ref().unwrap().containers[0].image.as_deref() == Some("fiware/orion:broken")
        })
        .collect();
    assert_eq!(broken.len(), 1, "one surge pod only");
    let cs = &broken[0]
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    let reason = cs
        .state
        .as_ref()
        .unwrap()
        .waiting
        .as_ref()
        .unwrap()
        .reason
        .clone()
        .unwrap();
    assert!(
        reason == "ImagePullBackOff" || reason == "ErrImagePull",
        "{reason}"
    );
    assert!(!cs.ready);

    // Back to the first template: its old ReplicaSet is reused and becomes revision 4
    // (1, 2, broken = 3, reuse → 4); going back to :2 would make that RS 5.
    apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:1", 2, 100),
    )
    .await;
    let d = wait_for(&api, "orion", 10, |d| rollout_status(d) == Ok(true)).await;
    assert_eq!(revision(&d).as_deref(), Some("4"));
    let all = replicasets(&client).await;
    assert_eq!(all.len(), 3, "no new ReplicaSet for a known template");
    let rs1 = by_image(&all, "fiware/orion:1");
    assert_eq!(revision(rs1).as_deref(), Some("4"));
    assert_eq!(rs1.spec.as_ref().unwrap().replicas, Some(2));
    assert_eq!(
        by_image(&all, "fiware/orion:broken")
            .spec
            .as_ref()
            .unwrap()
            .replicas,
        Some(0)
    );
    // Deleting the Deployment deletes its ReplicaSets and pods.
    api.delete("orion", &DeleteParams::default()).await.unwrap();
    assert!(fake.objects("ReplicaSet", Some("default")).is_empty());
    assert!(fake.objects("Pod", Some("default")).is_empty());
}

#[tokio::test]
async fn rollback_after_one_update_gets_revision_three() {
    let (_fake, client) = start().await;
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    apply(&api, "a", &deployment("a", "img:1", 1, 600)).await;
    wait_for(&api, "a", 10, |d| rollout_status(d) == Ok(true)).await;
    apply(&api, "a", &deployment("a", "img:2", 1, 600)).await;
    wait_for(&api, "a", 10, |d| {
        rollout_status(d) == Ok(true) && revision(d).as_deref() == Some("2")
    })
    .await;
    apply(&api, "a", &deployment("a", "img:1", 1, 600)).await;
    let d = wait_for(&api, "a", 10, |d| {
        rollout_status(d) == Ok(true) && revision(d).as_deref() == Some("3")
    })
    .await;
    assert_eq!(d.metadata.generation, Some(3));
    let all = replicasets(&client).await;
    assert_eq!(all.len(), 2);
    assert_eq!(revision(by_image(&all, "img:1")).as_deref(), Some("3"));
}

#[tokio::test]
async fn scaling_up_and_to_zero() {
    let (fake, client) = start().await;
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    apply(&api, "s", &deployment("s", "img:1", 1, 600)).await;
    wait_for(&api, "s", 10, |d| rollout_status(d) == Ok(true)).await;
    apply(&api, "s", &deployment("s", "img:1", 3, 600)).await;
    wait_for(&api, "s", 10, |d| {
        d.status.as_ref().and_then(|s| s.available_replicas) == Some(3)
    })
    .await;
    assert_eq!(
        replicasets(&client).await.len(),
        1,
        "scaling makes no new ReplicaSet"
    );
    assert_eq!(fake.objects("Pod", Some("default")).len(), 3);
    apply(&api, "s", &deployment("s", "img:1", 0, 600)).await;
    let d = wait_for(&api, "s", 10, |d| {
        let s = d.status.as_ref().unwrap();
        s.replicas.unwrap_or(0) == 0 && s.observed_generation == d.metadata.generation
    })
    .await;
    assert_eq!(rollout_status(&d), Ok(true));
    assert!(fake.objects("Pod", Some("default")).is_empty());
}

async fn waiting_reason(
    fake: &super::super::FakeKube,
    prefix: &str,
    want: &str,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let pod = fake.objects("Pod", Some("default")).into_iter().find(|p| {
            p["metadata"]["name"].as_str().unwrap().starts_with(prefix)
                && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == want
        });
        if let Some(p) = pod {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{prefix}: no pod waiting with {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn failure_modes_by_image_tag_and_rule() {
    let (fake, client) = start().await;
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    fake.fail_image("private.registry", "ErrImageNeverPull");
    apply(&api, "crash", &deployment("crash", "app:crash", 1, 600)).await;
    apply(
        &api,
        "badcfg",
        &deployment("badcfg", "app:badconfig", 1, 600),
    )
    .await;
    apply(
        &api,
        "rule",
        &deployment("rule", "private.registry/app:1", 1, 600),
    )
    .await;
    let p = waiting_reason(&fake, "crash-", "CrashLoopBackOff").await;
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
    let first = cs["restartCount"].as_u64().unwrap();
    assert!(first >= 1);
    waiting_reason(&fake, "badcfg-", "CreateContainerConfigError").await;
    waiting_reason(&fake, "rule-", "ErrImageNeverPull").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let p = waiting_reason(&fake, "crash-", "CrashLoopBackOff").await;
    assert!(
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_u64()
            .unwrap()
            > first,
        "restarts grow"
    );
    assert_eq!(p["status"]["phase"], "Running");
    // `slow` is ready, only later; set_ready_delay changes the pace.
    fake.set_ready_delay(Duration::from_millis(30));
    let t = tokio::time::Instant::now();
    apply(&api, "slow", &deployment("slow", "app:slow", 1, 600)).await;
    wait_for(&api, "slow", 10, |d| rollout_status(d) == Ok(true)).await;
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "slow took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn daemonset_rolls_out_on_every_node() {
    let (fake, client) = super::start_with(super::super::FakeOptions {
        nodes: 3,
        ready_delay: Duration::from_millis(40),
        ..Default::default()
    })
    .await;
    let api: Api<DaemonSet> = Api::default_namespaced(client.clone());
    let manifest = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}},
        "spec": {"containers": [{"name": "agent", "image": image}]}}}})
    };
    apply(&api, "agent", &manifest("agent:1")).await;
    let done = |d: &DaemonSet| {
        let s = d.status.as_ref().unwrap();
        d.metadata.generation == s.observed_generation
            && s.updated_number_scheduled == Some(s.desired_number_scheduled)
            && s.number_available == Some(s.desired_number_scheduled)
    };
    let d = wait_for(&api, "agent", 10, done).await;
    assert_eq!(d.status.unwrap().desired_number_scheduled, 3);
    apply(&api, "agent", &manifest("agent:2")).await;
    wait_for(&api, "agent", 10, |d| {
        d.metadata.generation == Some(2) && done(d)
    })
    .await;
    let pods = fake.objects("Pod", Some("default"));
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "agent:2")
    );
    let mut nodes: Vec<&str> = pods
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap())
        .collect();
    nodes.sort();
    assert_eq!(nodes, vec!["fake-node-0", "fake-node-1", "fake-node-2"]);
}
