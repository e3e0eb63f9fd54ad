//! DaemonSet controller: one pod per fake node (`fake-node-<i>`), RollingUpdate within
//! maxUnavailable, and the scheduling / readiness counters of the status. A pod the API refuses
//! is a Warning `FailedCreate` "Error creating: <error>" on the DaemonSet, as the ReplicaSet's.

use super::super::meta::{self, at, i64_at, str_at};
use super::super::resources::res;
use super::super::store::State;
use super::failed_create;
use super::pods::make_pod;
use super::{int_or_percent, owned, pod_available, pod_ready, put_count, set_status_if_changed};
use serde_json::{Map, Value, json};

const REV: &str = "controller-revision-hash";

/// One round over every DaemonSet.
pub(super) fn sync_all(st: &mut State) {
    for ds in st.list_owned(res::DAEMONSETS, None) {
        sync(st, &ds);
    }
}

fn sync(st: &mut State, ds: &Value) {
    let (ns, name) = super::ns_name(ds);
    let uid = meta::uid(ds).to_string();
    let nodes = i64::from(st.knobs.nodes);
    let template = at(ds, &["spec", "template"]).cloned().unwrap_or(json!({}));
    let hash = meta::template_hash(&template);
    let generation = i64_at(ds, &["metadata", "generation"]).unwrap_or(1);
    let node_of = |p: &Value| {
        str_at(p, &["spec", "nodeName"])
            .unwrap_or_default()
            .to_string()
    };
    let rev_of = |p: &Value| {
        str_at(p, &["metadata", "labels", REV])
            .unwrap_or_default()
            .to_string()
    };
    let pods = owned(st, res::PODS, &ns, &uid);
    let mut refused = false;
    for i in 0..nodes {
        let node = format!("fake-node-{i}");
        if !pods.iter().any(|p| node_of(p) == node) {
            if !failed_create::may_try(st, ds) {
                refused = true;
                break;
            }
            let n = st.next_counter();
            let pod_name = format!("{name}-{}", meta::name_suffix(n));
            let labels = [
                (REV, hash.clone()),
                ("pod-template-generation", generation.to_string()),
            ];
            let generate = format!("{name}-");
            if let Err(e) = make_pod(
                st,
                ds,
                &template,
                &pod_name,
                &labels,
                Some(&node),
                Some(&generate),
            ) {
                let message = format!("Error creating: {e}");
                failed_create::failed(st, ds, "daemonset-controller", &message);
                refused = true;
                break;
            }
        }
    }
    if !refused {
        failed_create::succeeded(st, ds);
    }
    // Rolling update: replace outdated pods while at most maxUnavailable pods are unavailable;
    // outdated pods that are not ready anyway can always go.
    if str_at(ds, &["spec", "updateStrategy", "type"]) != Some("OnDelete") {
        let max_unavailable = int_or_percent(
            at(
                ds,
                &["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"],
            ),
            nodes,
            1,
            true,
        )
        .max(1);
        let pods = owned(st, res::PODS, &ns, &uid);
        let mut unavailable = nodes - pods.iter().filter(|p| pod_ready(p)).count() as i64;
        for p in pods.iter().filter(|p| rev_of(p) != hash) {
            let ready = pod_ready(p);
            if ready && unavailable >= max_unavailable {
                continue;
            }
            let (pns, pname) = super::ns_name(p);
            st.delete(res::PODS, &pns, &pname);
            if ready {
                unavailable += 1;
            }
        }
    }
    let pods = owned(st, res::PODS, &ns, &uid);
    let min_ready = i64_at(ds, &["spec", "minReadySeconds"]).unwrap_or(0);
    let scheduled = (0..nodes)
        .filter(|i| pods.iter().any(|p| node_of(p) == format!("fake-node-{i}")))
        .count() as i64;
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let available = pods
        .iter()
        .filter(|p| pod_available(st, p, min_ready))
        .count() as i64;
    let updated = pods.iter().filter(|p| rev_of(p) == hash).count() as i64;
    let mut s = Map::new();
    put_count(&mut s, "currentNumberScheduled", scheduled, true);
    put_count(&mut s, "numberMisscheduled", 0, true);
    put_count(&mut s, "desiredNumberScheduled", nodes, true);
    put_count(&mut s, "numberReady", ready, true);
    put_count(&mut s, "observedGeneration", generation, false);
    put_count(&mut s, "updatedNumberScheduled", updated, false);
    put_count(&mut s, "numberAvailable", available, false);
    put_count(
        &mut s,
        "numberUnavailable",
        (nodes - available).max(0),
        false,
    );
    set_status_if_changed(st, res::DAEMONSETS, &ns, &name, Value::Object(s));
}
