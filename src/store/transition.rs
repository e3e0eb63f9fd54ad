//! The rules every store shares: how a job is born, which changes [`JobStore::update`] accepts,
//! what a change does to the `queue` and `active` indexes, and which jobs
//! `import_finished` accepts. A store only persists what these functions decide ([`SledStore`]
//! here; the test kit's in-memory store, and any later backend), so stores cannot drift apart.
//! Public because it is the contract a store implementation is written against.
//!
//! [`JobStore::update`]: super::JobStore::update
//! [`SledStore`]: super::SledStore

use std::collections::HashSet;

use super::StoreError;
use super::job::{Job, JobId, JobState, NewJob, now_ms};

/// What a store must do to one index (`queue` or `active`) after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexOp {
    /// Membership is unchanged.
    Keep,
    /// The job enters the index.
    Insert,
    /// The job leaves the index.
    Remove,
}

impl IndexOp {
    fn between(was: bool, is: bool) -> IndexOp {
        match (was, is) {
            (false, true) => IndexOp::Insert,
            (true, false) => IndexOp::Remove,
            _ => IndexOp::Keep,
        }
    }
}

/// An accepted change: the job to store and the index updates that go with it.
#[derive(Debug)]
pub struct Transition {
    /// The job as it must be stored.
    pub job: Job,
    /// Update of the `queue` index (queued jobs).
    pub queue: IndexOp,
    /// Update of the `active` index (queued and running jobs).
    pub active: IndexOp,
    /// `false` when the change left the job exactly as it was (nothing to write).
    pub changed: bool,
}

/// `true` if a job in this state belongs in the `queue` index.
pub fn in_queue(state: &JobState) -> bool {
    matches!(state, JobState::Queued)
}

/// `true` if a job in this state belongs in the `active` index.
pub fn in_active(state: &JobState) -> bool {
    !state.is_terminal()
}

/// The job [`JobStore::enqueue`](super::JobStore::enqueue) stores for `new` under number `id`.
pub fn new_job(id: JobId, new: NewJob, created_ms: u64) -> Job {
    let target = new.kind.target();
    Job {
        id,
        kind: new.kind,
        requested_by: new.requested_by,
        origin: new.origin,
        command_text: new.command_text,
        target,
        state: JobState::Queued,
        plan: new.plan,
        steps: Vec::new(),
        failed_step: None,
        cancel_requested: None,
        resumes: 0,
        hosts: Vec::new(),
        marks: Default::default(),
        rollout: Vec::new(),
        tell_outcome: true,
        summary: None,
        live_message: None,
        created_ms,
        started_ms: None,
        finished_ms: None,
    }
}

fn conflict(current: &Job, what: impl Into<String>) -> StoreError {
    StoreError::Conflict {
        id: current.id,
        state: current.state.word(),
        what: what.into(),
    }
}

/// Applies `change` to a copy of `current` and checks the result.
///
/// Refused, as [`StoreError::Conflict`] carrying `current`'s state word: any change to a terminal
/// job, a change that returns `Err` (its reason becomes the message), renumbering the job, and
/// moving a running job back to `Queued`. `current` is never modified, so a refused or panicking
/// change leaves the store as it was.
///
/// Accepted changes get `started_ms` on first entering `Running` and `finished_ms` on entering a
/// terminal state, unless the change set them itself.
pub fn apply(
    current: &Job,
    change: &mut dyn FnMut(&mut Job) -> Result<(), String>,
) -> Result<Transition, StoreError> {
    if current.state.is_terminal() {
        return Err(conflict(current, "a finished job cannot be changed"));
    }
    let mut next = current.clone();
    change(&mut next).map_err(|reason| conflict(current, reason))?;
    if next.id != current.id {
        return Err(conflict(
            current,
            format!("a change cannot renumber the job (to #{})", next.id),
        ));
    }
    if matches!(current.state, JobState::Running { .. }) && in_queue(&next.state) {
        return Err(conflict(
            current,
            "a running job cannot go back to the queue",
        ));
    }
    if matches!(next.state, JobState::Running { .. }) && next.started_ms.is_none() {
        next.started_ms = Some(now_ms());
    }
    if next.state.is_terminal() && next.finished_ms.is_none() {
        next.finished_ms = Some(now_ms());
    }
    Ok(Transition {
        queue: IndexOp::between(in_queue(&current.state), in_queue(&next.state)),
        active: IndexOp::between(in_active(&current.state), in_active(&next.state)),
        changed: next != *current,
        job: next,
    })
}

/// Checks a batch for `import_finished`: every job must be terminal, numbered from 1, and
/// appear once. Returns the highest id in the batch (0 for an empty one).
pub fn check_import(jobs: &[Job]) -> Result<JobId, StoreError> {
    let mut max = 0;
    let mut seen = HashSet::with_capacity(jobs.len());
    for job in jobs {
        if !seen.insert(job.id) {
            return Err(conflict(job, "the import holds this job number twice"));
        }
        if !job.state.is_terminal() {
            return Err(conflict(job, "only finished jobs can be imported"));
        }
        if job.id == 0 {
            return Err(conflict(job, "job numbers start at 1"));
        }
        max = max.max(job.id);
    }
    Ok(max)
}

/// Whether an imported job may be written over what the store holds under its id: only if the
/// store holds nothing there, or the very same record (so an import can be repeated).
pub fn check_import_over(existing: Option<&Job>, imported: &Job) -> Result<bool, StoreError> {
    match existing {
        None => Ok(true),
        Some(old) if old == imported => Ok(false),
        Some(old) => Err(conflict(
            old,
            "the store already has a different job with this number",
        )),
    }
}
