//! A job's outcome reaches its room at least once. The end of a job is stored first and told
//! after; only when the chat took the message is it recorded as told ([`Space::Told`]). A crash
//! between the two, or a send that failed (the homeserver or the Bot API down for a moment),
//! leaves the job untold, and the worker tells it again when it starts. A crash right after the
//! send and before the record tells it twice: for an outcome, twice is better than never.

use std::collections::HashSet;

use crate::progress::{ProgressEvent, ProgressSink};
use crate::store::{Job, JobId, JobStore, Space, StoreError, now_ms};

/// How many of the newest jobs the worker looks at for untold outcomes when it starts.
const SCAN: usize = 500;

/// The event that reports a job's terminal state.
pub(super) fn finished_event(job: &Job) -> ProgressEvent {
    ProgressEvent::Finished {
        state: job.state.clone(),
        elapsed_ms: job.elapsed_ms(),
        done: job.steps.len(),
    }
}

/// The [`Space::Told`] key of job `id`.
fn key(id: JobId) -> String {
    id.to_string()
}

/// Tells `job`'s room how it ended and records that the room got it.
pub(super) async fn tell(store: &dyn JobStore, sink: &dyn ProgressSink, job: &Job) {
    if !sink.emit(job, finished_event(job)).await || !job.tell_outcome {
        return;
    }
    if let Err(e) = store.kv_put(Space::Told, &key(job.id), &now_ms().to_string()) {
        // The room has it; at worst it is told once more at the next start.
        tracing::warn!(job = job.id, error = %e, "cannot record that the job's outcome was told");
    }
}

/// Tells the outcome of every recent job that ended without its room being told, oldest
/// first; returns how many were told.
pub(super) async fn tell_untold(
    store: &dyn JobStore,
    sink: &dyn ProgressSink,
) -> Result<usize, StoreError> {
    let told: HashSet<String> = store
        .kv_list(Space::Told)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut untold: Vec<Job> = store
        .recent(SCAN)?
        .into_iter()
        .filter(|j| j.state.is_terminal() && j.tell_outcome && !told.contains(&key(j.id)))
        .collect();
    untold.sort_by_key(|j| j.id);
    for job in &untold {
        tracing::info!(
            job = job.id,
            "telling the outcome of a job its room was not told"
        );
        tell(store, sink, job).await;
    }
    Ok(untold.len())
}
