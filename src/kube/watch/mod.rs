//! Waiting for a release's rollout by WATCHING (never polling) its workloads, pods and ReplicaSets, deciding
//! on every event as `kubectl rollout status` does, and failing early on a new pod that cannot start.

pub mod decide;
pub mod forced;

use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt, select_all};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::kube::status::pods::{PodProblem, UNSCHEDULABLE};
use crate::kube::status::workload::{WorkloadKind, WorkloadRef};
use crate::kube::status::{RolloutError, RolloutState};
use crate::kube::watch::decide::{Cache, GraceTracker, Watched, evaluate};

/// Default overall timeout of a wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Default time a new pod may stay failing before the rollout is declared failed.
pub const DEFAULT_FAILURE_GRACE: Duration = Duration::from_secs(60);
/// Default time without any successful API response after which the API server counts as unreachable.
pub const DEFAULT_UNREACHABLE_AFTER: Duration = Duration::from_secs(10);

/// What to wait for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitSpec {
    /// Namespace of the release.
    pub namespace: String,
    /// The workloads that must all be rolled out.
    pub workloads: Vec<WorkloadRef>,
    /// Label selector of the release's pods and ReplicaSets, e.g. `app.kubernetes.io/instance=orion`.
    pub pod_selector: String,
    /// Overall timeout.
    pub timeout: Duration,
    /// A new pod must stay in a failing reason this long (or be in `CrashLoopBackOff` with 2+ restarts)
    /// before the rollout is declared failed; `ProgressDeadlineExceeded` fails at once.
    pub failure_grace: Duration,
    /// Without a successful list/watch response for this long (confirmed by a probe), the wait ends with
    /// [`WaitError::Unreachable`].
    pub unreachable_after: Duration,
}

impl WaitSpec {
    /// A spec with the default timeout (300 s), failure grace (60 s) and unreachable bound (10 s).
    pub fn new(
        namespace: impl Into<String>,
        workloads: Vec<WorkloadRef>,
        pod_selector: impl Into<String>,
    ) -> Self {
        WaitSpec {
            namespace: namespace.into(),
            workloads,
            pod_selector: pod_selector.into(),
            timeout: DEFAULT_TIMEOUT,
            failure_grace: DEFAULT_FAILURE_GRACE,
            unreachable_after: DEFAULT_UNREACHABLE_AFTER,
        }
    }
}

/// How a wait ended (other than with a [`WaitError`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Every workload is rolled out.
    Done {
        /// The final states.
        states: Vec<RolloutState>,
        /// Time since the wait started.
        elapsed: Duration,
        /// Pods deleted so that a StatefulSet could move on ([`forced`]).
        replaced: Vec<String>,
    },
    /// The rollout failed or did not finish in time.
    Failed {
        /// Why.
        reason: FailReason,
        /// The states at that moment.
        states: Vec<RolloutState>,
        /// Time since the wait started.
        elapsed: Duration,
    },
}

/// Why a rollout failed; its `Display` is ready for chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// A Deployment's progress deadline was exceeded.
    ProgressDeadline {
        /// The Deployment.
        workload: WorkloadRef,
    },
    /// The overall timeout passed.
    Timeout {
        /// The timeout.
        after: Duration,
        /// The workloads not rolled out.
        pending: Vec<RolloutState>,
    },
    /// A pod of the new revision cannot start.
    Pod {
        /// Its workload.
        workload: WorkloadRef,
        /// What is wrong.
        problem: PodProblem,
    },
    /// The controller cannot create the new revision's pods (a quota refuses them).
    CannotCreate {
        /// The workload.
        workload: WorkloadRef,
        /// The API server's refusal, as the controller recorded it.
        message: String,
    },
    /// kubectl cannot follow this workload's update strategy.
    Unsupported(RolloutError),
}

/// `300 s`, or `0.5 s` below ten seconds.
fn secs(d: Duration) -> String {
    if d < Duration::from_secs(10) && d.subsec_millis() != 0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} s", d.as_secs())
    }
}

impl std::fmt::Display for FailReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailReason::ProgressDeadline { workload } => {
                write!(
                    f,
                    "deployment \"{}\" exceeded its progress deadline",
                    workload.name
                )
            }
            FailReason::Timeout { after, pending } => {
                write!(f, "timed out after {}", secs(*after))?;
                for (i, s) in pending.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { "; " };
                    write!(f, "{sep}{} {}", s.workload, s.short_message())?;
                }
                Ok(())
            }
            FailReason::Pod { workload, problem } if problem.reason == UNSCHEDULABLE => {
                write!(
                    f,
                    "{}: new pod {} cannot be scheduled",
                    workload.name, problem.pod
                )?;
                if !problem.message.is_empty() {
                    write!(f, " ({})", problem.message)?;
                }
                Ok(())
            }
            FailReason::Pod { workload, problem } => {
                write!(
                    f,
                    "{}: new pod {} is stuck in {}",
                    workload.name, problem.pod, problem.reason
                )?;
                if problem.restarts > 0 {
                    write!(f, " after {} restarts", problem.restarts)?;
                }
                if !problem.message.is_empty() {
                    write!(f, " ({})", problem.message)?;
                }
                Ok(())
            }
            FailReason::CannotCreate { workload, message } => {
                write!(
                    f,
                    "{}: new pods cannot be created: {message}",
                    workload.name
                )
            }
            FailReason::Unsupported(err) => write!(f, "{err}"),
        }
    }
}

/// Why a wait could not decide.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The API server refused a request (e.g. 401/403); kube errors never carry the token.
    #[error("the Kubernetes API refused a request while following the rollout: {0}")]
    Api(#[from] kube::Error),
    /// The cancel token fired (labkube is shutting down).
    #[error(
        "stopped following the rollout because labkube is shutting down; the job resumes it after restart"
    )]
    Cancelled,
    /// No successful API response for `after`, and a probe failed too.
    #[error(
        "the Kubernetes API server has not answered for {} (last error: {last_error}); check that the cluster \
         is up and that the kubeconfig's server address is right",
        secs(*after)
    )]
    Unreachable {
        /// How long it has been failing.
        after: Duration,
        /// The last transport error seen.
        last_error: String,
    },
    /// Every watch stream ended, which the watcher never does on its own.
    #[error("the watches on the rollout ended unexpectedly")]
    WatchEnded,
}

/// One item from the merged watch streams: which cache it belongs to, and the watcher's item.
struct Msg {
    source: usize,
    item: Result<Event<Watched>, watcher::Error>,
}

fn map_event<K>(event: Event<K>, wrap: fn(K) -> Watched) -> Event<Watched> {
    match event {
        Event::Apply(k) => Event::Apply(wrap(k)),
        Event::Delete(k) => Event::Delete(wrap(k)),
        Event::Init => Event::Init,
        Event::InitApply(k) => Event::InitApply(wrap(k)),
        Event::InitDone => Event::InitDone,
    }
}

fn watch<K>(
    api: Api<K>,
    config: watcher::Config,
    source: usize,
    wrap: fn(K) -> Watched,
) -> BoxStream<'static, Msg>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    watcher(api, config)
        .default_backoff()
        .map(move |item| Msg {
            source,
            item: item.map(|e| map_event(e, wrap)),
        })
        .boxed()
}

/// The `Status` inside a watcher error, if the API server answered with one.
fn api_status(err: &watcher::Error) -> Option<&kube::core::Status> {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s))
        | watcher::Error::WatchError(s) => Some(s),
        _ => None,
    }
}

/// A client error that retrying cannot fix (bad token, no RBAC, unknown resource); 410 Gone, 408, 409 and 429
/// are handled by the watcher's relist and backoff.
fn fatal_status(err: &watcher::Error) -> Option<kube::core::Status> {
    let status = api_status(err)?;
    ((400..500).contains(&status.code) && ![408, 409, 410, 429].contains(&status.code))
        .then(|| status.clone())
}

/// Per-stream health for the unreachable check: since when it has gone without a successful response.
#[derive(Clone, Copy)]
struct Health {
    failing_since: Option<Instant>,
}

/// Builds the watch streams; sources `0..n` are the workloads, `n` the pods, `n + 1` the ReplicaSets.
fn streams(client: &Client, spec: &WaitSpec) -> Vec<BoxStream<'static, Msg>> {
    let ns = spec.namespace.as_str();
    let mut out = Vec::with_capacity(spec.workloads.len() + 2);
    for (i, w) in spec.workloads.iter().enumerate() {
        let cfg = watcher::Config::default().fields(&format!("metadata.name={}", w.name));
        out.push(match w.kind {
            WorkloadKind::Deployment => watch(
                Api::<Deployment>::namespaced(client.clone(), ns),
                cfg,
                i,
                |o| Watched::Deployment(Box::new(o)),
            ),
            WorkloadKind::StatefulSet => watch(
                Api::<StatefulSet>::namespaced(client.clone(), ns),
                cfg,
                i,
                |o| Watched::StatefulSet(Box::new(o)),
            ),
            WorkloadKind::DaemonSet => watch(
                Api::<DaemonSet>::namespaced(client.clone(), ns),
                cfg,
                i,
                |o| Watched::DaemonSet(Box::new(o)),
            ),
        });
    }
    let n = spec.workloads.len();
    let sel = watcher::Config::default().labels(&spec.pod_selector);
    out.push(watch(
        Api::<Pod>::namespaced(client.clone(), ns),
        sel.clone(),
        n,
        |o| Watched::Pod(Box::new(o)),
    ));
    out.push(watch(
        Api::<ReplicaSet>::namespaced(client.clone(), ns),
        sel,
        n + 1,
        |o| Watched::ReplicaSet(Box::new(o)),
    ));
    out
}

/// Follows the rollout of `spec.workloads` until all are done, one fails, the timeout passes, the API server
/// stays unreachable, or `cancel` fires. `on_progress` gets the states each time they change.
pub async fn wait_rollout(
    client: Client,
    spec: &WaitSpec,
    mut on_progress: impl FnMut(&[RolloutState]) + Send,
    cancel: CancellationToken,
) -> Result<WaitOutcome, WaitError> {
    let start = Instant::now();
    let n = spec.workloads.len();
    let mut merged = select_all(streams(&client, spec));
    let mut caches: Vec<Cache> = (0..n + 2).map(|_| Cache::default()).collect();
    let mut health = vec![
        Health {
            failing_since: Some(start)
        };
        n + 2
    ];
    let mut last_error = String::from("no answer yet");
    let mut tracker = GraceTracker::default();
    let mut last_states: Option<Vec<RolloutState>> = None;
    let mut deleted_uids = std::collections::HashSet::new();
    let mut replaced = Vec::new();
    // Ticks re-check the grace period and API health between events; bounded to 50 ms..1 s.
    let period = (spec.failure_grace.min(spec.unreachable_after) / 5)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(WaitError::Cancelled),
            () = &mut deadline => {
                let states = decide(spec, &caches, &mut tracker).states;
                let pending = states.iter().filter(|s| !s.done).cloned().collect();
                let reason = FailReason::Timeout { after: spec.timeout, pending };
                return Ok(WaitOutcome::Failed { reason, states, elapsed: start.elapsed() });
            }
            msg = merged.next() => {
                let Some(Msg { source, item }) = msg else { return Err(WaitError::WatchEnded) };
                match item {
                    Ok(event) => {
                        health[source].failing_since = None;
                        caches[source].apply(event);
                    }
                    Err(err) => {
                        if let Some(status) = fatal_status(&err) {
                            return Err(WaitError::Api(kube::Error::Api(Box::new(status))));
                        }
                        tracing::warn!(error = %err, "rollout watch error; retrying with backoff");
                        last_error = err.to_string();
                        health[source].failing_since.get_or_insert_with(Instant::now);
                    }
                }
            }
            _ = tick.tick() => {
                let stale = health.iter().filter_map(|h| h.failing_since).min();
                if stale.is_some_and(|since| since.elapsed() >= spec.unreachable_after) {
                    let probe_timeout = (spec.unreachable_after / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
                    let probe = tokio::select! {
                        () = cancel.cancelled() => return Err(WaitError::Cancelled),
                        r = tokio::time::timeout(probe_timeout, client.apiserver_version()) => r,
                    };
                    match probe {
                        Ok(Ok(_)) => health.iter_mut().for_each(|h| h.failing_since = None),
                        Ok(Err(e)) => return Err(unreachable(stale, e.to_string())),
                        Err(_) => return Err(unreachable(stale, format!("{last_error}; a probe got no answer within {}", secs(probe_timeout)))),
                    }
                }
            }
        }
        if !caches.iter().all(Cache::synced) {
            continue;
        }
        let stuck = forced::stuck_pods(
            &spec.workloads,
            &caches.iter().take(n).collect::<Vec<_>>(),
            &caches[n],
        );
        if !stuck.is_empty() {
            let delete = forced::delete_stuck(&client, &spec.namespace, stuck, &mut deleted_uids);
            match tokio::time::timeout(spec.unreachable_after, delete).await {
                Ok(Ok(names)) => replaced.extend(names),
                Ok(Err(e)) => return Err(WaitError::Api(e)),
                Err(_) => tracing::warn!(
                    "deleting a stuck StatefulSet pod got no answer in time; retrying on the next event"
                ),
            }
        }
        let verdict = decide(spec, &caches, &mut tracker);
        if last_states.as_ref() != Some(&verdict.states) {
            on_progress(&verdict.states);
            last_states = Some(verdict.states.clone());
        }
        let elapsed = start.elapsed();
        if verdict.all_done() {
            return Ok(WaitOutcome::Done {
                states: verdict.states,
                elapsed,
                replaced,
            });
        }
        if let Some(reason) = verdict.failure {
            return Ok(WaitOutcome::Failed {
                reason,
                states: verdict.states,
                elapsed,
            });
        }
    }
}

fn unreachable(since: Option<Instant>, last_error: String) -> WaitError {
    WaitError::Unreachable {
        after: since.map(|s| s.elapsed()).unwrap_or_default(),
        last_error,
    }
}

fn decide(
    spec: &WaitSpec,
    caches: &[Cache],
    tracker: &mut GraceTracker,
) -> crate::kube::watch::decide::Verdict {
    let n = spec.workloads.len();
    let objects: Vec<&Cache> = caches.iter().take(n).collect();
    let (pods, sets) = (&caches[n], &caches[n + 1]);
    evaluate(
        &spec.workloads,
        &objects,
        pods,
        sets,
        spec.failure_grace,
        tracker,
        Instant::now(),
    )
}

/// The current states of `workloads` by one GET each (for `/ge status`); a missing workload is
/// "waiting … to appear", a kubectl error (progress deadline, OnDelete) becomes the state's message.
pub async fn current_states(
    client: Client,
    namespace: &str,
    workloads: &[WorkloadRef],
) -> Result<Vec<RolloutState>, WaitError> {
    let mut out = Vec::with_capacity(workloads.len());
    for w in workloads {
        let obj = match w.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), namespace)
                .get_opt(&w.name)
                .await?
                .map(|o| Watched::Deployment(Box::new(o))),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), namespace)
                .get_opt(&w.name)
                .await?
                .map(|o| Watched::StatefulSet(Box::new(o))),
            WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client.clone(), namespace)
                .get_opt(&w.name)
                .await?
                .map(|o| Watched::DaemonSet(Box::new(o))),
        };
        out.push(match obj.as_ref().and_then(Watched::rollout) {
            None => RolloutState::missing(w.clone()),
            Some(Ok(state)) => state,
            Some(Err(err)) => err.state().clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
