//! The steps of each job kind. A job gets a [`Runner`] when it starts (or resumes): it holds
//! what must live across steps, such as a cluster job's SSH connections or a GE job's API
//! client. A kind this build cannot run is refused before queuing ([`available`]), and a
//! queued one (e.g. from a store written by a newer build) fails cleanly instead of hanging.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::kube::{GeRun, KubeError, KubeLayer};
use crate::progress::ProgressSink;
use crate::provision::{self, ClusterRun, Engine, Io, ProvisionError};
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
    /// A cluster step failed.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// A GE step failed.
    #[error(transparent)]
    Kube(KubeError),
    /// The step stopped for a shutdown; the job resumes on restart.
    #[error("interrupted by shutdown")]
    Interrupted,
}

impl From<KubeError> for ExecError {
    fn from(e: KubeError) -> Self {
        match e {
            KubeError::Interrupted => ExecError::Interrupted,
            other => ExecError::Kube(other),
        }
    }
}

/// What steps may use.
#[derive(Clone)]
pub struct StepCtx {
    /// The bot's data directory.
    pub data_dir: PathBuf,
    /// For the job's log.
    pub store: Arc<dyn JobStore>,
    /// Provisioning settings and connections; `None` where cluster jobs cannot run.
    pub engine: Option<Engine>,
    /// The Kubernetes layer; `None` where GE jobs cannot run.
    pub kube: Option<KubeLayer>,
}

/// `true` if this build can execute jobs of this kind.
pub fn available(kind: &JobKind) -> bool {
    match kind {
        JobKind::Selftest { .. }
        | JobKind::ClusterCreate(_)
        | JobKind::ClusterPlan(_)
        | JobKind::ClusterDelete { .. } => true,
        other => crate::kube::run::plan(other).is_some(),
    }
}

/// The step names of a job, fixed when it first starts.
pub fn plan(kind: &JobKind) -> Result<Vec<String>, ExecError> {
    match kind {
        JobKind::Selftest { steps, .. } => Ok(super::selftest::plan(*steps)),
        other => provision::plan(other)
            .or_else(|| crate::kube::run::plan(other))
            .ok_or_else(|| ExecError::Unavailable(other.title())),
    }
}

/// Longest a step of this job may take before it is failed (cluster steps bound each script
/// themselves; this is the outer guard).
pub fn step_timeout(kind: &JobKind) -> Duration {
    match kind {
        JobKind::Selftest { step_ms, .. } => Duration::from_millis(step_ms.saturating_add(30_000)),
        _ => Duration::from_secs(2 * 3600),
    }
}

/// A job being worked on.
pub enum Runner {
    /// A selftest.
    Selftest {
        /// Milliseconds per step.
        step_ms: u64,
    },
    /// A cluster job with its hosts and connections.
    Cluster(Box<ClusterRun>),
    /// A GE job with its cluster's API client.
    Ge(Box<GeRun>),
}

impl Runner {
    /// Prepares to run (or resume) `job`.
    pub async fn start(
        job: &Job,
        ctx: &StepCtx,
        sink: Arc<dyn ProgressSink>,
    ) -> Result<Runner, ExecError> {
        match &job.kind {
            JobKind::Selftest { step_ms, .. } => Ok(Runner::Selftest { step_ms: *step_ms }),
            kind @ (JobKind::ClusterCreate(_)
            | JobKind::ClusterPlan(_)
            | JobKind::ClusterDelete { .. }) => {
                let engine = ctx
                    .engine
                    .clone()
                    .ok_or_else(|| ExecError::Unavailable(kind.title()))?;
                let io = Io {
                    store: ctx.store.clone(),
                    sink,
                    job: job.id,
                };
                Ok(Runner::Cluster(Box::new(
                    ClusterRun::new(engine, kind, io).await?,
                )))
            }
            kind @ (JobKind::GeInstall(..)
            | JobKind::GeUpgrade(..)
            | JobKind::GeScale(..)
            | JobKind::GeUninstall(..)
            | JobKind::Rollback(..)) => {
                let layer = ctx
                    .kube
                    .clone()
                    .ok_or_else(|| ExecError::Unavailable(kind.title()))?;
                Ok(Runner::Ge(Box::new(
                    GeRun::new(layer, job, ctx.store.clone(), sink).await?,
                )))
            }
        }
    }

    /// Runs step `index`. Steps are idempotent: one interrupted by a crash runs again on resume
    /// and must converge rather than repeat its effect.
    /// `shutdown` interrupts steps that only wait (a rollout watch): they return
    /// [`ExecError::Interrupted`] and run again on resume.
    pub async fn step(
        &mut self,
        job: &Job,
        index: usize,
        ctx: &StepCtx,
        shutdown: &CancellationToken,
    ) -> Result<(), ExecError> {
        match self {
            Runner::Selftest { step_ms } => {
                super::selftest::run_step(job.id, index, *step_ms, ctx).await
            }
            Runner::Cluster(run) => Ok(run.step(index).await?),
            Runner::Ge(run) => Ok(run.step(index, shutdown).await?),
        }
    }

    /// Releases what the job held (connections).
    pub async fn close(&mut self) {
        if let Runner::Cluster(run) = self {
            run.close().await;
        }
    }
}
