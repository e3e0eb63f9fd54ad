//! Self-healing shown: when Kubernetes replaces a pod of a release that was deleted or went
//! away with its node, the room is told what happened and how long the replacement took to
//! become Ready. A deletion is remembered until a new pod of the same controller becomes Ready
//! (or for [`FORGET_AFTER_MS`]: a scale-down is never replaced); nothing here does I/O.

use std::collections::BTreeMap;

use crate::alerts::incident::{Subject, span};
use crate::alerts::observe::PodSeen;

/// How long a deleted pod waits for its replacement before it is forgotten.
pub const FORGET_AFTER_MS: u64 = 600_000;
/// Most deletions remembered at once (the oldest go first).
const PENDING_MAX: usize = 2_000;

/// A pod that went away.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Gone {
    subject: Subject,
    pod: String,
    owner: String,
    node: String,
    /// The node it was on had gone (deleted or not Ready).
    node_gone: bool,
    at_ms: u64,
}

/// A replacement that became Ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Healed {
    /// The release.
    pub subject: Subject,
    /// The pod that went away.
    pub pod: String,
    /// Its replacement.
    pub replacement: String,
    /// Where the pod that went away ran, when it went away with its node.
    pub lost_node: Option<String>,
    /// Where the replacement runs.
    pub node: String,
    /// From the deletion to Ready.
    pub after_ms: u64,
}

impl Healed {
    /// `orion in demo on lab-1: pod orion-abc was deleted; Kubernetes replaced it with
    /// orion-xyz on fake-node-0, Ready after 4 s`.
    pub fn line(&self, cluster: &str) -> String {
        let what = match &self.lost_node {
            Some(node) => format!("went away with node {node}"),
            None => "was deleted".to_string(),
        };
        let with = if self.replacement == self.pod {
            "a new pod of the same name".to_string()
        } else {
            self.replacement.clone()
        };
        format!(
            "{}: pod {} {what}; Kubernetes replaced it with {with} on {}, Ready after {}",
            self.subject.describe(cluster),
            self.pod,
            self.node,
            span(self.after_ms)
        )
    }
}

/// Deleted pods waiting for their replacement, by the deleted pod's uid.
#[derive(Debug, Default)]
pub struct Healing {
    pending: BTreeMap<String, Gone>,
}

impl Healing {
    /// `pod` was deleted at `now_ms`; `node_gone`: its node had gone by then.
    pub fn deleted(&mut self, pod: &PodSeen, node_gone: bool, now_ms: u64) {
        if pod.owner.is_empty() || pod.release.is_empty() {
            return;
        }
        if self.pending.len() >= PENDING_MAX
            && let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, g)| g.at_ms)
                .map(|(k, _)| k.clone())
        {
            self.pending.remove(&oldest);
        }
        self.pending.insert(
            pod.uid.clone(),
            Gone {
                subject: Subject::Release {
                    namespace: pod.namespace.clone(),
                    release: pod.release.clone(),
                },
                pod: pod.name.clone(),
                owner: pod.owner.clone(),
                node: pod.node.clone(),
                node_gone,
                at_ms: now_ms,
            },
        );
    }

    /// `new` changed (from `old`, if it was known); a pod of a controller that lost one and
    /// that just became Ready is its replacement.
    pub fn changed(&mut self, old: Option<&PodSeen>, new: &PodSeen, now_ms: u64) -> Option<Healed> {
        let became_ready = new.ready && !old.is_some_and(|o| o.ready && o.uid == new.uid);
        if !became_ready || new.owner.is_empty() {
            return None;
        }
        let (uid, gone) = self
            .pending
            .iter()
            .filter(|(uid, g)| g.owner == new.owner && **uid != new.uid && g.at_ms <= now_ms)
            .min_by_key(|(_, g)| g.at_ms)
            .map(|(uid, g)| (uid.clone(), g.clone()))?;
        self.pending.remove(&uid);
        Some(Healed {
            subject: gone.subject,
            pod: gone.pod,
            replacement: new.name.clone(),
            lost_node: gone.node_gone.then_some(gone.node),
            node: new.node.clone(),
            after_ms: now_ms.saturating_sub(gone.at_ms),
        })
    }

    /// Forgets deletions older than [`FORGET_AFTER_MS`].
    pub fn expire(&mut self, now_ms: u64) {
        self.pending
            .retain(|_, g| now_ms.saturating_sub(g.at_ms) < FORGET_AFTER_MS);
    }
}

/// How long one summary message of a release collects replacements.
pub const SUMMARY_WINDOW_MS: u64 = 600_000;

/// One release's replacements within a window, told as one message edited as they come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// When the first came.
    pub started_ms: u64,
    /// How many.
    pub count: u32,
    /// How many went away with their node.
    pub with_node: u32,
    /// The slowest, deletion to Ready.
    pub slowest_ms: u64,
    /// The message, once sent.
    pub message: Option<crate::progress::MessageRef>,
}

impl Summary {
    /// `orion in demo on lab-1: Kubernetes replaced 3 pods in 4 min (1 lost with its node), the
    /// slowest Ready after 12 s`.
    pub fn text(&self, subject: &Subject, cluster: &str, now_ms: u64) -> String {
        let pods = if self.count == 1 { "pod" } else { "pods" };
        let with_node = match self.with_node {
            0 => String::new(),
            n => format!(" ({n} lost with their node)"),
        };
        format!(
            "{}: Kubernetes replaced {} {pods} in {}{with_node}, the slowest Ready after {}",
            subject.describe(cluster),
            self.count,
            span(now_ms.saturating_sub(self.started_ms).max(1000)),
            span(self.slowest_ms)
        )
    }
}

/// The summaries of a cluster's releases.
#[derive(Debug, Default)]
pub struct Summaries {
    open: BTreeMap<Subject, Summary>,
}

impl Summaries {
    /// Adds a replacement at `now_ms`; returns its release's summary (a new one when the last
    /// window ended).
    pub fn add(&mut self, healed: &Healed, now_ms: u64) -> &mut Summary {
        let fresh = Summary {
            started_ms: now_ms,
            count: 0,
            with_node: 0,
            slowest_ms: 0,
            message: None,
        };
        let s = self
            .open
            .entry(healed.subject.clone())
            .or_insert(fresh.clone());
        if now_ms.saturating_sub(s.started_ms) >= SUMMARY_WINDOW_MS {
            *s = fresh;
        }
        s.count += 1;
        s.with_node += u32::from(healed.lost_node.is_some());
        s.slowest_ms = s.slowest_ms.max(healed.after_ms);
        s
    }
}
