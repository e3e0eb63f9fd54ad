//! The persisted job record: what was asked, by whom, from where, and how far it got.
//!
//! These types are the on-disk format of the `jobs` tree (JSON), so fields are only ever added
//! with `#[serde(default)]`, never renamed.

use serde::{Deserialize, Serialize};

use super::kind::JobKind;
use super::step::Step;

/// A job number as shown in chat (`#42`). Allocated densely from 1 by the store.
pub type JobId = u64;

/// Who asked for something: a user id on one chat platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requester {
    /// Adapter name (`console`, `matrix`, `telegram`); opaque to everything outside `chat/`.
    pub platform: String,
    /// The platform's user id (`@alice:lab.example`, a Telegram numeric id, a local user name).
    pub user: String,
}

/// The chat room a job came from, and the event that created it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Adapter name, as in [`Requester::platform`].
    pub platform: String,
    /// The platform's room id.
    pub room: String,
    /// The platform's id of the message that asked for the job (dedupe key).
    pub event_id: String,
}

/// Where a job is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Stored, waiting for the worker.
    Queued,
    /// Being worked on; `step` is the index of the step in progress (0-based).
    Running {
        /// Index into [`Job::plan`].
        step: usize,
    },
    /// Every step finished.
    Succeeded,
    /// A step failed; the reason is safe to show in chat.
    Failed {
        /// Human-readable, secrets already redacted.
        reason: String,
    },
    /// Stopped on request at a step boundary.
    Cancelled,
}

impl JobState {
    /// `true` once the job can no longer change.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed { .. } | JobState::Cancelled
        )
    }

    /// One word for listings: `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    pub fn word(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running { .. } => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed { .. } => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// A finished step: the checkpoint that lets a resumed job skip it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Index into [`Job::plan`].
    pub index: usize,
    /// The step's chat title when it ran (what `/job` lists as done).
    pub name: String,
    /// Unix milliseconds.
    pub started_ms: u64,
    /// Unix milliseconds.
    pub finished_ms: u64,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Dense job number.
    pub id: JobId,
    /// What to do.
    pub kind: JobKind,
    /// Who asked.
    pub requested_by: Requester,
    /// Where it was asked; progress goes back there.
    pub origin: Origin,
    /// The command as typed, with secrets redacted (for listings and the audit trail).
    pub command_text: String,
    /// Lock key, see [`JobKind::target`].
    pub target: Option<String>,
    /// Current state.
    pub state: JobState,
    /// The steps, fixed when the job is queued (or, if it was queued without them, when it
    /// first starts). Builds before typed steps stored titles; those read back as the same
    /// steps.
    #[serde(default, deserialize_with = "super::step::deserialize_plan")]
    pub plan: Vec<Step>,
    /// Checkpoints of finished steps, in order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Index into [`Job::plan`] of the step that failed, when the job failed in one (not when
    /// it failed before its first step started).
    #[serde(default)]
    pub failed_step: Option<usize>,
    /// Set by `/cancel` on a running job; honoured at the next step boundary.
    #[serde(default)]
    pub cancel_requested: Option<Requester>,
    /// How many times the job was resumed after a restart.
    #[serde(default)]
    pub resumes: u32,
    /// Per-host status of jobs that work on hosts, in plan order (control plane first).
    #[serde(default)]
    pub hosts: Vec<HostProgress>,
    /// Finer checkpoints than steps, e.g. `prepare_host@10.0.0.2`: work done on one host within
    /// a step, so a resumed step skips the hosts that finished it.
    #[serde(default)]
    pub marks: std::collections::BTreeSet<String>,
    /// Rollout progress of GE jobs: one row per workload being watched.
    #[serde(default)]
    pub rollout: Vec<RolloutRow>,
    /// Whether its outcome is told again until it reached its room (set on every job queued
    /// since this was recorded; older jobs are not told again).
    #[serde(default)]
    pub tell_outcome: bool,
    /// What the job produced, for its final message (e.g. the cluster summary or the plan).
    #[serde(default)]
    pub summary: Option<String>,
    /// The chat message that shows the job's progress (its acknowledgement), so a job resumed
    /// after a restart goes on editing it; `None` until one was sent, and in records of
    /// earlier releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_message: Option<crate::progress::MessageRef>,
    /// Unix milliseconds.
    pub created_ms: u64,
    /// Unix milliseconds of the first start.
    #[serde(default)]
    pub started_ms: Option<u64>,
    /// Unix milliseconds of reaching a terminal state.
    #[serde(default)]
    pub finished_ms: Option<u64>,
}

impl Job {
    /// Wall time from its first start to its end (so far, while it runs: 0), ms.
    pub fn elapsed_ms(&self) -> u64 {
        match (self.started_ms, self.finished_ms) {
            (Some(s), Some(f)) => f.saturating_sub(s),
            _ => 0,
        }
    }
}

/// What a caller gives the store to create a job; the store assigns the id and timestamps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// What to do.
    pub kind: JobKind,
    /// Its steps (`jobs::plan` of the kind), so a queued job already shows them. Empty: the
    /// worker fixes them when the job starts.
    pub plan: Vec<Step>,
    /// Who asked.
    pub requested_by: Requester,
    /// Where it was asked.
    pub origin: Origin,
    /// Redacted command text.
    pub command_text: String,
}

/// Current wall-clock time in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `ms` (Unix milliseconds) as `2026-11-26T15:41:39Z`: how every time is written.
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

/// Where one host of a job stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostProgress {
    /// The host as displayed (`10.0.0.1`, `127.0.0.2:2222`).
    pub host: String,
    /// `control-plane` or `worker`.
    pub role: String,
    /// Its state in the current step.
    pub state: HostState,
    /// Unix milliseconds when its current work began.
    #[serde(default)]
    pub since_ms: Option<u64>,
    /// A short note (`ubuntu 24.04`, `exit 1 in install_kube`).
    #[serde(default)]
    pub note: Option<String>,
}

/// A host's state within the current step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Not started in this step.
    Waiting,
    /// Working.
    Running,
    /// Finished this step.
    Done,
    /// Failed this step.
    Failed,
}

impl HostState {
    /// One word for tables.
    pub fn word(self) -> &'static str {
        match self {
            HostState::Waiting => "waiting",
            HostState::Running => "running",
            HostState::Done => "done",
            HostState::Failed => "failed",
        }
    }
}

/// One workload's rollout, as the live message shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutRow {
    /// `deployment/orion`.
    pub workload: String,
    /// Replicas wanted.
    pub desired: u32,
    /// Replicas running the new template.
    pub updated: u32,
    /// Replicas ready.
    pub ready: u32,
    /// Replicas available.
    pub available: u32,
    /// Rolled out completely.
    pub done: bool,
    /// What it waits for, when known (the controller, a pod's problem).
    #[serde(default)]
    pub waiting_for: Option<String>,
    /// The counts are the previous revision's (the controller has not seen the change).
    #[serde(default)]
    pub stale: bool,
}
