//! What a running job reports, and the seam it reports through. This module knows no chat:
//! `chat::LiveProgress` renders the events into one live message per job, edited in place.

mod io;

use async_trait::async_trait;

use crate::store::{Job, JobState, Step};

pub use io::JobIo;

/// A chat message the bot sent, so it can be edited later. Opaque outside `chat/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MessageRef {
    /// Adapter name.
    pub platform: String,
    /// Room id.
    pub room: String,
    /// The platform's message id.
    pub id: String,
}

/// Something that happened to a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// The worker took the job up. `resumed_from` is the step it resumes at after a restart.
    Started {
        /// The job's steps.
        plan: Vec<Step>,
        /// `Some(i)`: resumed at step `i` (0-based) after a restart.
        resumed_from: Option<usize>,
    },
    /// A step began.
    StepStarted {
        /// Index into the plan.
        index: usize,
    },
    /// A step finished and was checkpointed.
    StepFinished {
        /// Index into the plan.
        index: usize,
        /// How long it took.
        elapsed_ms: u64,
    },
    /// A line for the job's log (secrets already redacted).
    Log {
        /// The line.
        line: String,
    },
    /// The job reached a terminal state.
    Finished {
        /// Terminal state.
        state: JobState,
        /// Wall time from first start to the end, ms.
        elapsed_ms: u64,
        /// Steps done, out of the plan.
        done: usize,
    },
    /// A cancel request was accepted; the job stops at the next step boundary.
    CancelRequested,
    /// The per-host table changed (see [`Job::hosts`]).
    Hosts,
    /// The rollout table of a GE job changed (see [`Job::rollout`]).
    Rollout,
    /// Something the room should read now, as its own message (e.g. a newly pinned host key).
    Notice {
        /// The text (no secrets).
        text: String,
    },
    /// The bot is shutting down (or its worker gave up on the store): the job stopped at a step
    /// boundary and resumes on restart.
    Paused,
}

/// Where a job's progress goes.
#[async_trait]
pub trait ProgressSink: Send + Sync {
    /// Ties a job to the message that acknowledged it, so progress edits that message instead
    /// of sending a new one.
    async fn attach(&self, job: &Job, message: MessageRef);

    /// Reports one event of `job` (the job as stored after the event). Returns whether the
    /// room got it: `false` when a send failed, so that a job's outcome is told again later.
    async fn emit(&self, job: &Job, event: ProgressEvent) -> bool;
}
