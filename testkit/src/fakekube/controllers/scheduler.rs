//! kube-scheduler: binds each pod without a node to the node with the most room, or marks it
//! `PodScheduled=False, reason Unschedulable` and records a `FailedScheduling` event, with the
//! real FitError wording (kube-scheduler `pkg/scheduler/framework/types.go`, `FitError.Error`:
//! "0/N nodes are available: <pre-filter message>. <filter reasons>. <post-filter message>.").
//!
//! Modelled, in the default profile's order: the VolumeBinding pre-filter (a missing claim, an
//! unbound claim of an immediate class), then per node NodeUnschedulable, TaintToleration
//! (NoSchedule and NoExecute), NodeAffinity (`nodeSelector` only), NodeResourcesFit (CPU and
//! memory requests, limits standing in for absent requests as the API defaults them), and the
//! volume's node affinity. The first failing filter gives a node's reasons. Preemption never
//! finds victims (every pod has the same priority), so its message is "Preemption is not
//! helpful for scheduling" for nodes no eviction could fix and "No preemption victims found for
//! incoming pod" for the others.

use super::super::events::{self, Event, Recorder};
use super::super::meta::{self, at, str_at};
use super::super::quantity::Quantity;
use super::super::resources::res;
use super::super::store::State;
use super::volumes::{SELECTED_NODE, pinned_node, waits_for_consumer};
use super::{condition, find_condition};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Why one node does not fit, and whether evicting pods could change that.
struct Misfit {
    reasons: Vec<String>,
    resolvable: bool,
}

/// One scheduling round over the pods that have no node.
pub(super) fn schedule_all(st: &mut State) {
    for pod in st.list_owned(res::PODS, None) {
        if str_at(&pod, &["spec", "nodeName"]).is_none_or(str::is_empty)
            && at(&pod, &["metadata", "deletionTimestamp"]).is_none()
        {
            schedule(st, pod);
        }
    }
}

fn schedule(st: &mut State, pod: Value) {
    let nodes = st.list_owned(res::NODES, None);
    let (ns, _) = super::ns_name(&pod);
    let claims: Vec<String> = at(&pod, &["spec", "volumes"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| str_at(v, &["persistentVolumeClaim", "claimName"]))
        .map(str::to_string)
        .collect();
    // VolumeBinding pre-filter.
    let mut delayed = Vec::new();
    let mut pinned = None;
    for name in &claims {
        let Some(claim) = st.get(res::PVCS, &ns, name).cloned() else {
            return unschedulable(
                st,
                &pod,
                nodes.len(),
                Some(format!("persistentvolumeclaim \"{name}\" not found")),
                &[],
            );
        };
        if str_at(&claim, &["status", "phase"]) == Some("Bound") {
            pinned = pinned_node(st, &claim).or(pinned);
            continue;
        }
        let class = str_at(&claim, &["spec", "storageClassName"]).unwrap_or_default();
        if class.is_empty() || !waits_for_consumer(st, class) {
            let why = "pod has unbound immediate PersistentVolumeClaims".to_string();
            return unschedulable(st, &pod, nodes.len(), Some(why), &[]);
        }
        delayed.push(claim);
    }
    // Filters, node by node.
    let mut fits = Vec::new();
    let mut misfits = Vec::new();
    for node in &nodes {
        match filter(st, &pod, node, pinned.as_deref()) {
            Ok(free) => fits.push((free, meta::name(node).to_string())),
            Err(m) => misfits.push(m),
        }
    }
    // LeastAllocated: the node with the largest free share; ties go to the first by name.
    let Some((_, node)) = fits
        .into_iter()
        .min_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)))
    else {
        return unschedulable(st, &pod, nodes.len(), None, &misfits);
    };
    // A delayed claim is provisioned on the chosen node first; the pod binds once it is Bound.
    let mut waiting = false;
    for mut claim in delayed {
        waiting = true;
        if str_at(&claim, &["metadata", "annotations", SELECTED_NODE]).is_none() {
            meta::with_map(&mut claim, &["metadata", "annotations"], |a| {
                a.insert(SELECTED_NODE.into(), json!(node));
            });
            st.replace(res::PVCS, claim);
        }
    }
    if !waiting {
        bind(st, pod, &node);
    }
}

/// The pod's CPU (millicores) and memory (bytes) requests, as NodeResourcesFit counts them.
fn requests(pod: &Value) -> (f64, f64) {
    let per = |c: &Value, r: &str| {
        at(c, &["resources", "requests", r])
            .or_else(|| at(c, &["resources", "limits", r]))
            .and_then(Value::as_str)
            .map_or(0.0, |q| quantity(q, r == "cpu"))
    };
    let list = |key: &str| {
        at(pod, &["spec", key])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let sum = |r: &str| list("containers").iter().map(|c| per(c, r)).sum::<f64>();
    let init = |r: &str| {
        list("initContainers")
            .iter()
            .map(|c| per(c, r))
            .fold(0.0, f64::max)
    };
    (
        sum("cpu").max(init("cpu")),
        sum("memory").max(init("memory")),
    )
}

/// A resource quantity (`500m`, `1.5`, `512Mi`, `1G`); CPU in millicores, others in units.
fn quantity(q: &str, cpu: bool) -> f64 {
    let value = Quantity::parse(q).map_or(0.0, |q| q.as_f64());
    if cpu { value * 1000.0 } else { value }
}

/// What a node has allocatable, as (CPU millicores, memory bytes).
fn allocatable(node: &Value) -> (f64, f64) {
    let get = |r: &str, cpu: bool| {
        str_at(node, &["status", "allocatable", r]).map_or(0.0, |q| quantity(q, cpu))
    };
    (get("cpu", true), get("memory", false))
}

/// `Ok(free share after placing the pod)` or why the node does not fit.
fn filter(st: &State, pod: &Value, node: &Value, pinned: Option<&str>) -> Result<f64, Misfit> {
    let hard = |reason: String| Misfit {
        reasons: vec![reason],
        resolvable: false,
    };
    if at(node, &["spec", "unschedulable"]) == Some(&json!(true)) {
        return Err(hard("node(s) were unschedulable".into()));
    }
    let tolerations = at(pod, &["spec", "tolerations"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for taint in at(node, &["spec", "taints"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let effect = str_at(taint, &["effect"]).unwrap_or_default();
        if effect != "NoSchedule" && effect != "NoExecute" {
            continue;
        }
        if !tolerations.iter().any(|t| tolerates(t, taint)) {
            return Err(hard(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                str_at(taint, &["key"]).unwrap_or_default(),
                str_at(taint, &["value"]).unwrap_or_default()
            )));
        }
    }
    if let Some(selector) = at(pod, &["spec", "nodeSelector"]).and_then(Value::as_object) {
        let labels = at(node, &["metadata", "labels"]);
        if selector
            .iter()
            .any(|(k, v)| labels.and_then(|l| l.get(k)) != Some(v))
        {
            return Err(hard(
                "node(s) didn't match Pod's node affinity/selector".into(),
            ));
        }
    }
    let (cpu, memory) = requests(pod);
    let (cap_cpu, cap_memory) = allocatable(node);
    let (used_cpu, used_memory) = st
        .list(res::PODS, None)
        .into_iter()
        .filter(|p| str_at(p, &["spec", "nodeName"]) == Some(meta::name(node)))
        .filter(|p| {
            !matches!(
                str_at(p, &["status", "phase"]),
                Some("Succeeded" | "Failed")
            )
        })
        .map(requests)
        .fold((0.0, 0.0), |(c, m), (pc, pm)| (c + pc, m + pm));
    let mut short = Vec::new();
    if used_cpu + cpu > cap_cpu {
        short.push("Insufficient cpu".to_string());
    }
    if used_memory + memory > cap_memory {
        short.push("Insufficient memory".to_string());
    }
    if !short.is_empty() {
        return Err(Misfit {
            reasons: short,
            resolvable: true,
        });
    }
    if pinned.is_some_and(|n| n != meta::name(node)) {
        return Err(hard("node(s) had volume node affinity conflict".into()));
    }
    let share = |used: f64, cap: f64| if cap > 0.0 { 1.0 - used / cap } else { 0.0 };
    Ok(share(used_cpu + cpu, cap_cpu) + share(used_memory + memory, cap_memory))
}

/// Whether toleration `t` tolerates `taint` (the core/v1 `Toleration.ToleratesTaint` rules).
fn tolerates(t: &Value, taint: &Value) -> bool {
    let field = |v: &Value, k: &str| str_at(v, &[k]).unwrap_or_default().to_string();
    let effect = field(t, "effect");
    if !effect.is_empty() && effect != field(taint, "effect") {
        return false;
    }
    let key = field(t, "key");
    if !key.is_empty() && key != field(taint, "key") {
        return false;
    }
    match field(t, "operator").as_str() {
        "Exists" => true,
        "" | "Equal" => !key.is_empty() && field(t, "value") == field(taint, "value"),
        _ => false,
    }
}

/// Marks the pod unschedulable with the FitError message and records the event.
fn unschedulable(st: &mut State, pod: &Value, n: usize, pre: Option<String>, misfits: &[Misfit]) {
    let mut message = format!("0/{n} nodes are available:");
    let mut preemption: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(pre) = pre {
        message.push_str(&format!(" {pre}."));
        preemption.insert("Preemption is not helpful for scheduling", n);
    } else {
        let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
        for m in misfits {
            for r in &m.reasons {
                *histogram.entry(r.clone()).or_default() += 1;
            }
            let key = if m.resolvable {
                "No preemption victims found for incoming pod"
            } else {
                "Preemption is not helpful for scheduling"
            };
            *preemption.entry(key).or_default() += 1;
        }
        let mut parts: Vec<String> = histogram
            .into_iter()
            .map(|(r, c)| format!("{c} {r}"))
            .collect();
        parts.sort();
        message.push_str(&format!(" {}.", parts.join(", ")));
    }
    let mut parts: Vec<String> = preemption
        .into_iter()
        .map(|(r, c)| format!("{c} {r}"))
        .collect();
    parts.sort();
    message.push_str(&format!(
        " preemption: 0/{n} nodes are available: {}..",
        parts.join(", ")
    ));
    let prev = find_condition(pod, "PodScheduled").cloned();
    if prev.as_ref().and_then(|c| str_at(c, &["message"])) == Some(message.as_str()) {
        return;
    }
    let mut cond = condition(
        "PodScheduled",
        "False",
        "Unschedulable",
        &message,
        prev.as_ref(),
        false,
    );
    cond["lastProbeTime"] = Value::Null;
    let status = json!({ "phase": "Pending", "conditions": [cond], "qosClass": qos(pod) });
    let (ns, name) = super::ns_name(pod);
    let pod = st
        .set_status(res::PODS, &ns, &name, status)
        .unwrap_or_else(|| pod.clone());
    let event = Event {
        type_: "Warning",
        reason: "FailedScheduling",
        message: &message,
        component: "default-scheduler",
        recorder: Recorder::New,
    };
    events::record(st, &pod, &event);
}

/// Binds the pod to `node` (the `binding` subresource's effect) and says so in an event.
fn bind(st: &mut State, mut pod: Value, node: &str) {
    meta::set_at(&mut pod, &["spec", "nodeName"], json!(node));
    let prev = find_condition(&pod, "PodScheduled").cloned();
    let mut cond = condition("PodScheduled", "True", "", "", prev.as_ref(), false);
    if let Some(c) = cond.as_object_mut() {
        c.remove("reason");
        c.remove("message");
        c.insert("lastProbeTime".into(), Value::Null);
    }
    let status = json!({ "phase": "Pending", "conditions": [cond], "qosClass": qos(&pod) });
    meta::set_at(&mut pod, &["status"], status);
    let pod = st.replace(res::PODS, pod).0;
    let (ns, name) = super::ns_name(&pod);
    let message = format!("Successfully assigned {ns}/{name} to {node}");
    let event = Event {
        type_: "Normal",
        reason: "Scheduled",
        message: &message,
        component: "default-scheduler",
        recorder: Recorder::New,
    };
    events::record(st, &pod, &event);
}

/// The pod's QoS class: Guaranteed when every container's requests equal its limits for CPU
/// and memory, BestEffort when none sets any, Burstable otherwise.
pub(in super::super) fn qos(pod: &Value) -> &'static str {
    let containers = at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let set = |c: &Value, kind: &str, r: &str| at(c, &["resources", kind, r]).is_some();
    if containers.iter().all(|c| {
        ["cpu", "memory"]
            .iter()
            .all(|r| !set(c, "requests", r) && !set(c, "limits", r))
    }) {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = at(c, &["resources", "limits", r]);
            limit.is_some() && at(c, &["resources", "requests", r]).is_none_or(|q| Some(q) == limit)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}
