//! The fake's controllers, run on a fixed tick under the store lock: namespace teardown,
//! ResourceQuota status, HorizontalPodAutoscaler, Deployment, ReplicaSet, StatefulSet, DaemonSet, the PersistentVolume controller with the
//! cluster's provisioners, the scheduler, and a kubelet that moves bound pods through their
//! lifecycle (including the image-tag failure modes).

mod daemonset;
mod deployment;
mod failed_create;
pub(super) mod hpa;
mod pods;
mod quota;
mod replicaset;
mod scheduler;
mod statefulset;
pub(super) mod volumes;

pub(super) use scheduler::qos;

use super::meta;
use super::store::{Shared, State};
use super::{apply, gc, merge};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Controller period.
const TICK: Duration = Duration::from_millis(10);

/// Per-pod kubelet bookkeeping.
#[derive(Debug, Clone)]
pub(super) struct PodClock {
    /// When the kubelet first saw the pod.
    pub created: Instant,
    /// When all its containers became ready (None while not ready).
    pub ready_since: Option<Instant>,
    /// Since when a crash rule (`FakeKube::crash_image`) makes it crash, and its restart count
    /// then.
    pub crashing: Option<(Instant, u64)>,
}

/// Controller state that is not part of any object.
#[derive(Debug, Default)]
pub(in super::super) struct CtlState {
    /// Pod uid → clock.
    pub pods: HashMap<String, PodClock>,
    /// Deployment uid → time of the last progress (the Progressing condition's lastUpdateTime).
    pub progress: HashMap<String, Instant>,
    /// StatefulSet revision name → pod template (the fake's ControllerRevisions).
    pub sts_templates: HashMap<String, Value>,
    /// Pod IPs handed out so far.
    pub pod_ips: u32,
    /// What containers printed, by namespace, pod and container (`FakeKube::print`).
    pub logs: HashMap<(String, String, String), super::logs::Printed>,
    /// Controller uid → retry back-off after refused pod creates.
    pub backoff: HashMap<String, failed_create::Backoff>,
}

/// Runs the controllers until `stop` is cancelled.
pub(super) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(TICK) => shared.with(tick),
        }
    }
}

/// One round of every controller.
fn tick(st: &mut State) {
    gc::reap_namespaces(st);
    hpa::sync_all(st);
    deployment::sync_all(st);
    replicaset::sync_all(st);
    statefulset::sync_all(st);
    daemonset::sync_all(st);
    volumes::sync_all(st);
    scheduler::schedule_all(st);
    pods::kubelet(st);
    quota::sync_all(st);
}

/// Writes a counter into a status map; `required` counters are written even when zero, others
/// are omitted when zero (`omitempty` in the real types).
fn put_count(m: &mut Map<String, Value>, key: &str, n: i64, required: bool) {
    if n != 0 || required {
        m.insert(key.into(), json!(n));
    }
}

/// Replaces an object's status if it differs.
fn set_status_if_changed(st: &mut State, res: &'static str, ns: &str, name: &str, status: Value) {
    if st.get(res, ns, name).and_then(|o| o.get("status")) != Some(&status) {
        st.set_status(res, ns, name, status);
    }
}

/// Whether a pod's Ready condition is True.
fn pod_ready(pod: &Value) -> bool {
    meta::at(pod, &["status", "conditions"])
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Whether a pod has been ready for `min_ready_seconds` (scaled).
fn pod_available(st: &State, pod: &Value, min_ready_seconds: i64) -> bool {
    if !pod_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let need = Duration::from_secs_f64(min_ready_seconds as f64 * st.knobs.time_scale);
    st.ctl
        .pods
        .get(meta::uid(pod))
        .and_then(|c| c.ready_since)
        .is_some_and(|t| t.elapsed() >= need)
}

/// Resolves an int-or-percent value against `total` (percentages round up or down).
fn int_or_percent(v: Option<&Value>, total: i64, default: i64, round_up: bool) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) if round_up => (p * total + 99) / 100,
            Some(p) => p * total / 100,
            None => s.parse().unwrap_or(default),
        },
        _ => default,
    }
}

/// A condition, keeping `lastTransitionTime` from `prev` when the status did not change.
fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    prev: Option<&Value>,
    with_update_time: bool,
) -> Value {
    let now = meta::now_rfc3339();
    let transition = prev
        .filter(|p| p.get("status").and_then(Value::as_str) == Some(status))
        .and_then(|p| p.get("lastTransitionTime").cloned())
        .unwrap_or(json!(now));
    let mut c = json!({ "type": kind, "status": status, "lastTransitionTime": transition, "reason": reason, "message": message });
    if with_update_time {
        let same = prev.is_some_and(|p| {
            p.get("status").and_then(Value::as_str) == Some(status)
                && p.get("reason").and_then(Value::as_str) == Some(reason)
        });
        let update = match prev.and_then(|p| p.get("lastUpdateTime")) {
            Some(t) if same => t.clone(),
            _ => json!(now),
        };
        c["lastUpdateTime"] = update;
    }
    c
}

/// The condition of a type in an object's status.
fn find_condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    meta::at(obj, &["status", "conditions"])
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        })
}

/// Objects of `res` in `ns` controlled by `owner_uid`.
fn owned(st: &State, res: &str, ns: &str, owner_uid: &str) -> Vec<Value> {
    st.list(res, Some(ns))
        .into_iter()
        .filter(|o| meta::owned_by(o, owner_uid))
        .cloned()
        .collect()
}

/// Records `kube-controller-manager` as the Update manager of everything in a new object (as the
/// real controllers' writes appear in `managedFields`).
fn controller_fields(obj: &mut Value) {
    let mut fields = obj.clone();
    meta::remove_at(&mut fields, &["status"]);
    let api_version = meta::str_at(obj, &["apiVersion"])
        .unwrap_or("v1")
        .to_string();
    apply::record_update(
        obj,
        None,
        "kube-controller-manager",
        &api_version,
        merge::leaf_paths(&fields),
    );
}

/// Namespace and name of an object.
fn ns_name(o: &Value) -> (String, String) {
    (
        meta::str_at(o, &["metadata", "namespace"])
            .unwrap_or_default()
            .to_string(),
        meta::name(o).to_string(),
    )
}
