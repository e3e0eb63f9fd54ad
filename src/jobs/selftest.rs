//! The selftest job: steps that wait and then record themselves once in `<data>/selftest.log`.
//! It exercises the queue, checkpoints, cancel, resume and progress without touching a host,
//! and its log makes "each step exactly once" checkable after crashes.

use std::io::Write;

use super::executor::{ExecError, StepCtx};
use crate::store::{JobId, SelftestJob, Step};

/// File, under the data dir, that records finished selftest steps.
pub const LOG_FILE: &str = "selftest.log";

pub(super) fn plan(job: &SelftestJob) -> Vec<Step> {
    let SelftestJob::Selftest { steps, .. } = job;
    (1..=*steps).map(Step::Selftest).collect()
}

/// Waits `step_ms`, then appends `job=<id> step=<n>` to the log unless an earlier, interrupted
/// run of this step already did (probe before change, like every step).
pub(super) async fn run_step(
    job: JobId,
    index: usize,
    step_ms: u64,
    ctx: &StepCtx,
) -> Result<(), ExecError> {
    tokio::time::sleep(std::time::Duration::from_millis(step_ms)).await;
    let line = format!("job={job} step={}", index + 1);
    let path = ctx.data_dir.join(LOG_FILE);
    let io = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| ExecError::Io { what, source }
    };
    let existing = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io("cannot read")(e)),
    };
    if existing.lines().any(|l| l == line) {
        let _ = ctx.store.append_log(
            job,
            &format!("step {} was already recorded; not repeated", index + 1),
        );
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io("cannot open"))?;
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(io("cannot write"))?;
    f.sync_data().map_err(io("cannot sync"))?;
    note(ctx, job, &format!("recorded {line}"));
    Ok(())
}

/// Adds a line to the job's log; a failure is logged, not fatal (the step's work is done).
fn note(ctx: &StepCtx, job: JobId, line: &str) {
    if let Err(e) = ctx.store.append_log(job, line) {
        tracing::warn!(job, error = %e, "cannot write the job log");
    }
}
