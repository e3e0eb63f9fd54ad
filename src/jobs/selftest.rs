//! The selftest job: steps that wait and then record themselves once in `<data>/selftest.log`.
//! It exercises the queue, checkpoints, cancel, resume and progress without touching a host,
//! and its log makes "each step exactly once" checkable after crashes.

use std::io::Write;

use std::path::Path;

use super::executor::ExecError;
use crate::progress::JobIo;
use crate::store::{SelftestJob, Step};

/// File, under the data dir, that records finished selftest steps.
pub const LOG_FILE: &str = "selftest.log";

pub(super) fn plan(job: &SelftestJob) -> Vec<Step> {
    let SelftestJob::Selftest { steps, .. } = job;
    (1..=*steps).map(Step::Selftest).collect()
}

/// Waits `step_ms`, then appends `job=<id> step=<n>` to the log unless an earlier, interrupted
/// run of this step already did (probe before change, like every step).
pub(super) async fn run_step(
    io: &JobIo,
    index: usize,
    step_ms: u64,
    data_dir: &Path,
) -> Result<(), ExecError> {
    let job = io.job;
    tokio::time::sleep(std::time::Duration::from_millis(step_ms)).await;
    let line = format!("job={job} step={}", index + 1);
    let path = data_dir.join(LOG_FILE);
    let fs_error = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| ExecError::Io { what, source }
    };
    let existing = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(fs_error("cannot read")(e)),
    };
    if existing.lines().any(|l| l == line) {
        io.note(&format!(
            "step {} was already recorded; not repeated",
            index + 1
        ));
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(fs_error("cannot open"))?;
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(fs_error("cannot write"))?;
    f.sync_data().map_err(fs_error("cannot sync"))?;
    io.note(&format!("recorded {line}"));
    Ok(())
}
