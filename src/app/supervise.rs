//! The worker's supervisor: runs the worker in its own task and, if that task ends before
//! shutdown (its store kept failing, or it panicked), records why on the worker's handle, so the
//! dispatcher answers job-creating commands "labkube cannot run jobs right now: …" instead of
//! queueing jobs nobody will run. Reading commands keep working.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::AppError;
use crate::jobs::Worker;

/// Why the worker is down after its task panicked.
const CRASHED: &str = "its job worker crashed (a bug; details are in its log); queued jobs \
                       wait until labkube is restarted";

/// Why the worker is down after it returned before shutdown without an error.
const ENDED: &str = "its job worker stopped unexpectedly (details are in its log); queued jobs \
                     wait until labkube is restarted";

/// Runs `worker` until `stop` (then with `grace` for running steps, as [`Worker::run`]).
/// Returns when the worker has ended, for good or at shutdown; the worker's error, or
/// [`AppError::WorkerCrashed`] after a panic, is returned for the exit status.
pub async fn supervise(
    worker: Worker,
    stop: CancellationToken,
    grace: Duration,
) -> Result<(), AppError> {
    let handle = worker.handle();
    let ended = tokio::spawn(worker.run(stop.clone(), grace)).await;
    match ended {
        Ok(Ok(())) if stop.is_cancelled() => Ok(()),
        Ok(Ok(())) => {
            tracing::error!("the job worker ended before shutdown");
            handle.mark_down(ENDED);
            Ok(())
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the job worker stopped; labkube cannot run jobs until restarted");
            // The worker recorded its own reason already; this covers any other way out.
            handle.mark_down(ENDED);
            Err(e.into())
        }
        Err(e) => {
            tracing::error!(error = %e, "the job worker panicked; labkube cannot run jobs until restarted");
            handle.mark_down(CRASHED);
            Err(AppError::WorkerCrashed)
        }
    }
}
