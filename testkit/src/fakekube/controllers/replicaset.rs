//! ReplicaSet controller: keeps `spec.replicas` pods, deleting not-ready and newest pods first,
//! and reports replicas / ready / available counts. A pod create the API refuses (a quota, a
//! LimitRange) is recorded as the controller does (`pkg/controller/controller_utils.go`,
//! `RealPodControl.CreatePods`: Warning `FailedCreate` "Error creating: <error>") and turns into
//! the `ReplicaFailure` condition, True, reason `FailedCreate`, the error as message, set once
//! and removed by the first sync without error (`calculateStatus` in
//! `pkg/controller/replicaset/replica_set_utils.go`); the next try waits as in
//! `failed_create.rs`.

use super::super::meta::{self, at, i64_at};
use super::super::resources::res;
use super::super::store::State;
use super::failed_create;
use super::pods::make_pod;
use super::{find_condition, owned, pod_available, pod_ready, put_count, set_status_if_changed};
use serde_json::{Map, Value, json};

/// The controller's event source.
const COMPONENT: &str = "replicaset-controller";

/// One round over every ReplicaSet.
pub(super) fn sync_all(st: &mut State) {
    for rs in st.list_owned(res::REPLICASETS, None) {
        sync(st, &rs);
    }
}

fn sync(st: &mut State, rs: &Value) {
    let (ns, name) = super::ns_name(rs);
    let uid = meta::uid(rs).to_string();
    let desired = i64_at(rs, &["spec", "replicas"]).unwrap_or(1).max(0);
    let template = at(rs, &["spec", "template"]).cloned().unwrap_or(json!({}));
    let mut pods = owned(st, res::PODS, &ns, &uid);
    let have = pods.len() as i64;
    // This round's outcome: None when the controller waits out its back-off (nothing synced).
    let mut outcome: Option<Option<String>> = Some(None);
    if have < desired {
        outcome = None;
        if failed_create::may_try(st, rs) {
            let mut refused = None;
            for _ in have..desired {
                let n = st.next_counter();
                let pod_name = format!("{name}-{}", meta::name_suffix(n));
                let generate = format!("{name}-");
                match make_pod(st, rs, &template, &pod_name, &[], None, Some(&generate)) {
                    Ok(pod) => pods.push(pod),
                    Err(e) => {
                        refused = Some(e.to_string());
                        break;
                    }
                }
            }
            if let Some(e) = &refused {
                failed_create::failed(st, rs, COMPONENT, &format!("Error creating: {e}"));
            }
            outcome = Some(refused);
        }
    } else if have > desired {
        // Not-ready pods go first, then the newest (uids end in a creation counter).
        pods.sort_by_key(|p| {
            let uid = meta::uid(p);
            (
                pod_ready(p),
                std::cmp::Reverse(uid[uid.len().saturating_sub(12)..].to_string()),
            )
        });
        let excess = (have - desired) as usize;
        for p in pods.drain(..excess) {
            let (pns, pname) = super::ns_name(&p);
            st.delete(res::PODS, &pns, &pname);
        }
    }
    let min_ready = i64_at(rs, &["spec", "minReadySeconds"]).unwrap_or(0);
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let available = pods
        .iter()
        .filter(|p| pod_available(st, p, min_ready))
        .count() as i64;
    let mut s = Map::new();
    put_count(&mut s, "replicas", pods.len() as i64, true);
    put_count(&mut s, "fullyLabeledReplicas", pods.len() as i64, false);
    put_count(&mut s, "readyReplicas", ready, false);
    put_count(&mut s, "availableReplicas", available, false);
    put_count(
        &mut s,
        "observedGeneration",
        i64_at(rs, &["metadata", "generation"]).unwrap_or(1),
        false,
    );
    if outcome == Some(None) {
        failed_create::succeeded(st, rs);
    }
    let prev = find_condition(rs, "ReplicaFailure");
    let failure = match (&outcome, prev) {
        (Some(Some(e)), None) => Some(json!({
            "type": "ReplicaFailure", "status": "True", "lastTransitionTime": meta::now_rfc3339(),
            "reason": "FailedCreate", "message": e,
        })),
        (Some(None), _) => None,
        (_, prev) => prev.cloned(),
    };
    if let Some(c) = failure {
        s.insert("conditions".into(), json!([c]));
    }
    set_status_if_changed(st, res::REPLICASETS, &ns, &name, Value::Object(s));
}
