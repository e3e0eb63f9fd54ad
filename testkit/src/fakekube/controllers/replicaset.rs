//! ReplicaSet controller: keeps `spec.replicas` pods, deleting not-ready and newest pods first,
//! and reports replicas / ready / available counts.

use super::super::meta::{self, at, i64_at};
use super::super::resources::res;
use super::super::store::State;
use super::pods::make_pod;
use super::{owned, pod_available, pod_ready, put_count, set_status_if_changed};
use serde_json::{Map, Value, json};

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
    if have < desired {
        for _ in have..desired {
            let n = st.next_counter();
            let pod_name = format!("{name}-{}", meta::name_suffix(n));
            let pod = make_pod(
                st,
                rs,
                &template,
                &pod_name,
                &[],
                None,
                Some(&format!("{name}-")),
            );
            pods.push(pod);
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
    set_status_if_changed(st, res::REPLICASETS, &ns, &name, Value::Object(s));
}
