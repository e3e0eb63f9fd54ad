//! An incident: one problem of one subject (a release, a node, the cluster's API server),
//! told as one chat message that is edited as it evolves and closed when it recovers. Kept in
//! the store while open, so a restart neither repeats nor loses it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alerts::findings::{Finding, Findings};
use crate::progress::MessageRef;

/// What an incident is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// A GE release in a namespace.
    Release {
        /// Namespace.
        namespace: String,
        /// The release (GE name).
        release: String,
    },
    /// A node.
    Node {
        /// The node's name.
        name: String,
    },
    /// The cluster as a whole (its API server).
    Cluster,
}

impl Subject {
    /// The incident's key in the store: `release/NS/GE`, `node/NAME`, `cluster`.
    pub fn key(&self) -> String {
        match self {
            Subject::Release { namespace, release } => format!("release/{namespace}/{release}"),
            Subject::Node { name } => format!("node/{name}"),
            Subject::Cluster => "cluster".into(),
        }
    }

    /// `orion in demo on lab-1`, `node fake-node-1 of lab-1`, `lab-1`.
    pub fn describe(&self, cluster: &str) -> String {
        match self {
            Subject::Release { namespace, release } => {
                format!("{release} in {namespace} on {cluster}")
            }
            Subject::Node { name } => format!("node {name} of {cluster}"),
            Subject::Cluster => format!("cluster {cluster}"),
        }
    }
}

pub use crate::config::Severity;

impl Severity {
    /// The severity of incidents about `subject`.
    pub fn of(subject: &Subject) -> Severity {
        match subject {
            Subject::Release { .. } => Severity::Warning,
            Subject::Node { .. } | Subject::Cluster => Severity::Critical,
        }
    }

    /// `warning`, `critical`.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The room an incident is told in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// Adapter name.
    pub platform: String,
    /// Room id.
    pub room: String,
}

/// An open incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its number (`alert #N`), never reused.
    pub number: u64,
    /// The cluster.
    pub cluster: String,
    /// What it is about.
    pub subject: Subject,
    /// How bad.
    pub severity: Severity,
    /// The owning room it is told in.
    pub room: Room,
    /// When it opened (Unix ms).
    pub opened_ms: u64,
    /// Since when its problems are gone (Unix ms); it closes after `recovered_after_secs`.
    #[serde(default)]
    pub quiet_since_ms: Option<u64>,
    /// Each affected pod's restart count when it joined the incident, less the restart that
    /// brought it in: the restarts shown are counted from there.
    #[serde(default)]
    pub restart_base: BTreeMap<String, u32>,
    /// What is wrong, as last shown (`1 of 2 pods crash-looping, ...`).
    pub summary: String,
    /// The chat message; `None` until it is sent (or when it was folded).
    #[serde(default)]
    pub message: Option<MessageRef>,
    /// Told in the room's folded message of its minute (past the cap): it has no message of
    /// its own to edit or close.
    #[serde(default)]
    pub folded: bool,
}

impl Incident {
    /// The message text while it is open.
    pub fn open_text(&self) -> String {
        format!(
            "alert #{} ({}): {}: {}",
            self.number,
            self.severity.word(),
            self.subject.describe(&self.cluster),
            self.summary
        )
    }

    /// The message text once it closed at `now_ms` (its problems gone since `quiet_since_ms`).
    pub fn closed_text(&self, now_ms: u64) -> String {
        let end = self.quiet_since_ms.unwrap_or(now_ms);
        format!(
            "alert #{} closed: {} recovered after {} (it was: {})",
            self.number,
            self.subject.describe(&self.cluster),
            span(end.saturating_sub(self.opened_ms)),
            self.summary
        )
    }

    /// The message text when its cluster is no longer watched (deleted or forgotten).
    pub fn gone_text(&self) -> String {
        format!(
            "alert #{} closed: {} is no longer watched (the cluster is gone) (it was: {})",
            self.number,
            self.subject.describe(&self.cluster),
            self.summary
        )
    }

    /// Brings the restart bases up to date with `found` and writes its summary at `now_ms`.
    pub fn absorb(&mut self, found: &Findings, now_ms: u64) {
        for (pod, &count) in &found.restarts {
            self.restart_base
                .entry(pod.clone())
                .or_insert(count.saturating_sub(1));
        }
        let restarts: u32 = found
            .restarts
            .iter()
            .map(|(pod, &count)| {
                count.saturating_sub(self.restart_base.get(pod).copied().unwrap_or(count))
            })
            .sum();
        self.summary = summary(found, restarts, now_ms.saturating_sub(self.opened_ms));
    }
}

/// `40 s` below a minute, `7 min`, `2 h 5 min` past an hour.
pub fn span(ms: u64) -> String {
    let m = ms / 60_000;
    if m == 0 {
        format!("{} s", ms / 1000)
    } else if m < 60 {
        format!("{m} min")
    } else if m.is_multiple_of(60) {
        format!("{} h", m / 60)
    } else {
        format!("{} h {} min", m / 60, m % 60)
    }
}

fn count<'a>(found: &'a Findings, pick: impl Fn(&'a Finding) -> bool) -> usize {
    found.items.iter().filter(|f| pick(f)).count()
}

/// `1 of 2 pods crash-looping, 4 restarts in 6 min, last exit 137 OOMKilled; ...`.
fn summary(found: &Findings, restarts: u32, open_ms: u64) -> String {
    let total = found.pods_total;
    let of = |n: usize| {
        if total >= n && total > 0 {
            format!("{n} of {total} pods")
        } else if n == 1 {
            "1 pod".to_string()
        } else {
            format!("{n} pods")
        }
    };
    let mut parts: Vec<String> = Vec::new();
    let crashing = count(found, |f| matches!(f, Finding::CrashLoop { .. }));
    let oom = count(found, |f| matches!(f, Finding::OomKilled { .. }));
    if crashing + oom > 0 {
        let mut p = if crashing > 0 {
            format!("{} crash-looping", of(crashing))
        } else {
            format!("{} OOMKilled", of(oom))
        };
        if restarts > 0 {
            let s = if restarts == 1 { "" } else { "s" };
            p.push_str(&format!(", {restarts} restart{s}"));
            if open_ms >= 1000 {
                p.push_str(&format!(" in {}", span(open_ms)));
            }
        }
        if let Some(exit) = &found.last_exit {
            p.push_str(&format!(", last exit {} {}", exit.code, exit.reason));
        }
        parts.push(p);
    }
    let mut by_reason: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for f in &found.items {
        let (what, detail) = match f {
            Finding::ImagePull {
                reason, message, ..
            } => (
                format!("cannot pull their image ({reason})"),
                message.clone(),
            ),
            Finding::CannotStart {
                reason, message, ..
            } => (format!("cannot start ({reason})"), message.clone()),
            Finding::Unschedulable { message, .. } => {
                ("cannot be scheduled".to_string(), message.clone())
            }
            Finding::Evicted { message, .. } => ("evicted".to_string(), message.clone()),
            _ => continue,
        };
        let e = by_reason.entry(what).or_insert((0, detail));
        e.0 += 1;
    }
    for (what, (n, detail)) in by_reason {
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        parts.push(format!("{} {what}{detail}", of(n)));
    }
    for f in &found.items {
        match f {
            Finding::ClaimPending { claim, since_ms } => parts.push(format!(
                "claim {claim} Pending for {}",
                span(found.at_ms.saturating_sub(*since_ms))
            )),
            Finding::Stalled {
                deployment,
                message,
            } => parts.push(format!(
                "deployment/{deployment} is past its progress deadline ({message})"
            )),
            Finding::NodeNotReady { why } => parts.push(if why.is_empty() {
                "NotReady".into()
            } else {
                format!("NotReady ({why})")
            }),
            Finding::NodePressure { kinds } => parts.push(format!("under {}", kinds.join(", "))),
            Finding::Unreachable { since_ms, error } => parts.push(format!(
                "the API server has not answered for {} ({error}); watching resumes by itself",
                span(found.at_ms.saturating_sub(*since_ms))
            )),
            _ => {}
        }
    }
    parts.join("; ")
}
