//! The steps of each job family. A job gets a [`Runner`] when it starts (or resumes): it holds
//! what must live across steps, such as a cluster job's SSH connections or a GE job's API
//! client. Each family's runner matches its own step enum exhaustively, so a step without code
//! does not compile, and a step of another family is an error, never a silent success.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::kube::{GeRun, KubeError, KubeLayer};
use crate::progress::JobIo;
use crate::progress::ProgressSink;
use crate::provision::{self, ClusterRun, Engine, ProvisionError};
use crate::store::{Job, JobKind, JobStore, SelftestJob, Step};

/// A step failure; `Display` is shown in chat, so it never carries secrets.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The stored plan names a step of another flow family (a damaged record).
    #[error("its plan has a step ({step}) that {kind} cannot run")]
    ForeignStep {
        /// The step.
        step: Step,
        /// The job's title.
        kind: String,
    },
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
    Provision(ProvisionError),
    /// A GE step failed.
    #[error(transparent)]
    Kube(KubeError),
    /// `/cancel` stopped the step mid-way (after settling what it had started).
    #[error("cancelled")]
    Cancelled,
    /// The step stopped for a shutdown; the job resumes on restart.
    #[error("interrupted by shutdown")]
    Interrupted,
}

impl From<ProvisionError> for ExecError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::Interrupted => ExecError::Interrupted,
            ProvisionError::Cancelled => ExecError::Cancelled,
            other => ExecError::Provision(other),
        }
    }
}

impl From<KubeError> for ExecError {
    fn from(e: KubeError) -> Self {
        match e {
            KubeError::Interrupted => ExecError::Interrupted,
            KubeError::Cancelled => ExecError::Cancelled,
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
    /// Provisioning settings and connections.
    pub engine: Engine,
    /// The Kubernetes layer.
    pub kube: KubeLayer,
}

/// The steps of a job, fixed when it first starts.
pub fn plan(kind: &JobKind) -> Vec<Step> {
    match kind {
        JobKind::Cluster(c) => provision::plan(c).into_iter().map(Step::Cluster).collect(),
        JobKind::Ge(g) => crate::kube::plan(g).into_iter().map(Step::Ge).collect(),
        JobKind::Selftest(t) => super::selftest::plan(t),
    }
}

/// Longest a step of this job may take before it is failed (cluster steps bound each script
/// themselves; this is the outer guard).
pub fn step_timeout(kind: &JobKind) -> Duration {
    match kind {
        JobKind::Selftest(SelftestJob::Selftest { step_ms, .. }) => {
            Duration::from_millis(step_ms.saturating_add(30_000))
        }
        JobKind::Cluster(_) | JobKind::Ge(_) => Duration::from_secs(2 * 3600),
    }
}

/// A job being worked on.
pub enum Runner {
    /// A selftest.
    Selftest {
        /// Milliseconds per step.
        step_ms: u64,
        /// The job's record and room.
        io: JobIo,
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
        let io = JobIo {
            store: ctx.store.clone(),
            sink,
            job: job.id,
        };
        match &job.kind {
            JobKind::Selftest(SelftestJob::Selftest { step_ms, .. }) => Ok(Runner::Selftest {
                step_ms: *step_ms,
                io,
            }),
            JobKind::Cluster(cluster) => Ok(Runner::Cluster(Box::new(
                ClusterRun::new(ctx.engine.clone(), cluster, io).await?,
            ))),
            JobKind::Ge(ge) => Ok(Runner::Ge(Box::new(
                GeRun::new(ctx.kube.clone(), job, ge, io).await?,
            ))),
        }
    }

    /// Runs `step`, the plan's step `index`. Steps are idempotent: one interrupted by a crash
    /// runs again on resume and must converge rather than repeat its effect.
    /// `shutdown` interrupts steps that only wait (a rollout watch) and the hosts' chains of a
    /// cluster's set-up step at their next script: they return [`ExecError::Interrupted`] and
    /// run again on resume; `cancel` stops them the same way with [`ExecError::Cancelled`].
    pub async fn step(
        &mut self,
        job: &Job,
        index: usize,
        step: Step,
        ctx: &StepCtx,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ExecError> {
        match (self, step) {
            (Runner::Selftest { step_ms, io }, Step::Selftest(_)) => {
                super::selftest::run_step(io, index, *step_ms, &ctx.data_dir).await
            }
            (Runner::Cluster(run), Step::Cluster(step)) => {
                Ok(run.step(step, shutdown, cancel).await?)
            }
            (Runner::Ge(run), Step::Ge(step)) => Ok(run.step(step, shutdown, cancel).await?),
            (_, step) => Err(ExecError::ForeignStep {
                step,
                kind: job.kind.title(),
            }),
        }
    }

    /// Releases what the job held (connections).
    pub async fn close(&mut self) {
        if let Runner::Cluster(run) = self {
            run.close().await;
        }
    }
}
