//! Deployment controller: ReplicaSet per pod template (`<name>-<pod-template-hash>`), revision
//! annotations (a reused old ReplicaSet gets max+1, as on rollback), rolling updates honouring
//! maxSurge/maxUnavailable (Recreate too), status counters and the Available / Progressing
//! conditions including ProgressDeadlineExceeded.

use super::super::meta::{self, at, i64_at, str_at};
use super::super::resources::res;
use super::super::store::State;
use super::{condition, find_condition, int_or_percent, owned, put_count, set_status_if_changed};
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::time::Instant;

const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

/// One round over every Deployment.
pub(super) fn sync_all(st: &mut State) {
    let all = st.list_owned(res::DEPLOYMENTS, None);
    let live: std::collections::HashSet<String> =
        all.iter().map(|d| meta::uid(d).to_string()).collect();
    st.ctl.progress.retain(|uid, _| live.contains(uid));
    for d in all {
        sync(st, &d);
    }
}

fn revision(o: &Value) -> i64 {
    str_at(o, &["metadata", "annotations", REVISION])
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn replicas(o: &Value) -> i64 {
    i64_at(o, &["spec", "replicas"]).unwrap_or(0)
}

fn stat(o: &Value, k: &str) -> i64 {
    i64_at(o, &["status", k]).unwrap_or(0)
}

/// Template equality ignoring the pod-template-hash label (like `EqualIgnoreHash`).
fn same_template(rs_template: &Value, template: &Value) -> bool {
    let mut t = rs_template.clone();
    meta::remove_at(&mut t, &["metadata", "labels", HASH]);
    &t == template
}

fn set_replicas(st: &mut State, rs: &mut Value, n: i64) {
    if replicas(rs) != n {
        meta::set_at(rs, &["spec", "replicas"], json!(n));
        *rs = st.replace(res::REPLICASETS, rs.clone()).0;
    }
}

fn sync(st: &mut State, d: &Value) {
    let (ns, name) = super::ns_name(d);
    let uid = meta::uid(d).to_string();
    let desired = replicas(d).max(0);
    let template = at(d, &["spec", "template"]).cloned().unwrap_or(json!({}));
    let hash = meta::template_hash(&template);
    let mut all = owned(st, res::REPLICASETS, &ns, &uid);
    let max_rev = all.iter().map(revision).max().unwrap_or(0);
    let mut progress_cond: Option<(&str, String)> = None;
    let new_idx = match all
        .iter()
        .position(|rs| at(rs, &["spec", "template"]).is_some_and(|t| same_template(t, &template)))
    {
        Some(i) => {
            if revision(&all[i]) < max_rev {
                // An old template came back (rollback): its ReplicaSet becomes the newest revision.
                let old_rev = revision(&all[i]);
                let mut rs = all[i].clone();
                let hist = str_at(
                    &rs,
                    &[
                        "metadata",
                        "annotations",
                        "deployment.kubernetes.io/revision-history",
                    ],
                )
                .map(|h| format!("{h},{old_rev}"))
                .unwrap_or(old_rev.to_string());
                meta::with_map(&mut rs, &["metadata", "annotations"], |a| {
                    a.insert(REVISION.into(), json!((max_rev + 1).to_string()));
                    a.insert(
                        "deployment.kubernetes.io/revision-history".into(),
                        json!(hist),
                    );
                });
                all[i] = st.replace(res::REPLICASETS, rs).0;
                progress_cond = Some((
                    "FoundNewReplicaSet",
                    format!("Found new replica set \"{}\"", meta::name(&all[i])),
                ));
            }
            i
        }
        None => {
            let rs_name = format!("{name}-{hash}");
            let mut rs_template = template.clone();
            meta::set_at(&mut rs_template, &["metadata", "labels", HASH], json!(hash));
            let mut selector = at(d, &["spec", "selector"]).cloned().unwrap_or(json!({}));
            meta::set_at(&mut selector, &["matchLabels", HASH], json!(hash));
            let mut labels = at(&template, &["metadata", "labels"])
                .cloned()
                .unwrap_or(json!({}));
            meta::set_at(&mut labels, &[HASH], json!(hash));
            let rs = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name, "namespace": ns, "labels": labels,
                    "annotations": {
                        REVISION: (max_rev + 1).to_string(),
                        "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                        "deployment.kubernetes.io/max-replicas": (desired + 1).to_string(),
                    },
                    "ownerReferences": [meta::controller_ref(d)],
                },
                "spec": {
                    "replicas": 0, "minReadySeconds": i64_at(d, &["spec", "minReadySeconds"]).unwrap_or(0),
                    "selector": selector, "template": rs_template,
                },
                "status": { "replicas": 0 },
            });
            let mut rs = rs;
            super::controller_fields(&mut rs);
            if st.get(res::REPLICASETS, &ns, &rs_name).is_some() {
                // Hash collision with a foreign ReplicaSet: the real controller bumps collisionCount.
                return;
            }
            all.push(st.insert(res::REPLICASETS, rs));
            progress_cond = Some((
                "NewReplicaSetCreated",
                format!("Created new replica set \"{rs_name}\""),
            ));
            all.len() - 1
        }
    };
    let new_rev = revision(&all[new_idx]);
    let d = if str_at(d, &["metadata", "annotations", REVISION])
        != Some(new_rev.to_string().as_str())
    {
        let mut dd = d.clone();
        meta::with_map(&mut dd, &["metadata", "annotations"], |a| {
            a.insert(REVISION.into(), json!(new_rev.to_string()));
        });
        st.replace(res::DEPLOYMENTS, dd).0
    } else {
        d.clone()
    };
    let mut new_rs = all.remove(new_idx);
    let mut old: Vec<Value> = all;
    old.sort_by_key(revision);
    let rolling = str_at(&d, &["spec", "strategy", "type"]) != Some("Recreate");
    let ru = at(&d, &["spec", "strategy", "rollingUpdate"]);
    let surge = if rolling {
        int_or_percent(ru.and_then(|r| r.get("maxSurge")), desired, 1, true)
    } else {
        0
    };
    let mut unavail = if rolling {
        int_or_percent(ru.and_then(|r| r.get("maxUnavailable")), desired, 0, false)
    } else {
        desired
    };
    if surge == 0 && unavail == 0 {
        unavail = 1;
    }
    if !rolling {
        // Recreate: all old pods go before the new ReplicaSet is scaled up.
        for rs in old.iter_mut() {
            set_replicas(st, rs, 0);
        }
        if old.iter().all(|rs| stat(rs, "replicas") == 0) {
            set_replicas(st, &mut new_rs, desired);
        }
    } else if old.iter().all(|rs| replicas(rs) == 0) {
        // Not rolling out: plain scaling of the one active ReplicaSet.
        set_replicas(st, &mut new_rs, desired);
    } else {
        // Scale up the new ReplicaSet within maxSurge.
        let total: i64 = old.iter().map(replicas).sum::<i64>() + replicas(&new_rs);
        let cur = replicas(&new_rs);
        if cur < desired && total < desired + surge {
            let n = cur + (desired + surge - total).min(desired - cur);
            set_replicas(st, &mut new_rs, n);
        } else if cur > desired {
            set_replicas(st, &mut new_rs, desired);
        }
        // Scale down old ReplicaSets within maxUnavailable: unhealthy replicas first, then by availability.
        let all_pods: i64 = old.iter().map(replicas).sum::<i64>() + replicas(&new_rs);
        let min_available = desired - unavail;
        let new_unavailable = replicas(&new_rs) - stat(&new_rs, "availableReplicas");
        let mut budget = all_pods - min_available - new_unavailable;
        for rs in old.iter_mut() {
            if budget <= 0 {
                break;
            }
            let unhealthy = (replicas(rs) - stat(rs, "availableReplicas"))
                .max(0)
                .min(budget);
            if unhealthy > 0 {
                let n = replicas(rs) - unhealthy;
                set_replicas(st, rs, n);
                budget -= unhealthy;
            }
        }
        let available: i64 = old
            .iter()
            .chain(std::iter::once(&new_rs))
            .map(|rs| stat(rs, "availableReplicas").min(replicas(rs)))
            .sum();
        let mut scale_down = available - min_available;
        for rs in old.iter_mut() {
            if scale_down <= 0 {
                break;
            }
            let k = replicas(rs).min(scale_down);
            if k > 0 {
                let n = replicas(rs) - k;
                set_replicas(st, rs, n);
                scale_down -= k;
            }
        }
    }
    cleanup_history(st, &d, &old);
    update_status(st, &d, &new_rs, &old, desired, unavail, progress_cond);
}

/// Deletes old, scaled-down ReplicaSets beyond `revisionHistoryLimit` (oldest first).
fn cleanup_history(st: &mut State, d: &Value, old: &[Value]) {
    let limit = i64_at(d, &["spec", "revisionHistoryLimit"])
        .unwrap_or(10)
        .max(0) as usize;
    let idle: Vec<&Value> = old
        .iter()
        .filter(|rs| replicas(rs) == 0 && stat(rs, "replicas") == 0)
        .collect();
    if idle.len() > limit {
        for rs in &idle[..idle.len() - limit] {
            let (ns, name) = super::ns_name(rs);
            st.delete(res::REPLICASETS, &ns, &name);
        }
    }
}

fn update_status(
    st: &mut State,
    d: &Value,
    new_rs: &Value,
    old: &[Value],
    desired: i64,
    unavail: i64,
    created: Option<(&str, String)>,
) {
    let (ns, name) = super::ns_name(d);
    let uid = meta::uid(d).to_string();
    let all: Vec<&Value> = old.iter().chain(std::iter::once(new_rs)).collect();
    let total_actual: i64 = all.iter().map(|rs| stat(rs, "replicas")).sum();
    let updated = stat(new_rs, "replicas");
    let ready: i64 = all.iter().map(|rs| stat(rs, "readyReplicas")).sum();
    let available: i64 = all.iter().map(|rs| stat(rs, "availableReplicas")).sum();
    let total_spec: i64 = all.iter().map(|rs| replicas(rs)).sum();
    let generation = i64_at(d, &["metadata", "generation"]).unwrap_or(1);
    let mut s = Map::new();
    put_count(&mut s, "observedGeneration", generation, false);
    put_count(&mut s, "replicas", total_actual, false);
    put_count(&mut s, "updatedReplicas", updated, false);
    put_count(&mut s, "readyReplicas", ready, false);
    put_count(&mut s, "availableReplicas", available, false);
    put_count(
        &mut s,
        "unavailableReplicas",
        (total_spec - available).max(0),
        false,
    );
    let rs_name = meta::name(new_rs).to_string();
    let prev_avail = find_condition(d, "Available");
    let available_cond = if available >= desired - unavail {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            prev_avail,
            true,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            prev_avail,
            true,
        )
    };
    let prev = find_condition(d, "Progressing").cloned();
    let prev_reason = prev
        .as_ref()
        .and_then(|p| str_at(p, &["reason"]))
        .unwrap_or_default()
        .to_string();
    let deadline = i64_at(d, &["spec", "progressDeadlineSeconds"]);
    let now = Instant::now();
    let touch = |st: &mut State| {
        st.ctl.progress.insert(uid.clone(), now);
    };
    let progressing = updated > stat(d, "updatedReplicas")
        || ready > stat(d, "readyReplicas")
        || available > stat(d, "availableReplicas")
        || (stat(d, "replicas") - stat(d, "updatedReplicas")) > (total_actual - updated);
    let complete = updated == desired && total_actual == desired && available == desired;
    let is_complete = total_actual == updated && prev_reason == "NewReplicaSetAvailable";
    let fresh = |reason: &str, status: &str, msg: String| {
        let mut c = condition("Progressing", status, reason, &msg, prev.as_ref(), true);
        c["lastUpdateTime"] = json!(meta::now_rfc3339());
        c
    };
    let progress_cond = if let Some((reason, msg)) = created {
        touch(st);
        fresh(reason, "True", msg)
    } else if deadline.is_none() || is_complete {
        prev.clone().unwrap_or_else(|| {
            fresh(
                "NewReplicaSetAvailable",
                "True",
                format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            )
        })
    } else if complete {
        touch(st);
        if prev_reason == "NewReplicaSetAvailable" {
            prev.clone().unwrap_or_default()
        } else {
            fresh(
                "NewReplicaSetAvailable",
                "True",
                format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            )
        }
    } else if progressing {
        touch(st);
        fresh(
            "ReplicaSetUpdated",
            "True",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        )
    } else {
        let since = *st.ctl.progress.entry(uid.clone()).or_insert(now);
        let limit =
            Duration::from_secs_f64(deadline.unwrap_or(600).max(0) as f64 * st.knobs.time_scale);
        if prev_reason == "ProgressDeadlineExceeded" || since.elapsed() > limit {
            if prev_reason == "ProgressDeadlineExceeded" {
                prev.clone().unwrap_or_default()
            } else {
                fresh(
                    "ProgressDeadlineExceeded",
                    "False",
                    format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                )
            }
        } else {
            prev.clone().unwrap_or_else(|| {
                fresh(
                    "ReplicaSetUpdated",
                    "True",
                    format!("ReplicaSet \"{rs_name}\" is progressing."),
                )
            })
        }
    };
    let mut conditions = vec![available_cond, progress_cond];
    conditions.extend(replica_failure(d, new_rs, old));
    s.insert("conditions".into(), json!(conditions));
    set_status_if_changed(st, res::DEPLOYMENTS, &ns, &name, Value::Object(s));
}

/// The Deployment's `ReplicaFailure` condition: the new ReplicaSet's, else an old one's, as
/// `getReplicaFailures` (`pkg/controller/deployment/sync.go`) and `syncRolloutStatus`
/// (`progress.go`) copy it (`ReplicaSetToDeploymentCondition`: both times are the ReplicaSet
/// condition's transition time; `SetDeploymentCondition` keeps one of the same status and
/// reason as it is).
fn replica_failure(d: &Value, new_rs: &Value, old: &[Value]) -> Option<Value> {
    let rs_cond = std::iter::once(new_rs)
        .chain(old)
        .find_map(|rs| find_condition(rs, "ReplicaFailure"))?;
    let field = |k: &str| rs_cond.get(k).cloned().unwrap_or(Value::Null);
    let prev = find_condition(d, "ReplicaFailure");
    let same = |k: &str| prev.and_then(|p| p.get(k)) == rs_cond.get(k);
    if let Some(p) = prev.filter(|_| same("status") && same("reason")) {
        return Some(p.clone());
    }
    let transition = match prev {
        Some(p) if same("status") => p.get("lastTransitionTime").cloned().unwrap_or(Value::Null),
        _ => field("lastTransitionTime"),
    };
    Some(json!({
        "type": "ReplicaFailure", "status": field("status"),
        "lastUpdateTime": field("lastTransitionTime"), "lastTransitionTime": transition,
        "reason": field("reason"), "message": field("message"),
    }))
}
