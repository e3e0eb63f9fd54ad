//! What alerting keeps of each watched object: a few fields per pod, node, Deployment and
//! claim, taken from the object as it arrives, so the memory a watch holds does not grow with
//! the size of the objects (bounded by the number of objects, a few hundred bytes each).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::kube::catalogue::render::LABEL_INSTANCE;
use crate::kube::{PodProblem, pod_problem};

/// A container's previous termination.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exit {
    /// Its exit code (137: killed, as by the OOM killer).
    pub code: i32,
    /// The runtime's reason (`OOMKilled`, `Error`, `Completed`).
    pub reason: String,
}

/// The kubelet's reason for an OOM kill.
pub const OOM_KILLED: &str = "OOMKilled";

/// A pod of a labkube release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSeen {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Uid (a StatefulSet's replacement has the name of the pod it replaces).
    pub uid: String,
    /// The release (its GE's instance label).
    pub release: String,
    /// Uid of the controller that owns it (a ReplicaSet, StatefulSet or DaemonSet); empty for
    /// a bare pod.
    pub owner: String,
    /// The node it is bound to; empty while unscheduled.
    pub node: String,
    /// Its Ready condition is True.
    pub ready: bool,
    /// Restarts of all its containers.
    pub restarts: u32,
    /// Why it will not become ready without a change (a failing container, no node).
    pub problem: Option<PodProblem>,
    /// The previous termination of its most restarted container.
    pub last_exit: Option<Exit>,
    /// The kubelet evicted it (`status.reason` Evicted): its message.
    pub evicted: Option<String>,
}

/// A Deployment of a labkube release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentSeen {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The release.
    pub release: String,
    /// Its Progressing condition says `ProgressDeadlineExceeded`: the controller's message.
    pub stalled: Option<String>,
}

/// A volume claim of a labkube release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimSeen {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The release.
    pub release: String,
    /// Pending since its creation (Unix ms; 0 when the object does not say); `None` once
    /// bound (or lost).
    pub pending_since_ms: Option<u64>,
}

/// `namespace/name`, the key objects are kept by.
pub fn object_key(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

fn release_of(meta: &ObjectMeta) -> String {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(LABEL_INSTANCE))
        .cloned()
        .unwrap_or_default()
}

impl PodSeen {
    /// What alerting keeps of `pod`.
    pub fn of(pod: &Pod) -> PodSeen {
        let meta = &pod.metadata;
        let status = pod.status.as_ref();
        let containers = status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten();
        let mut restarts = 0u32;
        let mut most: Option<(i32, Exit)> = None;
        for cs in containers {
            restarts = restarts.saturating_add(u32::try_from(cs.restart_count).unwrap_or(0));
            let last = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref());
            let now = cs.state.as_ref().and_then(|s| s.terminated.as_ref());
            if let Some(t) = now.or(last)
                && most.as_ref().is_none_or(|(n, _)| cs.restart_count > *n)
            {
                let exit = Exit {
                    code: t.exit_code,
                    reason: t.reason.clone().unwrap_or_else(|| "Terminated".into()),
                };
                most = Some((cs.restart_count, exit));
            }
        }
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let evicted = status
            .filter(|s| s.reason.as_deref() == Some("Evicted"))
            .map(|s| s.message.clone().unwrap_or_default());
        PodSeen {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            release: release_of(meta),
            owner: meta
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true))
                .map(|o| o.uid.clone())
                .unwrap_or_default(),
            node: pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default(),
            ready,
            restarts,
            problem: pod_problem(pod),
            last_exit: most.map(|(_, e)| e),
            evicted,
        }
    }
}

impl DeploymentSeen {
    /// What alerting keeps of `deployment`.
    pub fn of(deployment: &Deployment) -> DeploymentSeen {
        let meta = &deployment.metadata;
        let stalled = deployment
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| {
                c.type_ == "Progressing"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
            .map(|c| c.message.clone().unwrap_or_default());
        DeploymentSeen {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            release: release_of(meta),
            stalled,
        }
    }
}

impl ClaimSeen {
    /// What alerting keeps of `claim`.
    pub fn of(claim: &PersistentVolumeClaim) -> ClaimSeen {
        let meta = &claim.metadata;
        let pending = claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending");
        let created = meta
            .creation_timestamp
            .as_ref()
            .map(|t| u64::try_from(t.0.as_millisecond()).unwrap_or(0))
            .unwrap_or(0);
        ClaimSeen {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            release: release_of(meta),
            pending_since_ms: pending.then_some(created),
        }
    }
}
