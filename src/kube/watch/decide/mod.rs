//! The pure half of the rollout wait: the watched objects, and the decision made from them on every event
//! (rollout states, a failing new pod held past the grace period, a progress deadline).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;

use crate::kube::status::pods::{
    NewRevision, PodProblem, daemonset_revision, deployment_revision, pod_problem,
    statefulset_revision,
};
use crate::kube::status::workload::WorkloadRef;
use crate::kube::status::{
    RolloutError, RolloutState, daemonset_state, deployment_state, statefulset_state,
};
use crate::kube::watch::FailReason;

/// A watched object of any of the kinds the wait follows.
#[derive(Clone, Debug)]
pub enum Watched {
    /// A Deployment.
    Deployment(Box<Deployment>),
    /// A StatefulSet.
    StatefulSet(Box<StatefulSet>),
    /// A DaemonSet.
    DaemonSet(Box<DaemonSet>),
    /// A pod of the release.
    Pod(Box<Pod>),
    /// A ReplicaSet of the release.
    ReplicaSet(Box<ReplicaSet>),
}

impl Watched {
    fn name(&self) -> String {
        let meta = match self {
            Watched::Deployment(o) => &o.metadata,
            Watched::StatefulSet(o) => &o.metadata,
            Watched::DaemonSet(o) => &o.metadata,
            Watched::Pod(o) => &o.metadata,
            Watched::ReplicaSet(o) => &o.metadata,
        };
        meta.name.clone().unwrap_or_default()
    }

    /// Whether the workload's controller has observed its latest spec (`status.observedGeneration` has caught
    /// up with `metadata.generation`); always true for pods and ReplicaSets.
    pub fn observed(&self) -> bool {
        let (generation, observed) = match self {
            Watched::Deployment(o) => (
                o.metadata.generation,
                o.status.as_ref().and_then(|s| s.observed_generation),
            ),
            Watched::StatefulSet(o) => (
                o.metadata.generation,
                o.status.as_ref().and_then(|s| s.observed_generation),
            ),
            Watched::DaemonSet(o) => (
                o.metadata.generation,
                o.status.as_ref().and_then(|s| s.observed_generation),
            ),
            Watched::Pod(_) | Watched::ReplicaSet(_) => return true,
        };
        observed.unwrap_or(0) >= generation.unwrap_or(0)
    }

    /// kubectl's rollout decision for a workload object (`None` for pods and ReplicaSets).
    pub fn rollout(&self) -> Option<Result<RolloutState, RolloutError>> {
        match self {
            Watched::Deployment(d) => Some(deployment_state(d)),
            Watched::StatefulSet(s) => Some(statefulset_state(s)),
            Watched::DaemonSet(d) => Some(daemonset_state(d)),
            Watched::Pod(_) | Watched::ReplicaSet(_) => None,
        }
    }
}

/// The objects one watch has seen, by name, following the watcher's list/relist protocol
/// (`Init`, `InitApply`…, `InitDone` replaces the whole set).
#[derive(Debug, Default)]
pub struct Cache {
    items: BTreeMap<String, Watched>,
    relisting: Option<BTreeMap<String, Watched>>,
    synced: bool,
}

impl Cache {
    /// Applies one watcher event.
    pub fn apply(&mut self, event: Event<Watched>) {
        match event {
            Event::Init => self.relisting = Some(BTreeMap::new()),
            Event::InitApply(obj) => {
                let target = self.relisting.as_mut().unwrap_or(&mut self.items);
                target.insert(obj.name(), obj);
            }
            Event::InitDone => {
                if let Some(items) = self.relisting.take() {
                    self.items = items;
                }
                self.synced = true;
            }
            Event::Apply(obj) => {
                self.items.insert(obj.name(), obj);
            }
            Event::Delete(obj) => {
                self.items.remove(&obj.name());
            }
        }
    }

    /// Whether a first complete list has arrived.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// The objects, ordered by name.
    pub fn objects(&self) -> impl Iterator<Item = &Watched> {
        self.items.values()
    }

    /// The object called `name`.
    pub fn get(&self, name: &str) -> Option<&Watched> {
        self.items.get(name)
    }
}

/// When each failing new-pod container was first seen failing, so a failure must persist for the grace period.
#[derive(Debug, Default)]
pub struct GraceTracker {
    first_seen: HashMap<(String, String, &'static str), Instant>,
}

/// kubelet alternates `ErrImagePull` and `ImagePullBackOff`; both are one ongoing failure.
fn reason_class(reason: &str) -> &'static str {
    match reason {
        "ImagePullBackOff" | "ErrImagePull" => "image-pull",
        "CrashLoopBackOff" => "crash-loop",
        _ => "other",
    }
}

/// What a rollout waits for while its workload's controller has not seen the change yet.
const NOT_OBSERVED: &str = "the controller to see the change";

/// The result of one evaluation.
#[derive(Debug)]
pub struct Verdict {
    /// One state per workload, in the order asked for.
    pub states: Vec<RolloutState>,
    /// Set when the rollout has failed.
    pub failure: Option<FailReason>,
}

impl Verdict {
    /// Whether every workload is rolled out.
    pub fn all_done(&self) -> bool {
        self.failure.is_none() && self.states.iter().all(|s| s.done)
    }
}

/// Decides the rollout from the cached objects at time `now`.
///
/// `workloads[i]` is read from `objects[i]` (the cache of its own watch). A new pod fails the rollout when a
/// container has stayed in a failing reason for `grace`, or is in `CrashLoopBackOff` with 2+ restarts.
pub fn evaluate(
    workloads: &[WorkloadRef],
    objects: &[&Cache],
    pods: &Cache,
    replicasets: &Cache,
    grace: Duration,
    tracker: &mut GraceTracker,
    now: Instant,
) -> Verdict {
    let sets: Vec<ReplicaSet> = replicasets
        .objects()
        .filter_map(|o| match o {
            Watched::ReplicaSet(rs) => Some((**rs).clone()),
            _ => None,
        })
        .collect();
    let mut states = Vec::with_capacity(workloads.len());
    let mut failure = None;
    let mut still_failing = HashSet::new();
    for (workload, cache) in workloads.iter().zip(objects) {
        let obj = cache.get(&workload.name);
        let mut state = match obj.and_then(Watched::rollout) {
            None => RolloutState::missing(workload.clone()),
            Some(Ok(state)) => state,
            Some(Err(err)) => {
                let state = err.state().clone();
                let reason = match err {
                    RolloutError::ProgressDeadlineExceeded { .. } => FailReason::ProgressDeadline {
                        workload: workload.clone(),
                    },
                    RolloutError::UnsupportedStrategy { .. } => FailReason::Unsupported(err),
                };
                failure.get_or_insert(reason);
                states.push(state);
                continue;
            }
        };
        if !state.done && obj.is_some_and(|o| !o.observed()) {
            state.stale = true;
            state.waiting_for = Some(NOT_OBSERVED.to_string());
        }
        // Until the controller has observed the latest spec, "the new revision" still names the one
        // before it (after a rollback: the bad one), whose pods must not decide this rollout.
        if !state.done
            && obj.is_some_and(Watched::observed)
            && let Some(revision) = obj.and_then(|o| new_revision(o, &sets))
        {
            let problems = pods.objects().filter_map(|p| match p {
                Watched::Pod(pod) if revision.matches(pod) => pod_problem(pod),
                _ => None,
            });
            for problem in problems {
                let key = (
                    problem.pod.clone(),
                    problem.container.clone(),
                    reason_class(&problem.reason),
                );
                state.waiting_for.get_or_insert_with(|| problem.brief());
                let since = *tracker.first_seen.entry(key.clone()).or_insert(now);
                still_failing.insert(key);
                if is_fatal(&problem, now.saturating_duration_since(since), grace) {
                    failure.get_or_insert(FailReason::Pod {
                        workload: workload.clone(),
                        problem,
                    });
                }
            }
        }
        // The controller cannot create the new revision's pods (a quota, an admission
        // webhook): the Deployment says so in its `ReplicaFailure` condition, which the
        // deployment controller copies from the ReplicaSet (`getReplicaFailures`,
        // pkg/controller/deployment/progress.go).
        if !state.done
            && let Some(message) = obj.and_then(replica_failure)
        {
            state
                .waiting_for
                .get_or_insert_with(|| format!("pods to be created ({message})"));
            let key = (workload.name.clone(), String::new(), "create");
            let since = *tracker.first_seen.entry(key.clone()).or_insert(now);
            still_failing.insert(key);
            if now.saturating_duration_since(since) >= grace {
                failure.get_or_insert(FailReason::CannotCreate {
                    workload: workload.clone(),
                    message,
                });
            }
        }
        states.push(state);
    }
    tracker.first_seen.retain(|k, _| still_failing.contains(k));
    Verdict { states, failure }
}

/// The message of a Deployment's `ReplicaFailure` condition, while it holds.
fn replica_failure(obj: &Watched) -> Option<String> {
    let Watched::Deployment(d) = obj else {
        return None;
    };
    let conditions = d.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        .map(|c| {
            c.message
                .clone()
                .unwrap_or_else(|| "no reason given".into())
        })
}

fn is_fatal(problem: &PodProblem, held: Duration, grace: Duration) -> bool {
    held >= grace || (problem.reason == "CrashLoopBackOff" && problem.restarts >= 2)
}

fn new_revision(obj: &Watched, sets: &[ReplicaSet]) -> Option<NewRevision> {
    match obj {
        Watched::Deployment(d) => deployment_revision(d, sets),
        Watched::StatefulSet(s) => statefulset_revision(s),
        Watched::DaemonSet(d) => daemonset_revision(d),
        Watched::Pod(_) | Watched::ReplicaSet(_) => None,
    }
}

#[cfg(test)]
pub(in crate::kube::watch) mod tests;
