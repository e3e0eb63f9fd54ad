//! What is wrong in a watched cluster right now, per subject: the rules that turn the pods,
//! Deployments, claims and nodes alerting keeps into findings. Pure, so every rule is tested
//! without a cluster.

use std::collections::BTreeMap;

use crate::alerts::incident::Subject;
use crate::alerts::observe::{Exit, OOM_KILLED, PodSeen};
use crate::alerts::state::ClusterState;
use crate::kube::UNSCHEDULABLE;
use crate::kube::nodes::Readiness;

/// The container waiting reasons that mean its image cannot be pulled.
const PULL_REASONS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

/// One thing wrong with a subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A pod in CrashLoopBackOff, or restarting (its last restart less than
    /// `recovered_after_secs` ago) with the threshold reached within the window.
    CrashLoop {
        /// The pod.
        pod: String,
    },
    /// A pod whose container was OOMKilled less than `recovered_after_secs` ago and runs again.
    OomKilled {
        /// The pod.
        pod: String,
    },
    /// A pod whose image cannot be pulled.
    ImagePull {
        /// The pod.
        pod: String,
        /// `ImagePullBackOff`, `ErrImagePull`, `InvalidImageName`.
        reason: String,
        /// The kubelet's message.
        message: String,
    },
    /// A pod whose container cannot be created or started (a missing Secret, say).
    CannotStart {
        /// The pod.
        pod: String,
        /// The waiting reason.
        reason: String,
        /// The kubelet's message.
        message: String,
    },
    /// A pod no node can take.
    Unschedulable {
        /// The pod.
        pod: String,
        /// The scheduler's explanation.
        message: String,
    },
    /// A pod the kubelet evicted.
    Evicted {
        /// The pod.
        pod: String,
        /// The kubelet's message.
        message: String,
    },
    /// A volume claim Pending longer than allowed.
    ClaimPending {
        /// The claim.
        claim: String,
        /// Pending since (Unix ms).
        since_ms: u64,
    },
    /// A Deployment past its progress deadline.
    Stalled {
        /// The Deployment.
        deployment: String,
        /// The controller's message.
        message: String,
    },
    /// A node that is not Ready.
    NodeNotReady {
        /// Reason and message of its Ready condition.
        why: String,
    },
    /// A node under memory, disk or PID pressure, or without network.
    NodePressure {
        /// The conditions that are True.
        kinds: Vec<String>,
    },
    /// The API server has not answered the watches since `since_ms`.
    Unreachable {
        /// Since when (Unix ms).
        since_ms: u64,
        /// The last error.
        error: String,
    },
}

/// What is wrong with one subject, with what its message needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// When they were found (Unix ms).
    pub at_ms: u64,
    /// The release's pods, for "1 of 2 pods".
    pub pods_total: usize,
    /// What is wrong.
    pub items: Vec<Finding>,
    /// The restart counts of the crash-looping and OOMKilled pods.
    pub restarts: BTreeMap<String, u32>,
    /// The previous termination of a crash-looping pod (an OOM kill first).
    pub last_exit: Option<Exit>,
}

/// The thresholds of `[alerts]`, in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Restarts within the window that make a pod crash-looping.
    pub restarts: u32,
    /// The window restarts are counted in.
    pub window_ms: u64,
    /// How long a claim may be Pending.
    pub claim_pending_ms: u64,
    /// A pod that restarted less than this ago is still restarting (`recovered_after_secs`).
    pub settle_ms: u64,
}

impl From<&crate::config::Alerts> for Thresholds {
    fn from(a: &crate::config::Alerts) -> Self {
        Thresholds {
            restarts: a.restart_threshold,
            window_ms: a.restart_window_secs.saturating_mul(1000),
            claim_pending_ms: a.claim_pending_secs.saturating_mul(1000),
            settle_ms: a.recovered_after_secs.saturating_mul(1000),
        }
    }
}

/// What is wrong with `pod`, if anything.
fn pod_finding(
    state: &ClusterState,
    pod: &PodSeen,
    now_ms: u64,
    t: &Thresholds,
) -> Option<Finding> {
    let name = pod.name.clone();
    if let Some(message) = &pod.evicted {
        return Some(Finding::Evicted {
            pod: name,
            message: message.clone(),
        });
    }
    if let Some(p) = &pod.problem {
        let (reason, message) = (p.reason.clone(), p.message.clone());
        return Some(match p.reason.as_str() {
            "CrashLoopBackOff" => Finding::CrashLoop { pod: name },
            r if r == UNSCHEDULABLE => Finding::Unschedulable { pod: name, message },
            r if PULL_REASONS.contains(&r) => Finding::ImagePull {
                pod: name,
                reason,
                message,
            },
            _ => Finding::CannotStart {
                pod: name,
                reason,
                message,
            },
        });
    }
    // A pod that runs between restarts is restarting while its last restart is recent: with
    // the threshold reached within the window it crash-loops; one OOM kill is told too.
    let key = format!("{}/{}", pod.namespace, pod.name);
    if state.restarts_since(&key, now_ms.saturating_sub(t.settle_ms)) == 0 {
        return None;
    }
    if state.restarts_since(&key, now_ms.saturating_sub(t.window_ms)) >= t.restarts as usize {
        return Some(Finding::CrashLoop { pod: name });
    }
    let oom = pod
        .last_exit
        .as_ref()
        .is_some_and(|e| e.reason == OOM_KILLED);
    oom.then_some(Finding::OomKilled { pod: name })
}

/// Everything wrong in `state` at `now_ms`, per subject; subjects with nothing wrong are left
/// out.
pub fn find(state: &ClusterState, now_ms: u64, t: &Thresholds) -> BTreeMap<Subject, Findings> {
    let mut out: BTreeMap<Subject, Findings> = BTreeMap::new();
    let release = |namespace: &str, release: &str| Subject::Release {
        namespace: namespace.to_string(),
        release: release.to_string(),
    };
    let mut totals: BTreeMap<Subject, usize> = BTreeMap::new();
    for pod in state.pods.all().filter(|p| !p.release.is_empty()) {
        let subject = release(&pod.namespace, &pod.release);
        *totals.entry(subject.clone()).or_default() += 1;
        let Some(finding) = pod_finding(state, pod, now_ms, t) else {
            continue;
        };
        let f = out.entry(subject).or_default();
        if matches!(
            finding,
            Finding::CrashLoop { .. } | Finding::OomKilled { .. }
        ) {
            f.restarts.insert(pod.name.clone(), pod.restarts);
            let oom = |e: &Exit| e.reason == OOM_KILLED;
            if f.last_exit.as_ref().is_none_or(|e| !oom(e)) && pod.last_exit.is_some() {
                f.last_exit = pod.last_exit.clone();
            }
        }
        f.items.push(finding);
    }
    for d in state.deployments.all().filter(|d| !d.release.is_empty()) {
        if let Some(message) = &d.stalled {
            out.entry(release(&d.namespace, &d.release))
                .or_default()
                .items
                .push(Finding::Stalled {
                    deployment: d.name.clone(),
                    message: message.clone(),
                });
        }
    }
    for c in state.claims.all().filter(|c| !c.release.is_empty()) {
        if let Some(since) = c.pending_since_ms
            && now_ms.saturating_sub(since) >= t.claim_pending_ms
        {
            out.entry(release(&c.namespace, &c.release))
                .or_default()
                .items
                .push(Finding::ClaimPending {
                    claim: c.name.clone(),
                    since_ms: since,
                });
        }
    }
    for n in state.nodes.all() {
        let mut items = Vec::new();
        match &n.readiness {
            Readiness::Ready => {}
            Readiness::NotReady(why) | Readiness::Unknown(why) => {
                items.push(Finding::NodeNotReady { why: why.clone() })
            }
        }
        if !n.pressure.is_empty() {
            items.push(Finding::NodePressure {
                kinds: n.pressure.clone(),
            });
        }
        if !items.is_empty() {
            out.insert(
                Subject::Node {
                    name: n.name.clone(),
                },
                Findings {
                    items,
                    ..Findings::default()
                },
            );
        }
    }
    for (subject, f) in out.iter_mut() {
        f.at_ms = now_ms;
        f.pods_total = totals.get(subject).copied().unwrap_or(0);
    }
    out
}
