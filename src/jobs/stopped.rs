//! Jobs that cannot go on: a job whose task panicked, or whose store failed under it while it
//! ran. Either way the job is marked failed with a reason the room can read (retrying the store
//! with bounded backoff), and the room is told; if even that cannot be recorded, the room gets a
//! notice that the job stopped and resumes from its last checkpoint at the next start.

use std::any::Any;

use tokio_util::sync::CancellationToken;

use super::outcome;
use super::retry::STORE_BACKOFF;
use crate::progress::{ProgressEvent, ProgressSink};
use crate::store::{Job, JobState, JobStore, StoreError};

/// The failure reason of a job whose task panicked.
pub const PANICKED: &str = "stopped by an internal error in labkube (a bug; details are in its \
                            log); steps done so far are kept";

/// The failure reason of a job whose store failed under it.
pub const STORE_FAILED: &str = "stopped: labkube's job store failed while recording its \
                                progress (details are in its log); steps done so far are kept";

/// A job's task panicked: log the panic, fail the job, tell its room. The job as failed, if
/// the store recorded that.
pub(super) async fn panicked(
    store: &dyn JobStore,
    sink: &dyn ProgressSink,
    job: &Job,
    payload: Box<dyn Any + Send>,
    stop: &CancellationToken,
) -> Option<Job> {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    tracing::error!(job = job.id, panic = %crate::provision::redact(&message), "a job task panicked");
    give_up(store, sink, job, PANICKED, stop).await
}

/// The store failed while job `job` ran (after the claim loop's own retries do not apply).
/// The job as failed, if the store recorded that.
pub(super) async fn store_failed(
    store: &dyn JobStore,
    sink: &dyn ProgressSink,
    job: &Job,
    error: &StoreError,
    stop: &CancellationToken,
) -> Option<Job> {
    tracing::error!(job = job.id, error = %error, "job store failed while running a job");
    give_up(store, sink, job, STORE_FAILED, stop).await
}

/// Marks `job` failed with `reason` and reports it; if the store cannot record that either,
/// sends the room a notice instead, so the room is told in every case. The job as failed, if
/// the store recorded that.
async fn give_up(
    store: &dyn JobStore,
    sink: &dyn ProgressSink,
    job: &Job,
    reason: &str,
    stop: &CancellationToken,
) -> Option<Job> {
    let state = JobState::Failed {
        reason: reason.to_string(),
    };
    let marked = STORE_BACKOFF
        .retry("recording a stopped job as failed", stop, || {
            store.update(job.id, &mut |j| {
                if j.state.is_terminal() {
                    return Err("it has already finished".into());
                }
                j.state = state.clone();
                Ok(())
            })
        })
        .await;
    match marked {
        Ok(failed) => {
            outcome::tell(store, sink, &failed).await;
            Some(failed)
        }
        // Finished before it stopped: its room was told then.
        Err(StoreError::Conflict { .. }) => None,
        Err(e) => {
            tracing::error!(job = job.id, error = %e, "cannot record a stopped job as failed");
            let text = format!(
                "job #{} {reason}. The job store cannot record this either, so the job still \
                 shows as running; it resumes from its last checkpoint when labkube restarts.",
                job.id
            );
            sink.emit(job, ProgressEvent::Notice { text }).await;
            None
        }
    }
}
