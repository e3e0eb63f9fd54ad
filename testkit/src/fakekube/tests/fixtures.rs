//! The fixtures (hand-written real apiserver 1.33 responses) deserialize into their types, and
//! the fake's responses to the same requests have the same shape.

use super::{apply, deployment, namespace, rollout_status, start, wait_for};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::Api;
use kube::core::{ObjectList, Status, WatchEvent};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const DEPLOYMENT: &str = include_str!("../fixtures/deployment.json");
const REPLICASET: &str = include_str!("../fixtures/replicaset.json");
const POD: &str = include_str!("../fixtures/pod_imagepullbackoff.json");
const SERVICE: &str = include_str!("../fixtures/service_nodeport.json");
const STATEFULSET: &str = include_str!("../fixtures/statefulset.json");
const DAEMONSET: &str = include_str!("../fixtures/daemonset.json");
const LIST: &str = include_str!("../fixtures/deployment_list.json");
const WATCH_LINE: &str = include_str!("../fixtures/watch_event.json");
const NOT_FOUND: &str = include_str!("../fixtures/status_notfound.json");
const EXPIRED: &str = include_str!("../fixtures/status_expired.json");

#[test]
fn fixtures_deserialize_into_their_types() {
    let d: Deployment = serde_json::from_str(DEPLOYMENT).unwrap();
    let conds = d.status.unwrap().conditions.unwrap();
    assert_eq!(conds[1].reason.as_deref(), Some("NewReplicaSetAvailable"));
    let rs: ReplicaSet = serde_json::from_str(REPLICASET).unwrap();
    assert_eq!(rs.metadata.owner_references.unwrap()[0].kind, "Deployment");
    let pod: Pod = serde_json::from_str(POD).unwrap();
    let waiting = pod.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("ImagePullBackOff"));
    let svc: Service = serde_json::from_str(SERVICE).unwrap();
    assert_eq!(svc.spec.unwrap().ports.unwrap()[0].node_port, Some(31026));
    let sts: StatefulSet = serde_json::from_str(STATEFULSET).unwrap();
    assert_eq!(
        sts.status.unwrap().update_revision.as_deref(),
        Some("mongodb-6d9f7b8c54")
    );
    let ds: DaemonSet = serde_json::from_str(DAEMONSET).unwrap();
    assert_eq!(ds.status.unwrap().desired_number_scheduled, 1);
    let list: ObjectList<Deployment> = serde_json::from_str(LIST).unwrap();
    assert_eq!(list.metadata.resource_version.as_deref(), Some("48230"));
    assert_eq!(list.items.len(), 1);
    let list2: k8s_openapi::List<Deployment> = serde_json::from_str(LIST).unwrap();
    assert_eq!(list2.items[0].metadata.name.as_deref(), Some("orion"));
    match serde_json::from_str::<WatchEvent<Deployment>>(WATCH_LINE.trim()).unwrap() {
        WatchEvent::Modified(d) => assert_eq!(d.metadata.name.as_deref(), Some("orion")),
        other => panic!("unexpected {other:?}"),
    }
    let nf: Status = serde_json::from_str(NOT_FOUND).unwrap();
    assert_eq!((nf.code, nf.reason.as_str()), (404, "NotFound"));
    let nf2: k8s_openapi::apimachinery::pkg::apis::meta::v1::Status =
        serde_json::from_str(NOT_FOUND).unwrap();
    assert_eq!(nf2.details.unwrap().kind.as_deref(), Some("deployments"));
    let ex: Status = serde_json::from_str(EXPIRED).unwrap();
    assert_eq!((ex.code, ex.reason.as_str()), (410, "Expired"));
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same key set at this level, and the same JSON type for every key.
fn same_level(fixture: &Value, actual: &Value, what: &str) {
    assert_eq!(
        keys(fixture),
        keys(actual),
        "{what}: key sets differ\nfake: {actual:#}"
    );
    for k in keys(fixture) {
        assert_eq!(
            json_type(&fixture[&k]),
            json_type(&actual[&k]),
            "{what}.{k}: types differ"
        );
    }
}

fn same_shape(fixture: &str, actual: &Value, what: &str) {
    let fixture: Value = serde_json::from_str(fixture).unwrap();
    same_level(&fixture, actual, what);
    same_level(
        &fixture["metadata"],
        &actual["metadata"],
        &format!("{what}.metadata"),
    );
    if fixture.get("status").is_some() {
        same_level(
            &fixture["status"],
            &actual["status"],
            &format!("{what}.status"),
        );
    }
}

async fn raw(client: &kube::Client, path: &str) -> Value {
    let req = axum::http::Request::get(path).body(Vec::new()).unwrap();
    client.request::<Value>(req).await.unwrap()
}

#[tokio::test]
async fn fake_responses_have_the_fixture_shapes() {
    let (fake, client) = start().await;
    namespace(&client, "fiware").await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "fiware");
    apply(
        &deploys,
        "orion",
        &deployment("orion", "fiware/orion:4.1.0", 1, 600),
    )
    .await;
    let svcs: Api<Service> = Api::namespaced(client.clone(), "fiware");
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "orion", "labels": {"app.kubernetes.io/name": "orion", "app.kubernetes.io/managed-by": "labkube"}},
        "spec": {"type": "NodePort", "selector": {"app.kubernetes.io/name": "orion"}, "ports": [{"name": "http", "port": 1026}]}});
    apply(&svcs, "orion", &svc).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "fiware");
    apply(
        &sets,
        "mongodb",
        &super::statefulset::manifest("mongodb", "mongo:6.0", 1),
    )
    .await;
    let dss: Api<DaemonSet> = Api::namespaced(client.clone(), "fiware");
    let ds: Value = serde_json::from_str(DAEMONSET).unwrap();
    let ds_manifest = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "node-agent", "labels": ds["metadata"]["labels"]}, "spec": {"selector": ds["spec"]["selector"],
        "template": {"metadata": {"labels": {"app.kubernetes.io/name": "node-agent"}}, "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}});
    apply(&dss, "node-agent", &ds_manifest).await;

    wait_for(&deploys, "orion", 10, |d| rollout_status(d) == Ok(true)).await;
    wait_for(&sets, "mongodb", 10, |s| {
        s.status.as_ref().and_then(|s| s.ready_replicas) == Some(1)
    })
    .await;
    wait_for(&dss, "node-agent", 10, |d| {
        d.status.as_ref().and_then(|s| s.number_available) == Some(1)
    })
    .await;

    let d = raw(&client, "/apis/apps/v1/namespaces/fiware/deployments/orion").await;
    same_shape(DEPLOYMENT, &d, "Deployment");
    serde_json::from_value::<Deployment>(d.clone()).unwrap();
    let rs_name = fake.names("ReplicaSet", Some("fiware"))[0].clone();
    let rs = raw(
        &client,
        &format!("/apis/apps/v1/namespaces/fiware/replicasets/{rs_name}"),
    )
    .await;
    same_shape(REPLICASET, &rs, "ReplicaSet");
    serde_json::from_value::<ReplicaSet>(rs).unwrap();
    let s = raw(&client, "/api/v1/namespaces/fiware/services/orion").await;
    same_shape(SERVICE, &s, "Service");
    serde_json::from_value::<Service>(s).unwrap();
    let s = raw(
        &client,
        "/apis/apps/v1/namespaces/fiware/statefulsets/mongodb",
    )
    .await;
    same_shape(STATEFULSET, &s, "StatefulSet");
    serde_json::from_value::<StatefulSet>(s).unwrap();
    let s = raw(
        &client,
        "/apis/apps/v1/namespaces/fiware/daemonsets/node-agent",
    )
    .await;
    same_shape(DAEMONSET, &s, "DaemonSet");
    serde_json::from_value::<DaemonSet>(s).unwrap();
    let s = raw(
        &client,
        "/apis/apps/v1/namespaces/fiware/deployments/orion/status",
    )
    .await;
    same_shape(DEPLOYMENT, &s, "Deployment/status");

    // The list.
    let l = raw(&client, "/apis/apps/v1/namespaces/fiware/deployments").await;
    let fixture_list: Value = serde_json::from_str(LIST).unwrap();
    same_level(&fixture_list, &l, "DeploymentList");
    same_level(
        &fixture_list["metadata"],
        &l["metadata"],
        "DeploymentList.metadata",
    );
    same_level(
        &fixture_list["items"][0],
        &l["items"][0],
        "DeploymentList.items[0]",
    );
    serde_json::from_value::<ObjectList<Deployment>>(l).unwrap();

    // A watch line.
    let rv: u64 = d["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = format!(
        "/apis/apps/v1/namespaces/fiware/deployments?watch=true&resourceVersion={}&timeoutSeconds=1&fieldSelector=metadata.name%3Dorion",
        rv - 1
    );
    let text = client
        .request_text(axum::http::Request::get(path).body(Vec::new()).unwrap())
        .await
        .unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let fixture_line: Value = serde_json::from_str(WATCH_LINE).unwrap();
    same_level(&fixture_line, &first, "watch line");
    same_level(
        &fixture_line["object"],
        &first["object"],
        "watch line object",
    );
    serde_json::from_value::<WatchEvent<Deployment>>(first).unwrap();

    // A pod stuck on its image.
    apply(
        &deploys,
        "broken",
        &deployment("broken", "fiware/orion:broken", 1, 600),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "fiware");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let pod = loop {
        let found = fake.objects("Pod", Some("fiware")).into_iter().find(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("broken-")
                && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    == "ImagePullBackOff"
        });
        if let Some(p) = found {
            break p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no ImagePullBackOff pod"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let name = pod["metadata"]["name"].as_str().unwrap();
    let p = raw(&client, &format!("/api/v1/namespaces/fiware/pods/{name}")).await;
    same_shape(POD, &p, "Pod");
    pods.get(name).await.unwrap();

    // Errors.
    let err = deploys.get("nope").await.unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("not an API error: {err:?}")
    };
    let fixture: Status = serde_json::from_str(NOT_FOUND).unwrap();
    assert_eq!(status.code, fixture.code);
    assert_eq!(status.reason, fixture.reason);
    assert_eq!(status.message, fixture.message);
    assert_eq!(status.details, fixture.details);
    fake.compact();
    let path =
        "/apis/apps/v1/namespaces/fiware/deployments?watch=true&resourceVersion=1&timeoutSeconds=1";
    let text = client
        .request_text(axum::http::Request::get(path).body(Vec::new()).unwrap())
        .await
        .unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["type"], "ERROR");
    same_level(
        &serde_json::from_str(EXPIRED).unwrap(),
        &line["object"],
        "Status Expired",
    );
    let st: Status = serde_json::from_value(line["object"].clone()).unwrap();
    assert_eq!((st.code, st.reason.as_str()), (410, "Expired"));
}
