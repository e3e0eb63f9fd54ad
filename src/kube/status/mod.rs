//! Rollout state of one workload, decided exactly as `kubectl rollout status` decides it
//! (kubectl `pkg/polymorphichelpers/rollout_status.go`): same checks, same order, same wording.
//!
//! Fields the API server always defaults are read with that default when a hand-built object leaves
//! them out: `spec.replicas` = 1, `spec.strategy`/`spec.updateStrategy.type` = `RollingUpdate`.

pub mod pods;
pub mod warnings;
pub mod workload;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use serde::{Deserialize, Serialize};

use crate::kube::status::workload::{WorkloadKind, WorkloadRef};

/// One workload's rollout state as `kubectl rollout status` computes it, plus the counts the chat shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutState {
    /// The workload.
    pub workload: WorkloadRef,
    /// Desired pods (`spec.replicas`; for a DaemonSet `status.desiredNumberScheduled`).
    pub desired: u32,
    /// Pods at the newest revision.
    pub updated: u32,
    /// Ready pods.
    pub ready: u32,
    /// Available pods.
    pub available: u32,
    /// Whether kubectl would report the rollout as finished.
    pub done: bool,
    /// kubectl's wording (without its trailing newline), e.g.
    /// `Waiting for deployment "orion" rollout to finish: 1 out of 2 new replicas have been updated...`.
    pub message: String,
    /// What the rollout waits for beyond the counts, when the rollout watch knows: the
    /// controller to observe the new spec, or a new pod's problem (`pod orion-x: ImagePullBackOff`).
    #[serde(default)]
    pub waiting_for: Option<String>,
    /// The controller has not seen the latest spec yet: the counts are the previous revision's.
    #[serde(default)]
    pub stale: bool,
}

impl RolloutState {
    /// A state for a workload that does not exist (yet): not done, counts zero.
    pub fn missing(workload: WorkloadRef) -> RolloutState {
        let kind = kubectl_kind(workload.kind);
        let message = format!("waiting for {kind} \"{}\" to appear", workload.name);
        RolloutState {
            workload,
            desired: 0,
            updated: 0,
            ready: 0,
            available: 0,
            done: false,
            message,
            waiting_for: None,
            stale: false,
        }
    }

    /// The message without kubectl's `Waiting for ... rollout to finish: ` prefix and trailing dots, for
    /// one-line summaries such as `1 of 2 updated replicas are available`.
    pub fn short_message(&self) -> &str {
        let msg = self.message.as_str();
        let msg = match msg.split_once(" to finish: ") {
            Some((head, tail)) if head.starts_with("Waiting for") => tail,
            _ => msg,
        };
        msg.trim_end_matches("...")
    }
}

/// Why kubectl would stop following a rollout with an error. Each variant carries the workload's counts
/// with `message` set to the error's text (kubectl's wording) and `done` false.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// The Deployment's `Progressing` condition has reason `ProgressDeadlineExceeded`:
    /// `deployment "orion" exceeded its progress deadline`.
    #[error("{}", state.message)]
    ProgressDeadlineExceeded {
        /// The counts at that moment.
        state: Box<RolloutState>,
    },
    /// The update strategy is not `RollingUpdate` (e.g. `OnDelete`), which kubectl cannot follow:
    /// `statefulset/db: rollout status is only available for RollingUpdate strategy type (it uses OnDelete)`.
    #[error("{}", state.message)]
    UnsupportedStrategy {
        /// The counts at that moment.
        state: Box<RolloutState>,
        /// The strategy the workload uses.
        strategy: String,
    },
}

impl RolloutError {
    /// The workload's counts, with `message` set to this error's text and `done` false (for `/ge status`).
    pub fn state(&self) -> &RolloutState {
        match self {
            RolloutError::ProgressDeadlineExceeded { state } => state,
            RolloutError::UnsupportedStrategy { state, .. } => state,
        }
    }

    fn progress_deadline(mut state: RolloutState) -> RolloutError {
        state.done = false;
        state.message = format!(
            "deployment \"{}\" exceeded its progress deadline",
            state.workload.name
        );
        RolloutError::ProgressDeadlineExceeded {
            state: Box::new(state),
        }
    }

    fn unsupported(mut state: RolloutState, strategy: String) -> RolloutError {
        state.done = false;
        state.message = format!(
            "{}: rollout status is only available for RollingUpdate strategy type (it uses {strategy})",
            state.workload
        );
        RolloutError::UnsupportedStrategy {
            state: Box::new(state),
            strategy,
        }
    }
}

/// kubectl's name for the kind in its messages.
fn kubectl_kind(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "deployment",
        WorkloadKind::StatefulSet => "statefulset",
        WorkloadKind::DaemonSet => "daemon set",
    }
}

/// Kubernetes counts are `int32` and never negative in practice; clamp rather than wrap.
fn count(n: Option<i32>) -> u32 {
    u32::try_from(n.unwrap_or(0)).unwrap_or(0)
}

/// The rollout state of a Deployment (`kubectl rollout status deployment/<name>` without `--revision`).
pub fn deployment_state(d: &Deployment) -> Result<RolloutState, RolloutError> {
    let name = d.metadata.name.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    let spec_replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let generation = d.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0);
    let (updated, replicas, available) = (
        status.updated_replicas.unwrap_or(0),
        status.replicas.unwrap_or(0),
        status.available_replicas.unwrap_or(0),
    );
    let mut state = RolloutState {
        workload: WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: name.clone(),
        },
        desired: count(Some(spec_replicas)),
        updated: count(Some(updated)),
        ready: count(status.ready_replicas),
        available: count(Some(available)),
        done: false,
        message: String::new(),
        waiting_for: None,
        stale: false,
    };
    if generation > observed {
        state.message = "Waiting for deployment spec update to be observed...".to_string();
        return Ok(state);
    }
    let deadline = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    if deadline.is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")) {
        return Err(RolloutError::progress_deadline(state));
    }
    let prefix = format!("Waiting for deployment \"{name}\" rollout to finish");
    state.message = if updated < spec_replicas {
        format!("{prefix}: {updated} out of {spec_replicas} new replicas have been updated...")
    } else if replicas > updated {
        format!(
            "{prefix}: {} old replicas are pending termination...",
            replicas - updated
        )
    } else if available < updated {
        format!("{prefix}: {available} of {updated} updated replicas are available...")
    } else {
        state.done = true;
        format!("deployment \"{name}\" successfully rolled out")
    };
    Ok(state)
}

/// The rollout state of a StatefulSet (`kubectl rollout status statefulset/<name>`).
///
/// Like kubectl, when `spec.updateStrategy.rollingUpdate` is present (the API server always sets it for
/// `RollingUpdate`, with `partition: 0`), the rollout is done once enough pods are updated for the partition
/// ("partitioned roll out complete"); the revision comparison only applies when it is absent.
pub fn statefulset_state(s: &StatefulSet) -> Result<RolloutState, RolloutError> {
    let name = s.metadata.name.clone().unwrap_or_default();
    let status = s.status.clone().unwrap_or_default();
    let spec = s.spec.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1);
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    let mut state = RolloutState {
        workload: WorkloadRef {
            kind: WorkloadKind::StatefulSet,
            name,
        },
        desired: count(Some(replicas)),
        updated: count(status.updated_replicas),
        ready: count(Some(status.ready_replicas.unwrap_or(0))),
        available: count(status.available_replicas),
        done: false,
        message: String::new(),
        waiting_for: None,
        stale: false,
    };
    let type_ = strategy
        .type_
        .clone()
        .unwrap_or_else(|| "RollingUpdate".to_string());
    if type_ != "RollingUpdate" {
        return Err(RolloutError::unsupported(state, type_));
    }
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || s.metadata.generation.unwrap_or(0) > observed {
        state.message = "Waiting for statefulset spec update to be observed...".to_string();
        return Ok(state);
    }
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if ready < replicas {
        state.message = format!("Waiting for {} pods to be ready...", replicas - ready);
        return Ok(state);
    }
    if let Some(rolling) = &strategy.rolling_update {
        if let Some(partition) = rolling.partition {
            let wanted = replicas - partition;
            if updated < wanted {
                state.message = format!(
                    "Waiting for partitioned roll out to finish: {updated} out of {wanted} new pods have been updated..."
                );
                return Ok(state);
            }
        }
        state.done = true;
        state.message =
            format!("partitioned roll out complete: {updated} new pods have been updated...");
        return Ok(state);
    }
    let update_rev = status.update_revision.clone().unwrap_or_default();
    let current_rev = status.current_revision.clone().unwrap_or_default();
    if update_rev != current_rev {
        state.message = format!(
            "waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}..."
        );
        return Ok(state);
    }
    state.done = true;
    state.message = format!(
        "statefulset rolling update complete {} pods at revision {current_rev}...",
        status.current_replicas.unwrap_or(0)
    );
    Ok(state)
}

/// The rollout state of a DaemonSet (`kubectl rollout status daemonset/<name>`).
pub fn daemonset_state(d: &DaemonSet) -> Result<RolloutState, RolloutError> {
    let name = d.metadata.name.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    let desired = status.desired_number_scheduled;
    let updated = status.updated_number_scheduled.unwrap_or(0);
    let available = status.number_available.unwrap_or(0);
    let mut state = RolloutState {
        workload: WorkloadRef {
            kind: WorkloadKind::DaemonSet,
            name: name.clone(),
        },
        desired: count(Some(desired)),
        updated: count(Some(updated)),
        ready: count(Some(status.number_ready)),
        available: count(Some(available)),
        done: false,
        message: String::new(),
        waiting_for: None,
        stale: false,
    };
    let type_ = d
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.type_.clone())
        .unwrap_or_else(|| "RollingUpdate".to_string());
    if type_ != "RollingUpdate" {
        return Err(RolloutError::unsupported(state, type_));
    }
    if d.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        state.message = "Waiting for daemon set spec update to be observed...".to_string();
        return Ok(state);
    }
    let prefix = format!("Waiting for daemon set \"{name}\" rollout to finish");
    state.message = if updated < desired {
        format!("{prefix}: {updated} out of {desired} new pods have been updated...")
    } else if available < desired {
        format!("{prefix}: {available} of {desired} updated pods are available...")
    } else {
        state.done = true;
        format!("daemon set \"{name}\" successfully rolled out")
    };
    Ok(state)
}

#[cfg(test)]
mod tests;
