//! Pods of a rollout: which belong to the newest revision, whether one is failing, and a status row per pod.
//!
//! Newest-revision rules (what kubectl and the controllers use):
//! - Deployment: the ReplicaSet owned by the Deployment with the highest `deployment.kubernetes.io/revision`
//!   annotation; its pods are owned by that ReplicaSet and carry its `pod-template-hash` label.
//! - StatefulSet: pods owned by it whose `controller-revision-hash` label equals `status.updateRevision`.
//! - DaemonSet: pods owned by it whose `pod-template-generation` label equals the DaemonSet's
//!   `deprecated.daemonset.template.generation` annotation (the generation the controller stamps on the pods
//!   it creates; DaemonSet status names no revision hash). Without that annotation every pod it owns counts.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Container waiting reasons that mean the pod will not become ready without a change.
pub const FAILING_REASONS: [&str; 7] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// The annotation in which the Deployment controller numbers a Deployment's and its ReplicaSets' revisions.
const REVISION: &str = "deployment.kubernetes.io/revision";

/// Longest kubelet message kept in a [`PodProblem`], in characters.
const MESSAGE_MAX_CHARS: usize = 200;

/// Why a pod of the new revision is failing: a container waiting with one of [`FAILING_REASONS`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodProblem {
    /// Pod name.
    pub pod: String,
    /// Container name (init containers included); empty when the pod was never scheduled.
    pub container: String,
    /// The waiting reason, e.g. `ImagePullBackOff`, or [`UNSCHEDULABLE`].
    pub reason: String,
    /// The kubelet's message, trimmed to 200 characters; for `CrashLoopBackOff` the last termination is appended.
    pub message: String,
    /// The container's restart count.
    pub restarts: u32,
}

impl PodProblem {
    /// One line for the live rollout table: `pod orion-7d9-x2: ImagePullBackOff (Back-off
    /// pulling image …)`, restarts included.
    pub fn brief(&self) -> String {
        let mut out = format!("pod {}: {}", self.pod, self.reason);
        if self.restarts > 0 {
            out.push_str(&format!(" after {} restarts", self.restarts));
        }
        if !self.message.is_empty() {
            out.push_str(&format!(" ({})", self.message));
        }
        out
    }
}

/// The reason the scheduler sets on a pod's `PodScheduled` condition when no node fits it.
pub const UNSCHEDULABLE: &str = "Unschedulable";

/// `text` up to and including its first ". " period (all of it when it has none).
fn first_sentence(text: &str) -> &str {
    text.find(". ").map_or(text, |i| &text[..=i]).trim()
}

/// Why `pod` will not become ready without a change: the scheduler found no node for it (an
/// unbound volume claim, too little CPU or memory, taints), or else its first failing container
/// (init containers first, then containers, in status order).
pub fn pod_problem(pod: &Pod) -> Option<PodProblem> {
    let status = pod.status.as_ref()?;
    // kube-scheduler marks a pod it cannot place with PodScheduled=False, reason Unschedulable,
    // and its own explanation ("0/3 nodes are available: ..."); such a pod has no container
    // status at all, so without this it would look merely pending.
    if let Some(c) = status.conditions.iter().flatten().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some(UNSCHEDULABLE)
    }) {
        // The scheduler's FitError reads "0/N nodes are available: <why>. <what preemption
        // would do>." (kube-scheduler `framework/types.go`); only the first sentence helps.
        let message = first_sentence(c.message.as_deref().unwrap_or_default());
        return Some(PodProblem {
            pod: pod.metadata.name.clone().unwrap_or_default(),
            container: String::new(),
            reason: UNSCHEDULABLE.to_string(),
            message: truncate_chars(message, MESSAGE_MAX_CHARS),
            restarts: 0,
        });
    }
    let all = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in all {
        let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let Some(reason) = waiting
            .reason
            .as_deref()
            .filter(|r| FAILING_REASONS.contains(r))
        else {
            continue;
        };
        let mut message = waiting
            .message
            .clone()
            .unwrap_or_default()
            .trim()
            .to_string();
        if reason == "CrashLoopBackOff"
            && let Some(last) = last_terminated(cs)
        {
            message = if message.is_empty() {
                format!("last exit: {last}")
            } else {
                format!("{message}; last exit: {last}")
            };
        }
        return Some(PodProblem {
            pod: pod.metadata.name.clone().unwrap_or_default(),
            container: cs.name.clone(),
            reason: reason.to_string(),
            message: truncate_chars(&message, MESSAGE_MAX_CHARS),
            restarts: u32::try_from(cs.restart_count).unwrap_or(0),
        });
    }
    None
}

/// `OOMKilled (exit code 137)` for the container's previous termination, if any.
fn last_terminated(cs: &ContainerStatus) -> Option<String> {
    let t = cs.last_state.as_ref()?.terminated.as_ref()?;
    Some(format!(
        "{} (exit code {})",
        t.reason.as_deref().unwrap_or("Terminated"),
        t.exit_code
    ))
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// How to recognise a pod of a workload's newest revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRevision {
    /// Kind of the pod's controlling owner (`ReplicaSet`, `StatefulSet`, `DaemonSet`).
    pub owner_kind: &'static str,
    /// Name of that owner.
    pub owner_name: String,
    /// Label to compare, with the value it must have; `None` means every pod of the owner matches.
    pub label: Option<(&'static str, String)>,
}

impl NewRevision {
    /// Whether `pod` belongs to this revision.
    pub fn matches(&self, pod: &Pod) -> bool {
        let owned =
            owners(&pod.metadata).any(|o| o.kind == self.owner_kind && o.name == self.owner_name);
        let labelled = match &self.label {
            None => true,
            Some((key, value)) => {
                pod.metadata.labels.as_ref().and_then(|l| l.get(*key)) == Some(value)
            }
        };
        owned && labelled
    }
}

fn owners(meta: &ObjectMeta) -> impl Iterator<Item = &OwnerReference> {
    meta.owner_references.iter().flatten()
}

fn revision_number(rs: &ReplicaSet) -> Option<i64> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(REVISION)?
        .parse()
        .ok()
}

/// The newest ReplicaSet of `deploy`: owned by it (matched by uid when both have one, else by name), with the
/// revision the Deployment's own `deployment.kubernetes.io/revision` annotation names (the controller stamps
/// it on both), or, for an object without the annotation, the highest revision.
///
/// Matching the Deployment's annotation matters on a rollback: the controller re-stamps the old ReplicaSet with
/// a new revision, and the watch may see the Deployment before that ReplicaSet update; until both agree no
/// ReplicaSet is the new one, so the bad revision's pods are never mistaken for the rollback's.
pub fn newest_replicaset<'a>(
    deploy: &Deployment,
    replicasets: &'a [ReplicaSet],
) -> Option<&'a ReplicaSet> {
    let name = deploy.metadata.name.as_deref()?;
    let uid = deploy.metadata.uid.as_deref();
    let owned = replicasets.iter().filter(|rs| {
        owners(&rs.metadata).any(|o| {
            o.kind == "Deployment"
                && o.name == name
                && uid.is_none_or(|u| o.uid.is_empty() || o.uid == u)
        })
    });
    let stamped = deploy
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse::<i64>().ok());
    match stamped {
        Some(want) => owned
            .into_iter()
            .find(|rs| revision_number(rs) == Some(want)),
        None => owned
            .filter_map(|rs| revision_number(rs).map(|n| (n, rs)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, rs)| rs),
    }
}

/// The newest revision of a Deployment, or `None` while its ReplicaSet is not known.
pub fn deployment_revision(deploy: &Deployment, replicasets: &[ReplicaSet]) -> Option<NewRevision> {
    let rs = newest_replicaset(deploy, replicasets)?;
    let hash = rs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .cloned();
    Some(NewRevision {
        owner_kind: "ReplicaSet",
        owner_name: rs.metadata.name.clone()?,
        label: hash.map(|h| ("pod-template-hash", h)),
    })
}

/// The newest revision of a StatefulSet, or `None` while `status.updateRevision` is unset.
pub fn statefulset_revision(sts: &StatefulSet) -> Option<NewRevision> {
    let rev = sts
        .status
        .as_ref()?
        .update_revision
        .clone()
        .filter(|r| !r.is_empty())?;
    Some(NewRevision {
        owner_kind: "StatefulSet",
        owner_name: sts.metadata.name.clone()?,
        label: Some(("controller-revision-hash", rev)),
    })
}

/// The newest revision of a DaemonSet (see the module docs for the rule).
pub fn daemonset_revision(ds: &DaemonSet) -> Option<NewRevision> {
    let generation = ds
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("deprecated.daemonset.template.generation"))
        .cloned();
    Some(NewRevision {
        owner_kind: "DaemonSet",
        owner_name: ds.metadata.name.clone()?,
        label: generation.map(|g| ("pod-template-generation", g)),
    })
}

/// A summary row per pod for `/ge status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRow {
    /// Pod name.
    pub name: String,
    /// Ready containers over containers, e.g. `1/2`.
    pub ready: String,
    /// `status.phase`, or `Terminating` when the pod is being deleted.
    pub phase: String,
    /// Restarts summed over the containers.
    pub restarts: u32,
    /// A current waiting reason (`ImagePullBackOff`), else a current or last termination
    /// (`Error (exit code 1)`, `last: OOMKilled (exit code 137)`).
    pub reason: Option<String>,
    /// Seconds since `metadata.creationTimestamp`.
    pub age_secs: Option<u64>,
}

/// The `/ge status` row for `pod` at time `now`.
pub fn pod_row(pod: &Pod, now: Timestamp) -> PodRow {
    let status = pod.status.clone().unwrap_or_default();
    let statuses: Vec<&ContainerStatus> = status.container_statuses.iter().flatten().collect();
    let total = pod
        .spec
        .as_ref()
        .map(|s| s.containers.len())
        .unwrap_or(0)
        .max(statuses.len());
    let ready = statuses.iter().filter(|c| c.ready).count();
    let restarts = statuses
        .iter()
        .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
        .sum();
    let phase = if pod.metadata.deletion_timestamp.is_some() {
        "Terminating".to_string()
    } else {
        status
            .phase
            .clone()
            .unwrap_or_else(|| "Unknown".to_string())
    };
    let all: Vec<&ContainerStatus> = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(statuses)
        .collect();
    let waiting = all
        .iter()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
    let terminated = || {
        all.iter().find_map(|c| {
            let t = c.state.as_ref()?.terminated.as_ref()?;
            // A cleanly finished init container is normal, not a reason worth showing.
            (t.exit_code != 0).then(|| {
                format!(
                    "{} (exit code {})",
                    t.reason.as_deref().unwrap_or("Terminated"),
                    t.exit_code
                )
            })
        })
    };
    let last = || {
        all.iter()
            .find_map(|c| last_terminated(c).map(|t| format!("last: {t}")))
    };
    let age_secs = pod
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| u64::try_from(now.duration_since(t.0).as_secs()).unwrap_or(0)); // clock skew: 0
    PodRow {
        name: pod.metadata.name.clone().unwrap_or_default(),
        ready: format!("{ready}/{total}"),
        phase,
        restarts,
        reason: waiting.or_else(terminated).or_else(last),
        age_secs,
    }
}

#[cfg(test)]
mod tests;
