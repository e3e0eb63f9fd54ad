//! The worker: claims queued jobs in order, runs them with bounded concurrency and at most one
//! job per target, checkpoints every finished step, stops at step boundaries on `/cancel` or
//! shutdown, and resumes jobs found running at start-up from their last checkpoint. Store
//! failures in its claim loop are retried with bounded backoff; a job whose task panics is
//! failed and reported; when it gives up it says why through [`WorkerHandle::unavailable`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::executor::StepCtx;
use super::job_run::run_job;
use super::outcome;
use super::retry::STORE_BACKOFF;
use super::stopped;
use crate::metrics::Metrics;
use crate::progress::{ProgressEvent, ProgressSink};
use crate::store::{Job, JobId, JobState, JobStore, Requester, StoreError, now_ms};

/// How often the worker looks at the queue even without a wake-up (a safety net only).
const POLL: Duration = Duration::from_millis(500);

/// Worker failures.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `/cancel` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job had not started; it is cancelled.
    Cancelled(Job),
    /// The job is running; it stops at the next step boundary.
    WillStop(Job),
    /// The job had already finished; nothing changed.
    AlreadyFinished(Job),
}

/// The worker's state, shared with its handles and job tasks.
pub(super) struct Inner {
    pub(super) store: Arc<dyn JobStore>,
    pub(super) sink: Arc<dyn ProgressSink>,
    pub(super) ctx: StepCtx,
    /// Jobs and steps counted and timed as they end.
    pub(super) metrics: Metrics,
    max_concurrent: usize,
    /// Wakes the claim loop: a job was queued or finished.
    pub(super) wake: Notify,
    /// Wakes idle waiters: a job finished.
    pub(super) settled: Notify,
    /// Targets with a running job.
    pub(super) busy: Mutex<HashSet<String>>,
    /// Cancel tokens of running jobs.
    pub(super) running: Mutex<HashMap<JobId, CancellationToken>>,
    /// Why the worker cannot run jobs, once it has stopped for good.
    down: Mutex<Option<String>>,
}

impl Inner {
    fn mark_down(&self, reason: &str) {
        lock(&self.down).get_or_insert_with(|| reason.to_string());
    }
}

/// Locks a std mutex, recovering from poisoning: the guarded sets stay consistent because every
/// critical section is a single insert/remove, so a panic elsewhere cannot leave them half-done.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The job runner. Create it, take [`Worker::handle`]s, then [`Worker::run`] it.
pub struct Worker {
    inner: Arc<Inner>,
}

/// A cheap handle for the dispatcher: wake the worker, cancel jobs, wait for idleness.
#[derive(Clone)]
pub struct WorkerHandle {
    inner: Arc<Inner>,
}

impl Worker {
    /// A worker over `store`, reporting to `sink` and counting into `metrics`, running at
    /// most `max_concurrent` jobs.
    pub fn new(
        store: Arc<dyn JobStore>,
        sink: Arc<dyn ProgressSink>,
        ctx: StepCtx,
        metrics: Metrics,
        max_concurrent: usize,
    ) -> Self {
        Worker {
            inner: Arc::new(Inner {
                store,
                sink,
                ctx,
                metrics,
                max_concurrent: max_concurrent.max(1),
                wake: Notify::new(),
                settled: Notify::new(),
                busy: Mutex::new(HashSet::new()),
                running: Mutex::new(HashMap::new()),
                down: Mutex::new(None),
            }),
        }
    }

    /// A handle for other tasks.
    pub fn handle(&self) -> WorkerHandle {
        WorkerHandle {
            inner: self.inner.clone(),
        }
    }

    /// Resumes interrupted jobs, then claims and runs queued ones until `shutdown`. On shutdown
    /// it starts nothing new and gives running jobs `grace` to reach a step boundary; jobs still
    /// in a step after that are dropped there and resume from their checkpoint next start.
    ///
    /// Store failures in the claim loop are retried with bounded backoff ([`STORE_BACKOFF`]);
    /// if the store keeps failing the worker marks itself down (see
    /// [`WorkerHandle::unavailable`]), lets running jobs pause as at shutdown, and returns the
    /// error. A job whose task panics is marked failed and its room told; the others go on.
    pub async fn run(
        self,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> Result<(), WorkerError> {
        let inner = self.inner;
        // Running jobs stop at a step boundary on shutdown, or when the worker gives up.
        let stop = shutdown.child_token();
        let mut tasks = Tasks::default();
        let outcome = claim_loop(&inner, &mut tasks, &shutdown, &stop).await;
        let outcome = match outcome {
            Err(e) if !shutdown.is_cancelled() => {
                inner.mark_down(GAVE_UP);
                stop.cancel();
                Err(e)
            }
            _ => Ok(()),
        };
        let drain = async {
            while let Some(res) = tasks.set.join_next_with_id().await {
                tasks.reap(&inner, res, &stop).await;
            }
        };
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!(
                jobs = tasks.set.len(),
                "jobs still mid-step after the shutdown grace period; they resume from their last checkpoint"
            );
            tasks.set.abort_all();
            while tasks.set.join_next().await.is_some() {}
        }
        outcome?;
        inner.store.flush()?;
        Ok(())
    }
}

/// Why the worker is down after it gave up on its store (shown after "cannot run jobs right now").
const GAVE_UP: &str = "its job store kept failing and the job worker stopped (details are in its \
                       log); queued jobs wait until an admin fixes the store and restarts labkube";

/// The worker's job tasks, with the job each one runs (to fail it if its task panics).
#[derive(Default)]
struct Tasks {
    set: JoinSet<()>,
    jobs: HashMap<tokio::task::Id, Job>,
}

impl Tasks {
    fn spawn(&mut self, inner: &Arc<Inner>, job: Job, resumed: bool, stop: &CancellationToken) {
        let task = run_job(inner.clone(), job.clone(), resumed, stop.clone());
        let handle = self.set.spawn(task);
        self.jobs.insert(handle.id(), job);
    }

    /// Forgets a finished task; a panicked one fails its job.
    async fn reap(
        &mut self,
        inner: &Inner,
        res: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
        stop: &CancellationToken,
    ) {
        let (id, err) = match res {
            Ok((id, ())) => (id, None),
            Err(e) => (e.id(), Some(e)),
        };
        let job = self.jobs.remove(&id);
        if let (Some(job), Some(e)) = (job, err)
            && e.is_panic()
        {
            let failed = stopped::panicked(&*inner.store, &*inner.sink, &job, e.into_panic(), stop);
            if let Some(job) = failed.await {
                super::job_run::count(inner, &job);
            }
        }
    }
}

/// Resumes interrupted jobs, then claims queued ones until `shutdown`. Returns a store error
/// only after [`STORE_BACKOFF`] ran out (or when `shutdown` cut a retry short).
async fn claim_loop(
    inner: &Arc<Inner>,
    tasks: &mut Tasks,
    shutdown: &CancellationToken,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    let active = STORE_BACKOFF
        .retry("listing interrupted jobs", shutdown, || {
            inner.store.active()
        })
        .await?;
    // Outcomes a crash or a failed send kept from their rooms, before anything new is said.
    if let Err(e) = outcome::tell_untold(&*inner.store, &*inner.sink).await {
        tracing::warn!(error = %e, "cannot look for job outcomes that were not told");
    }
    for job in active {
        if matches!(job.state, JobState::Running { .. }) {
            if let Some(t) = &job.target {
                lock(&inner.busy).insert(t.clone());
            }
            tracing::info!(job = job.id, "resuming job interrupted by a restart");
            tasks.spawn(inner, job, true, stop);
        }
    }
    loop {
        while tasks.set.len() < inner.max_concurrent {
            let claimed = STORE_BACKOFF
                .retry("claiming a queued job", shutdown, || claim(inner))
                .await?;
            match claimed {
                Some(job) => tasks.spawn(inner, job, false, stop),
                None => break,
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = inner.wake.notified() => {}
            Some(res) = tasks.set.join_next_with_id(), if !tasks.set.is_empty() => {
                tasks.reap(inner, res, shutdown).await;
            }
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Takes the oldest queued job whose target is free and marks it running.
fn claim(inner: &Inner) -> Result<Option<Job>, StoreError> {
    let mut busy = lock(&inner.busy);
    for job in inner.store.queued()? {
        if job.target.as_ref().is_some_and(|t| busy.contains(t)) {
            continue;
        }
        let now = now_ms();
        let claimed = inner.store.update(job.id, &mut |j| {
            if j.state != JobState::Queued {
                return Err("it is no longer queued".into());
            }
            j.state = JobState::Running {
                step: j.steps.len(),
            };
            j.started_ms.get_or_insert(now);
            Ok(())
        });
        match claimed {
            Ok(job) => {
                if let Some(t) = &job.target {
                    busy.insert(t.clone());
                }
                return Ok(Some(job));
            }
            // Cancelled between listing and claiming: look at the next one.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

impl WorkerHandle {
    /// Why the worker cannot run jobs (it stopped for good), or `None` while it can. The
    /// dispatcher refuses job-creating commands with this reason instead of queueing them.
    pub fn unavailable(&self) -> Option<String> {
        lock(&self.inner.down).clone()
    }

    /// Records that the worker has stopped for good and why (the supervisor calls this when
    /// the worker's task ends early or panics). The first reason recorded stays.
    pub fn mark_down(&self, reason: &str) {
        self.inner.mark_down(reason);
    }

    /// Tells the worker to look at the queue now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Cancels job `id`: at once if it is queued, at the next step boundary if it is running.
    pub async fn cancel(&self, id: JobId, by: &Requester) -> Result<CancelOutcome, WorkerError> {
        let mut was = JobState::Queued;
        let res = self.inner.store.update(id, &mut |j| {
            was = j.state.clone();
            match j.state {
                JobState::Queued => j.state = JobState::Cancelled,
                JobState::Running { .. } => {}
                _ => return Err("it has already finished".into()),
            }
            j.cancel_requested = Some(by.clone());
            Ok(())
        });
        let job = match res {
            Ok(job) => job,
            Err(StoreError::Conflict { .. }) => {
                let job = self.inner.store.get(id)?.ok_or(StoreError::NoSuchJob(id))?;
                return Ok(CancelOutcome::AlreadyFinished(job));
            }
            Err(e) => return Err(e.into()),
        };
        if was == JobState::Queued {
            outcome::tell(&*self.inner.store, &*self.inner.sink, &job).await;
            self.inner.settled.notify_waiters();
            return Ok(CancelOutcome::Cancelled(job));
        }
        if let Some(t) = lock(&self.inner.running).get(&id) {
            t.cancel();
        }
        self.inner
            .sink
            .emit(&job, ProgressEvent::CancelRequested)
            .await;
        Ok(CancelOutcome::WillStop(job))
    }

    /// Waits until no job is queued or running, until the worker is down (queued jobs would
    /// wait forever), or until `stop` is cancelled.
    pub async fn wait_idle(&self, stop: &CancellationToken) -> Result<(), WorkerError> {
        loop {
            let settled = self.inner.settled.notified();
            if self.unavailable().is_some() {
                return Ok(());
            }
            if self.inner.store.active()?.is_empty() && lock(&self.inner.running).is_empty() {
                return Ok(());
            }
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = settled => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}
