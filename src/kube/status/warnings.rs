//! What the cluster itself said about a release that did not roll out: the newest Warning events
//! of its pods and of its workloads and their ReplicaSets (a controller that cannot create a pod,
//! refused by a quota, says so only there: `FailedCreate`), and the newest event of each of
//! their volume claims that is still Pending (a claim waiting for a provisioner says so only in
//! a Normal event).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use k8s_openapi::jiff::Timestamp;

use crate::kube::status::workload::{WorkloadKind, WorkloadRef};
use kube::api::ListParams;
use kube::{Api, Client};

/// Longest event message kept, in characters (the scheduler's can list every node).
const MESSAGE_MAX_CHARS: usize = 300;
/// At most this many events are listed in one page (a namespace's events are many).
const LIST_LIMIT: u32 = 500;

/// One line per event, newest first, at most `max`: `pod/orion-7d9-x2 FailedScheduling: 0/3
/// nodes are available: …`. A repeated message about the same object counts once.
pub async fn recent_warnings(
    client: &Client,
    namespace: &str,
    pod_selector: &str,
    workloads: &[WorkloadRef],
    max: usize,
) -> Result<Vec<String>, kube::Error> {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(pod_selector))
        .await?;
    let pod_names: BTreeSet<String> = pods
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let claims: BTreeSet<String> = pods.items.iter().flat_map(claim_names).collect();
    let pending = pending_claims(client, namespace, &claims).await?;
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().limit(LIST_LIMIT))
        .await?;
    let mut picked: BTreeMap<(String, String), (Option<Timestamp>, String)> = BTreeMap::new();
    for e in &events.items {
        let object = &e.involved_object;
        let (Some(kind), Some(name)) = (object.kind.as_deref(), object.name.as_deref()) else {
            continue;
        };
        let warning = e.type_.as_deref() == Some("Warning");
        let wanted = match kind {
            "Pod" => pod_names.contains(name) && warning,
            "PersistentVolumeClaim" => pending.contains(name),
            _ => warning && of_workloads(workloads, kind, name),
        };
        if !wanted {
            continue;
        }
        let at = when(e);
        let reason = e.reason.clone().unwrap_or_default();
        let line = format!(
            "{}/{name} {reason}: {}",
            kind.to_ascii_lowercase(),
            clip(e.message.as_deref().unwrap_or_default())
        );
        // A claim shows only its newest event; a pod each of its messages once; a workload its
        // newest of each reason (a controller's every retry names a new pod).
        let key = match kind {
            "PersistentVolumeClaim" => (name.to_string(), String::new()),
            "Pod" => (name.to_string(), line.clone()),
            _ => (name.to_string(), reason.clone()),
        };
        match picked.get(&key) {
            // Equal times (core events have whole seconds): the later in the list, which is
            // the later recorded for one object, wins.
            Some((seen, _)) if *seen > at => {}
            _ => {
                picked.insert(key, (at, line));
            }
        }
    }
    let mut lines: Vec<(Option<Timestamp>, String)> = picked.into_values().collect();
    lines.sort_by_key(|l| std::cmp::Reverse(l.0));
    Ok(lines.into_iter().take(max).map(|(_, l)| l).collect())
}

/// Whether an event about `kind`/`name` is about one of `workloads`: the workload itself, or a
/// ReplicaSet of one of its Deployments (named `DEPLOYMENT-HASH`).
fn of_workloads(workloads: &[WorkloadRef], kind: &str, name: &str) -> bool {
    workloads.iter().any(|w| match (w.kind, kind) {
        (WorkloadKind::Deployment, "Deployment")
        | (WorkloadKind::StatefulSet, "StatefulSet")
        | (WorkloadKind::DaemonSet, "DaemonSet") => w.name == name,
        (WorkloadKind::Deployment, "ReplicaSet") => name
            .strip_prefix(w.name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hash| !hash.is_empty() && !hash.contains('-')),
        _ => false,
    })
}

/// The claims a pod mounts, by name.
fn claim_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .collect()
}

/// Those of `claims` that exist and are not bound yet.
async fn pending_claims(
    client: &Client,
    namespace: &str,
    claims: &BTreeSet<String>,
) -> Result<BTreeSet<String>, kube::Error> {
    let api = Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace);
    let mut out = BTreeSet::new();
    for name in claims {
        let phase = api
            .get_opt(name)
            .await?
            .and_then(|c| c.status)
            .and_then(|s| s.phase);
        if phase.as_deref() == Some("Pending") {
            out.insert(name.clone());
        }
    }
    Ok(out)
}

/// When the event last happened: `lastTimestamp` (core recorder), else `eventTime`
/// (events.k8s.io recorder, the scheduler's), else `firstTimestamp`.
fn when(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

/// The message on one line, at most [`MESSAGE_MAX_CHARS`] characters.
fn clip(message: &str) -> String {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}
