//! ResourceQuota and LimitRange as a kubeadm cluster enforces them: admission refusals in the
//! apiserver's words, the controllers' FailedCreate events and ReplicaFailure conditions, the
//! quota's status.

use super::{apply, start, wait_for};
use crate::fakekube::events::{self, Event, Recorder};
use crate::fakekube::store::{Knobs, State};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{LimitRange, Pod, ResourceQuota};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use std::time::Duration;

/// A ResourceQuota `name` with `hard`.
fn quota(name: &str, hard: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "ResourceQuota", "metadata": { "name": name }, "spec": { "hard": hard } })
}

/// Applies a quota and waits until its controller has written the status admission reads.
async fn put_quota(client: &kube::Client, name: &str, hard: Value) -> Api<ResourceQuota> {
    let api: Api<ResourceQuota> = Api::default_namespaced(client.clone());
    let want = hard.clone();
    apply(&api, name, &quota(name, hard)).await;
    wait_for(&api, name, 5, move |q| {
        let hard = q.status.as_ref().and_then(|s| s.hard.as_ref());
        serde_json::to_value(hard).ok().as_ref() == Some(&want)
    })
    .await;
    api
}

/// A Deployment `name` whose one container `app` requests `cpu`.
fn deployment(name: &str, replicas: i32, cpu: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": name },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "app", "image": "nginx:1.27",
                    "resources": { "requests": { "cpu": cpu } } }] }
            }
        }
    })
}

/// A bare pod whose container `app` has `resources`.
fn pod(name: &str, resources: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "containers": [{ "name": "app", "image": "nginx:1.27", "resources": resources }] }
    }))
    .unwrap()
}

/// The refusal of a create: code, reason, message.
fn refusal<T: std::fmt::Debug>(r: kube::Result<T>) -> (u16, String, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("created: {other:?}"),
    }
}

fn used(q: &ResourceQuota) -> Value {
    serde_json::to_value(q.status.as_ref().and_then(|s| s.used.as_ref())).unwrap()
}

fn replica_failure(d: &Deployment) -> Option<&k8s_openapi::api::apps::v1::DeploymentCondition> {
    d.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "ReplicaFailure")
}

#[tokio::test]
async fn a_deployment_over_quota_reports_failed_create_until_the_quota_is_raised() {
    let (fake, client) = start().await;
    let quotas = put_quota(
        &client,
        "compute",
        json!({ "requests.cpu": "1", "pods": "10" }),
    )
    .await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    apply(&deploys, "web", &deployment("web", 3, "500m")).await;

    let d = wait_for(&deploys, "web", 10, |d| replica_failure(d).is_some()).await;
    let cond = replica_failure(&d).unwrap();
    assert_eq!(cond.status, "True");
    assert_eq!(cond.reason.as_deref(), Some("FailedCreate"));
    let message = cond.message.clone().unwrap();
    let tail = "\" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=1, limited: requests.cpu=1";
    assert!(
        message.starts_with("pods \"web-") && message.ends_with(tail),
        "{message}"
    );
    // The generated name, not the generateName prefix.
    let pod_name = &message["pods \"".len()..message.len() - tail.len()];
    assert_eq!(pod_name.matches('-').count(), 2, "{pod_name}");
    assert_eq!(fake.names("Pod", Some("default")).len(), 2);

    // The ReplicaSet carries the condition and the controller's event.
    let rs = fake.names("ReplicaSet", Some("default")).remove(0);
    let rs_cond = fake
        .condition(
            "apps/v1",
            "ReplicaSet",
            Some("default"),
            &rs,
            "ReplicaFailure",
        )
        .unwrap();
    assert_eq!(rs_cond["reason"], "FailedCreate");
    assert!(rs_cond["message"].as_str().unwrap().ends_with(tail));
    let events = fake.events_about("ReplicaSet", "default", &rs);
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["reason"] == "FailedCreate")
        .collect();
    assert!(!failed.is_empty());
    for e in &failed {
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["source"]["component"], "replicaset-controller");
        let text = e["message"].as_str().unwrap();
        let text = text
            .strip_prefix("(combined from similar events): ")
            .unwrap_or(text);
        assert!(
            text.starts_with("Error creating: pods \"web-") && text.ends_with(tail),
            "{text}"
        );
    }
    let q = wait_for(&quotas, "compute", 5, |q| {
        used(q) == json!({ "requests.cpu": "1", "pods": "2" })
    })
    .await;
    assert_eq!(
        serde_json::to_value(q.status.unwrap().hard).unwrap(),
        json!({ "requests.cpu": "1", "pods": "10" })
    );

    // Room for the third pod: it is created and the condition goes.
    apply(
        &quotas,
        "compute",
        &quota("compute", json!({ "requests.cpu": "2", "pods": "10" })),
    )
    .await;
    wait_for(&deploys, "web", 10, |d| {
        replica_failure(d).is_none()
            && d.status.as_ref().and_then(|s| s.available_replicas) == Some(3)
    })
    .await;
    assert!(
        fake.condition(
            "apps/v1",
            "ReplicaSet",
            Some("default"),
            &rs,
            "ReplicaFailure"
        )
        .is_none()
    );
    wait_for(&quotas, "compute", 5, |q| {
        used(q) == json!({ "requests.cpu": "1500m", "pods": "3" })
    })
    .await;
}

#[tokio::test]
async fn a_pod_without_requests_needs_a_limit_range_default_under_a_cpu_quota() {
    let (_fake, client) = start().await;
    let quotas = put_quota(
        &client,
        "compute",
        json!({ "requests.cpu": "2", "requests.memory": "1Gi", "limits.cpu": "4" }),
    )
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    assert_eq!(
        refusal(pods.create(&PostParams::default(), &pod("bare", json!({}))).await),
        (
            403,
            "Forbidden".into(),
            "pods \"bare\" is forbidden: failed quota: compute: must specify limits.cpu for: app; requests.cpu for: app; requests.memory for: app".into()
        )
    );
    // A limit stands in for the request it lacks (API defaulting), but the memory is missing.
    let limited = pod("limited", json!({ "limits": { "cpu": "1" } }));
    assert_eq!(
        refusal(pods.create(&PostParams::default(), &limited).await).2,
        "pods \"limited\" is forbidden: failed quota: compute: must specify requests.memory for: app"
    );

    let ranges: Api<LimitRange> = Api::default_namespaced(client.clone());
    let lr = json!({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": { "name": "defaults" },
        "spec": { "limits": [{ "type": "Container",
            "default": { "cpu": "500m", "memory": "128Mi" },
            "defaultRequest": { "cpu": "250m", "memory": "64Mi" },
            "max": { "cpu": "1" } }] }
    });
    apply(&ranges, "defaults", &lr).await;
    let created = pods
        .create(&PostParams::default(), &pod("bare", json!({})))
        .await
        .expect("defaults satisfy the quota");
    let annotations = created.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("kubernetes.io/limit-ranger")
            .map(String::as_str),
        Some(
            "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app"
        )
    );
    let resources = serde_json::to_value(&created.spec.unwrap().containers[0].resources).unwrap();
    assert_eq!(
        resources,
        json!({ "limits": { "cpu": "500m", "memory": "128Mi" }, "requests": { "cpu": "250m", "memory": "64Mi" } })
    );
    assert_eq!(
        created.status.unwrap().qos_class.as_deref(),
        Some("Burstable")
    );
    wait_for(&quotas, "compute", 5, |q| {
        used(q)
            == json!({ "requests.cpu": "250m", "requests.memory": "64Mi", "limits.cpu": "500m" })
    })
    .await;

    // max: a limit above it is refused in the LimitRanger's words.
    let big = pod(
        "big",
        json!({ "limits": { "cpu": "2", "memory": "128Mi" } }),
    );
    assert_eq!(
        refusal(pods.create(&PostParams::default(), &big).await).2,
        "pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
    );
}

#[tokio::test]
async fn an_api_create_over_quota_is_403_with_the_apiservers_message() {
    let (fake, client) = start().await;
    put_quota(
        &client,
        "small",
        json!({ "pods": "1", "requests.memory": "256Mi" }),
    )
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client.clone());
    let mem = |m: &str| json!({ "requests": { "memory": m } });
    pods.create(&PostParams::default(), &pod("first", mem("200Mi")))
        .await
        .expect("fits");
    assert_eq!(
        refusal(pods.create(&PostParams::default(), &pod("second", mem("100Mi"))).await),
        (
            403,
            "Forbidden".into(),
            "pods \"second\" is forbidden: exceeded quota: small, requested: pods=1,requests.memory=100Mi, used: pods=1,requests.memory=200Mi, limited: pods=1,requests.memory=256Mi".into()
        )
    );
    // A generateName pod is refused under the name generated for it.
    let mut generated = pod("", mem("10Mi"));
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("job-".into());
    let (_, _, message) = refusal(pods.create(&PostParams::default(), &generated).await);
    let name = message
        .strip_prefix("pods \"job-")
        .and_then(|m| m.split_once('"'))
        .map(|(suffix, _)| suffix)
        .unwrap_or_default();
    assert_eq!(name.len(), 5, "{message}");
    assert!(message.ends_with(
        "is forbidden: exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1"
    ));
    // Nothing was stored, and the Status names the object.
    assert_eq!(fake.names("Pod", Some("default")), vec!["first"]);
    let raw = reqwest::Client::new()
        .post(format!("http://{}/api/v1/namespaces/default/pods", fake.addr()))
        .bearer_auth("fake-kube-token")
        .json(&json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "third" },
            "spec": { "containers": [{ "name": "app", "image": "nginx", "resources": mem("1Mi") }] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 403);
    let status: Value = raw.json().await.unwrap();
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(
        status["details"],
        json!({ "name": "third", "kind": "pods" })
    );
}

#[tokio::test]
async fn a_statefulset_pod_over_quota_is_a_failed_create_event_in_its_controllers_words() {
    let (fake, client) = start().await;
    put_quota(&client, "one", json!({ "count/pods": "1" })).await;
    let sets: Api<StatefulSet> = Api::default_namespaced(client.clone());
    let set = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": { "name": "db" },
        "spec": { "replicas": 2, "serviceName": "db",
            "selector": { "matchLabels": { "app": "db" } },
            "template": { "metadata": { "labels": { "app": "db" } },
                "spec": { "containers": [{ "name": "db", "image": "postgres:16" }] } } }
    });
    apply(&sets, "db", &set).await;
    let want = "create Pod db-1 in StatefulSet db failed error: pods \"db-1\" is forbidden: exceeded quota: one, requested: count/pods=1, used: count/pods=1, limited: count/pods=1";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let events = fake.events_about("StatefulSet", "default", "db");
        if let Some(e) = events.iter().find(|e| e["reason"] == "FailedCreate") {
            assert_eq!(e["message"], want);
            assert_eq!(e["type"], "Warning");
            assert_eq!(e["source"]["component"], "statefulset-controller");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{events:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The same refusal again is the same event, not a new one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let failed = fake
        .events_about("StatefulSet", "default", "db")
        .into_iter()
        .filter(|e| e["reason"] == "FailedCreate")
        .count();
    assert_eq!(failed, 1);
    assert_eq!(fake.names("Pod", Some("default")), vec!["db-0"]);
}

#[test]
fn similar_core_events_aggregate_after_ten_distinct_messages() {
    let knobs = Knobs {
        ready_delay: Duration::ZERO,
        time_scale: 1.0,
        nodes: 1,
        fail_rules: Vec::new(),
        crash_rules: Vec::new(),
        stopped_kubelets: Vec::new(),
        provisioners: Vec::new(),
        latency: Duration::ZERO,
        cpu_load: None,
    };
    let mut st = State::new(100, knobs);
    let rs = json!({ "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": { "name": "web-1", "namespace": "default", "uid": "u-1" } });
    for i in 0..12 {
        let message = format!("Error creating: pods \"web-1-{i}\" is forbidden: exceeded quota");
        let e = Event {
            type_: "Warning",
            reason: "FailedCreate",
            message: &message,
            component: "replicaset-controller",
            recorder: Recorder::Core,
        };
        events::record(&mut st, &rs, &e);
    }
    let stored = st.list_owned("events", Some("default"));
    assert_eq!(stored.len(), 10);
    let combined: Vec<&Value> = stored
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("(combined from similar events): ")
        })
        .collect();
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["count"], 3);
    assert_eq!(
        combined[0]["message"],
        "(combined from similar events): Error creating: pods \"web-1-11\" is forbidden: exceeded quota"
    );
}
