//! Tests of the fake against the real kube client and kube-runtime.

mod api;
mod autoscaling;
mod fixtures;
mod quota;
mod rbac;
mod rollout;
mod scheduling;
mod statefulset;
mod tls;
mod watching;

use super::{FakeKube, FakeOptions};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use std::time::Duration;

/// Starts a fake with the given options and a client for it.
pub(super) async fn start_with(opts: FakeOptions) -> (FakeKube, kube::Client) {
    let fake = FakeKube::start(opts).await.expect("fake starts");
    let client = fake.client().await.expect("client from kubeconfig");
    (fake, client)
}

/// Starts a fake with short delays.
pub(super) async fn start() -> (FakeKube, kube::Client) {
    start_with(FakeOptions {
        ready_delay: Duration::from_millis(60),
        ..FakeOptions::default()
    })
    .await
}

/// Creates a namespace by server-side apply.
pub(super) async fn namespace(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.patch(name, &PatchParams::apply("labkube"), &Patch::Apply(&ns))
        .await
        .expect("namespace applied");
}

/// A Deployment manifest shaped like labkube's (RollingUpdate 1/0).
pub(super) fn deployment(name: &str, image: &str, replicas: i32, deadline: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "labkube" } },
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline,
            "selector": { "matchLabels": { "app.kubernetes.io/name": name } },
            "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 } },
            "template": {
                "metadata": { "labels": { "app.kubernetes.io/name": name } },
                "spec": { "containers": [{ "name": name, "image": image, "ports": [{ "containerPort": 1026 }] }] }
            }
        }
    })
}

/// Server-side apply as labkube does it.
pub(super) async fn apply<K>(api: &Api<K>, name: &str, obj: &Value) -> K
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned + kube::Resource,
{
    api.patch(name, &PatchParams::apply("labkube"), &Patch::Apply(obj))
        .await
        .expect("apply succeeds")
}

/// Waits (bounded) until the named object satisfies `cond`, through a real watch.
pub(super) async fn wait_for<K>(api: &Api<K>, name: &str, secs: u64, cond: impl Fn(&K) -> bool) -> K
where
    K: Clone + std::fmt::Debug + Send + serde::de::DeserializeOwned + kube::Resource + 'static,
{
    let fut = await_condition(api.clone(), name, move |o: Option<&K>| o.is_some_and(&cond));
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(Ok(Some(o))) => o,
        Ok(other) => panic!("wait for {name} ended without the condition: {other:?}"),
        Err(_) => panic!(
            "timed out after {secs}s waiting for {name}: last seen {:?}",
            api.get_opt(name).await
        ),
    }
}

/// `kubectl rollout status` for a Deployment: Ok(true) done, Ok(false) in progress, Err(deadline exceeded).
pub(super) fn rollout_status(d: &Deployment) -> Result<bool, String> {
    let (Some(spec), Some(status)) = (&d.spec, &d.status) else {
        return Ok(false);
    };
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Ok(false);
    }
    let progressing = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    if progressing.and_then(|c| c.reason.as_deref()) == Some("ProgressDeadlineExceeded") {
        return Err("exceeded its progress deadline".into());
    }
    let want = spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    Ok(updated >= want
        && status.replicas.unwrap_or(0) <= updated
        && status.available_replicas.unwrap_or(0) >= updated)
}

/// The revision annotation of an object.
pub(super) fn revision<K: kube::Resource>(o: &K) -> Option<String> {
    o.meta()
        .annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")
        .cloned()
}
