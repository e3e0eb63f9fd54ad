//! StatefulSet controller: pods `<name>-<ordinal>` created in order (OrderedReady: each waits for
//! its predecessors to be Running and Ready; Parallel: all at once), `controller-revision-hash`
//! revisions, RollingUpdate from the highest ordinal down (respecting `partition`), PVCs from
//! volumeClaimTemplates (`<template>-<name>-<ordinal>`, Pending until the PersistentVolume
//! controller binds them, never deleted by the controller). A pod the API refuses is a Warning
//! `FailedCreate` "create Pod web-0 in StatefulSet web failed error: <error>" on the set.

use super::super::errors::ApiError;
use super::super::meta::{self, at, i64_at, str_at};
use super::super::resources::res;
use super::super::store::State;
use super::failed_create;
use super::pods::make_pod;
use super::{owned, pod_available, pod_ready, put_count, set_status_if_changed};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const REV: &str = "controller-revision-hash";

/// One round over every StatefulSet.
pub(super) fn sync_all(st: &mut State) {
    for s in st.list_owned(res::STATEFULSETS, None) {
        sync(st, &s);
    }
}

fn ordinal(set_name: &str, pod: &Value) -> Option<i64> {
    meta::name(pod)
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn ensure_claims(st: &mut State, set: &Value, ord: i64) -> Vec<Value> {
    let (ns, name) = super::ns_name(set);
    let templates = at(set, &["spec", "volumeClaimTemplates"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let selector = at(set, &["spec", "selector", "matchLabels"])
        .cloned()
        .unwrap_or(json!({}));
    let mut volumes = Vec::new();
    for t in templates {
        let tpl = meta::name(&t).to_string();
        let claim = format!("{tpl}-{name}-{ord}");
        if st.get(res::PVCS, &ns, &claim).is_none() {
            let mut labels = at(&t, &["metadata", "labels"])
                .cloned()
                .unwrap_or(json!({}));
            if let (Some(l), Some(s)) = (labels.as_object_mut(), selector.as_object()) {
                for (k, v) in s {
                    l.insert(k.clone(), v.clone());
                }
            }
            let mut spec = t.get("spec").cloned().unwrap_or(json!({}));
            if at(&spec, &["volumeMode"]).is_none() {
                meta::set_at(&mut spec, &["volumeMode"], json!("Filesystem"));
            }
            let mut pvc = json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": { "name": claim, "namespace": ns, "labels": labels },
                "spec": spec,
                "status": { "phase": "Pending" },
            });
            // The controller creates claims through the API, so admission applies.
            super::volumes::admit_claim(st, &mut pvc);
            super::controller_fields(&mut pvc);
            st.insert(res::PVCS, pvc);
        }
        volumes.push(json!({ "name": tpl, "persistentVolumeClaim": { "claimName": claim } }));
    }
    volumes
}

fn create_pod(st: &mut State, set: &Value, ord: i64, rev: &str) -> Result<(), ApiError> {
    let name = meta::name(set).to_string();
    let template = st
        .ctl
        .sts_templates
        .get(rev)
        .cloned()
        .or_else(|| at(set, &["spec", "template"]).cloned())
        .unwrap_or(json!({}));
    let mut template = template;
    let claims = ensure_claims(st, set, ord);
    if !claims.is_empty() {
        meta::with_map(&mut template, &["spec"], |spec| {
            let vols = spec.entry("volumes").or_insert(json!([]));
            if let Some(a) = vols.as_array_mut() {
                a.extend(claims);
            }
        });
    }
    let pod_name = format!("{name}-{ord}");
    meta::set_at(&mut template, &["spec", "hostname"], json!(pod_name));
    if let Some(svc) = str_at(set, &["spec", "serviceName"]) {
        meta::set_at(&mut template, &["spec", "subdomain"], json!(svc));
    }
    let labels = [
        (REV, rev.to_string()),
        ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
        ("apps.kubernetes.io/pod-index", ord.to_string()),
    ];
    make_pod(st, set, &template, &pod_name, &labels, None, None).map(drop)
}

fn sync(st: &mut State, set: &Value) {
    let (ns, name) = super::ns_name(set);
    let uid = meta::uid(set).to_string();
    let replicas = i64_at(set, &["spec", "replicas"]).unwrap_or(1).max(0);
    let template = at(set, &["spec", "template"]).cloned().unwrap_or(json!({}));
    let update_rev = format!("{name}-{}", meta::template_hash(&template));
    st.ctl.sts_templates.insert(update_rev.clone(), template);
    let current_rev = str_at(set, &["status", "currentRevision"])
        .unwrap_or(&update_rev)
        .to_string();
    let ordered = str_at(set, &["spec", "podManagementPolicy"]) != Some("Parallel");
    let rolling = str_at(set, &["spec", "updateStrategy", "type"]) != Some("OnDelete");
    let partition = i64_at(
        set,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    )
    .unwrap_or(0);
    let pods: BTreeMap<i64, Value> = owned(st, res::PODS, &ns, &uid)
        .into_iter()
        .filter_map(|p| ordinal(&name, &p).map(|o| (o, p)))
        .collect();
    let rev_of = |p: &Value| {
        str_at(p, &["metadata", "labels", REV])
            .unwrap_or_default()
            .to_string()
    };
    let mut acted = false;
    // Create missing pods in ordinal order. A refused create ends the sync (`processReplica`
    // returns the error) and the set waits out its back-off.
    let mut refused = false;
    for ord in 0..replicas {
        if pods.contains_key(&ord) {
            continue;
        }
        if ordered && pods.range(..ord).any(|(_, p)| !pod_ready(p)) {
            break;
        }
        if ordered && (0..ord).any(|o| !pods.contains_key(&o)) {
            break;
        }
        acted = true;
        if !failed_create::may_try(st, set) {
            refused = true;
            break;
        }
        let rev = if ord < partition {
            current_rev.clone()
        } else {
            update_rev.clone()
        };
        if let Err(e) = create_pod(st, set, ord, &rev) {
            // `recordPodEvent` in `pkg/controller/statefulset/stateful_pod_control.go`.
            let message =
                format!("create Pod {name}-{ord} in StatefulSet {name} failed error: {e}");
            failed_create::failed(st, set, "statefulset-controller", &message);
            refused = true;
            break;
        }
        if ordered {
            break;
        }
    }
    if !refused {
        failed_create::succeeded(st, set);
    }
    let all_ready = pods.range(..replicas).all(|(_, p)| pod_ready(p))
        && pods.range(..replicas).count() as i64 == replicas;
    // Scale down from the highest ordinal.
    if !acted {
        let excess: Vec<i64> = pods.range(replicas..).map(|(o, _)| *o).rev().collect();
        for o in excess {
            if ordered && !all_ready {
                break;
            }
            st.delete(res::PODS, &ns, &format!("{name}-{o}"));
            acted = true;
            if ordered {
                break;
            }
        }
    }
    // Rolling update from the highest ordinal down to the partition, one pod at a time. Under
    // OrderedReady the real controller first walks every replica and stops at the first that is
    // not Running and Ready (`processReplica` in `stateful_set_control.go`), so a pod of a broken
    // revision blocks every update, a reverted template included, until someone deletes it
    // ("Forced rollback" in the StatefulSet docs; kubernetes/kubernetes#67250).
    let blocked = ordered && pods.range(..replicas).any(|(_, p)| !pod_ready(p));
    if !acted && rolling && !blocked {
        for (o, p) in pods.range(partition..replicas).rev() {
            if rev_of(p) != update_rev {
                st.delete(res::PODS, &ns, &format!("{name}-{o}"));
                break;
            }
            // Waits for an updated pod to become healthy before touching the next one.
            if !pod_ready(p) {
                break;
            }
        }
    }
    // Status, from the pods as they are now.
    let pods: Vec<Value> = owned(st, res::PODS, &ns, &uid);
    let count = pods.len() as i64;
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let min_ready = i64_at(set, &["spec", "minReadySeconds"]).unwrap_or(0);
    let available = pods
        .iter()
        .filter(|p| pod_available(st, p, min_ready))
        .count() as i64;
    let updated = pods.iter().filter(|p| rev_of(p) == update_rev).count() as i64;
    let mut current = pods.iter().filter(|p| rev_of(p) == current_rev).count() as i64;
    let mut current_rev = current_rev;
    if rolling && updated == count && ready == count && count == replicas {
        current_rev = update_rev.clone();
        current = updated;
    }
    let mut s = Map::new();
    put_count(
        &mut s,
        "observedGeneration",
        i64_at(set, &["metadata", "generation"]).unwrap_or(1),
        false,
    );
    put_count(&mut s, "replicas", count, true);
    put_count(&mut s, "readyReplicas", ready, false);
    put_count(&mut s, "currentReplicas", current, false);
    put_count(&mut s, "updatedReplicas", updated, false);
    put_count(&mut s, "availableReplicas", available, true);
    s.insert("currentRevision".into(), json!(current_rev));
    s.insert("updateRevision".into(), json!(update_rev));
    s.insert("collisionCount".into(), json!(0));
    set_status_if_changed(st, res::STATEFULSETS, &ns, &name, Value::Object(s));
}
