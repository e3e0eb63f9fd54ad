//! StatefulSet controller: ordered creation, rolling update from the top ordinal, PVCs.

use super::{apply, start, wait_for};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use std::time::Duration;

/// A StatefulSet manifest with one volumeClaimTemplate `data`.
pub(super) fn manifest(name: &str, image: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "labkube" } },
        "spec": {
            "replicas": replicas, "serviceName": name,
            "selector": { "matchLabels": { "app.kubernetes.io/name": name } },
            "template": {
                "metadata": { "labels": { "app.kubernetes.io/name": name } },
                "spec": { "containers": [{ "name": name, "image": image,
                    "volumeMounts": [{ "name": "data", "mountPath": "/data/db" }] }] }
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data", "labels": { "app.kubernetes.io/name": name } },
                "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } }
            }]
        }
    })
}

fn sts_done(s: &StatefulSet) -> bool {
    let (Some(spec), Some(st)) = (&s.spec, &s.status) else {
        return false;
    };
    let want = spec.replicas.unwrap_or(1);
    st.observed_generation == s.metadata.generation
        && st.ready_replicas.unwrap_or(0) == want
        && st.updated_replicas.unwrap_or(0) >= want
        && st.current_revision == st.update_revision
}

#[tokio::test]
async fn ordered_rollout_update_and_pvcs_survive_delete() {
    let (fake, client) = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    // Record pod ADDED / DELETED order through a kube-runtime watcher.
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let rec = events.clone();
    let watch = tokio::spawn(async move {
        let mut s = watcher(pods, watcher::Config::default()).boxed();
        while let Some(Ok(e)) = s.next().await {
            match e {
                watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                    let n = p.metadata.name.unwrap();
                    let mut ev = rec.lock().unwrap();
                    if !ev.contains(&format!("+{n}")) || ev.last() == Some(&format!("-{n}")) {
                        ev.push(format!("+{n}"));
                    }
                }
                watcher::Event::Delete(p) => rec
                    .lock()
                    .unwrap()
                    .push(format!("-{}", p.metadata.name.unwrap())),
                _ => {}
            }
        }
    });
    let api: Api<StatefulSet> = Api::default_namespaced(client.clone());
    apply(&api, "mongodb", &manifest("mongodb", "mongo:6.0", 3)).await;
    let s = wait_for(&api, "mongodb", 10, sts_done).await;
    let rev1 = s.status.unwrap().update_revision.unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        vec!["+mongodb-0", "+mongodb-1", "+mongodb-2"]
    );
    let pvcs: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    let claims = pvcs
        .list(&ListParams::default().labels("app.kubernetes.io/name=mongodb"))
        .await
        .unwrap()
        .items;
    let mut names: Vec<String> = claims
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["data-mongodb-0", "data-mongodb-1", "data-mongodb-2"]
    );
    assert!(
        claims
            .iter()
            .all(|c| c.status.as_ref().unwrap().phase.as_deref() == Some("Bound"))
    );

    events.lock().unwrap().clear();
    apply(&api, "mongodb", &manifest("mongodb", "mongo:7.0", 3)).await;
    let s = wait_for(&api, "mongodb", 10, |s| {
        sts_done(s) && s.metadata.generation == Some(2)
    })
    .await;
    let st = s.status.unwrap();
    assert_ne!(st.update_revision.as_deref(), Some(rev1.as_str()));
    assert_eq!(st.current_replicas, Some(3));
    let order: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.starts_with('-'))
        .cloned()
        .collect();
    assert_eq!(
        order,
        vec!["-mongodb-2", "-mongodb-1", "-mongodb-0"],
        "replaced from the top ordinal down"
    );
    let labels: Vec<Value> = fake
        .objects("Pod", Some("default"))
        .iter()
        .map(|p| p["metadata"]["labels"]["controller-revision-hash"].clone())
        .collect();
    assert!(
        labels
            .iter()
            .all(|l| l == st.update_revision.as_deref().unwrap())
    );

    // Deleting the StatefulSet deletes its pods, not its PVCs.
    api.delete("mongodb", &DeleteParams::default())
        .await
        .unwrap();
    assert!(fake.objects("Pod", Some("default")).is_empty());
    assert_eq!(
        fake.objects("PersistentVolumeClaim", Some("default")).len(),
        3
    );
    watch.abort();

    // A PVC created directly gets the default class and waits for a pod to use it.
    let pvc: PersistentVolumeClaim = serde_json::from_value(json!({"metadata": {"name": "direct"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))
    .unwrap();
    let made = pvcs.create(&PostParams::default(), &pvc).await.unwrap();
    assert_eq!(made.status.unwrap().phase.as_deref(), Some("Pending"));
    assert_eq!(
        made.spec.unwrap().storage_class_name.as_deref(),
        Some("local-path")
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// The real controller does not repair a broken rollout by a reverted template: the pod of the bad
/// revision must be deleted ("Forced rollback", kubernetes/kubernetes#67250).
#[tokio::test]
async fn a_reverted_template_does_not_replace_a_broken_pod_until_it_is_deleted() {
    let (fake, client) = start().await;
    let api: Api<StatefulSet> = Api::default_namespaced(client.clone());
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    apply(&api, "mongodb", &manifest("mongodb", "mongo:8.0.26", 1)).await;
    let good = wait_for(&api, "mongodb", 10, sts_done).await;
    let good_rev = good.status.unwrap().update_revision.unwrap();
    apply(&api, "mongodb", &manifest("mongodb", "mongo:crash", 1)).await;
    let crashing = |p: &Pod| {
        p.status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
            .any(|c| c.restart_count >= 1)
    };
    wait_for(&pods, "mongodb-0", 10, crashing).await;
    // Revert: the controller observes the good revision but leaves the broken pod alone.
    apply(&api, "mongodb", &manifest("mongodb", "mongo:8.0.26", 1)).await;
    let s = wait_for(&api, "mongodb", 10, |s| {
        s.status.as_ref().and_then(|st| st.observed_generation) == Some(3)
    })
    .await;
    assert_eq!(s.status.unwrap().update_revision, Some(good_rev.clone()));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pod = pods.get("mongodb-0").await.unwrap();
    let label = |p: &Pod| p.metadata.labels.as_ref().unwrap()["controller-revision-hash"].clone();
    assert_ne!(label(&pod), good_rev, "the broken pod is still there");
    assert_eq!(fake.objects("Pod", Some("default")).len(), 1);
    // A delete conditional on another uid is refused, as the apiserver's preconditions are.
    let stale = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("not-this-pod".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match pods.delete("mongodb-0", &stale).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message
                    .contains("Precondition failed: UID in precondition: not-this-pod"),
                "{}",
                s.message
            );
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    // Deleting it lets the controller recreate it at the good revision.
    let uid = pod.metadata.uid.clone();
    let exact = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid,
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    pods.delete("mongodb-0", &exact).await.unwrap();
    let s = wait_for(&api, "mongodb", 10, sts_done).await;
    assert_eq!(s.status.unwrap().current_revision, Some(good_rev.clone()));
    assert_eq!(label(&pods.get("mongodb-0").await.unwrap()), good_rev);
}

#[tokio::test]
async fn volume_claim_templates_are_immutable() {
    let (_fake, client) = start().await;
    let api: Api<StatefulSet> = Api::default_namespaced(client.clone());
    apply(&api, "mysql", &manifest("mysql", "mysql:8.4.10", 1)).await;
    let mut bigger = manifest("mysql", "mysql:8.4.10", 2);
    bigger["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
        json!("20Gi");
    let err = api
        .patch(
            "mysql",
            &kube::api::PatchParams::apply("labkube").force(),
            &kube::api::Patch::Apply(&bigger),
        )
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert_eq!(
                s.message,
                "StatefulSet.apps \"mysql\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
    let live = api.get("mysql").await.unwrap();
    assert_eq!(live.spec.unwrap().replicas, Some(1), "nothing changed");
    // Replicas and the template may change.
    apply(&api, "mysql", &manifest("mysql", "mysql:8.4.9", 2)).await;
}
