//! The steps of each job kind. This build executes selftests; cluster and GE kinds arrive with
//! the provisioning and Kubernetes layers, and until then they are refused before queuing
//! ([`available`]), so a queued job of such a kind (e.g. from a store written by a newer build)
//! fails cleanly instead of hanging.

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::{Job, JobKind, JobStore};

/// A step failure; `Display` is shown in chat, so it never carries secrets.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// No executor for this kind in this build.
    #[error("{0} is not available in this build")]
    Unavailable(String),
    /// Local I/O failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The step did not finish in time.
    #[error("step timed out after {0} s")]
    Timeout(u64),
}

/// What a step may use.
#[derive(Clone)]
pub struct StepCtx {
    /// The bot's data directory.
    pub data_dir: PathBuf,
    /// For the job's log.
    pub store: Arc<dyn JobStore>,
}

/// `true` if this build can execute jobs of this kind.
pub fn available(kind: &JobKind) -> bool {
    matches!(kind, JobKind::Selftest { .. })
}

/// The step names of a job, fixed when it first starts.
pub fn plan(kind: &JobKind) -> Result<Vec<String>, ExecError> {
    match kind {
        JobKind::Selftest { steps, .. } => Ok(super::selftest::plan(*steps)),
        other => Err(ExecError::Unavailable(other.title())),
    }
}

/// Runs step `index` of `job`. Steps are idempotent: a step interrupted by a crash is run
/// again on resume and must converge rather than repeat its effect.
pub async fn run_step(job: &Job, index: usize, ctx: &StepCtx) -> Result<(), ExecError> {
    match &job.kind {
        JobKind::Selftest { step_ms, .. } => {
            super::selftest::run_step(job.id, index, *step_ms, ctx).await
        }
        other => Err(ExecError::Unavailable(other.title())),
    }
}

/// Longest a step of this job may take before it is failed.
pub fn step_timeout(kind: &JobKind) -> std::time::Duration {
    match kind {
        JobKind::Selftest { step_ms, .. } => {
            std::time::Duration::from_millis(step_ms.saturating_add(30_000))
        }
        _ => std::time::Duration::from_secs(3600),
    }
}
