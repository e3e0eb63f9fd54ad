//! The worker: claims queued jobs in order, runs them with bounded concurrency and at most one
//! job per target, checkpoints every finished step, stops at step boundaries on `/cancel` or
//! shutdown, and resumes jobs found running at start-up from their last checkpoint.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::executor::{self, Runner, StepCtx};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::provision;
use crate::store::{Job, JobId, JobState, JobStore, Requester, StepRecord, StoreError, now_ms};

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

struct Inner {
    store: Arc<dyn JobStore>,
    sink: Arc<dyn ProgressSink>,
    ctx: StepCtx,
    max_concurrent: usize,
    /// Wakes the claim loop: a job was queued or finished.
    wake: Notify,
    /// Wakes idle waiters: a job finished.
    settled: Notify,
    /// Targets with a running job.
    busy: Mutex<HashSet<String>>,
    /// Cancel tokens of running jobs.
    running: Mutex<HashMap<JobId, CancellationToken>>,
}

/// Locks a std mutex, recovering from poisoning: the guarded sets stay consistent because every
/// critical section is a single insert/remove, so a panic elsewhere cannot leave them half-done.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    /// A worker over `store`, reporting to `sink`, running at most `max_concurrent` jobs.
    pub fn new(
        store: Arc<dyn JobStore>,
        sink: Arc<dyn ProgressSink>,
        ctx: StepCtx,
        max_concurrent: usize,
    ) -> Self {
        Worker {
            inner: Arc::new(Inner {
                store,
                sink,
                ctx,
                max_concurrent: max_concurrent.max(1),
                wake: Notify::new(),
                settled: Notify::new(),
                busy: Mutex::new(HashSet::new()),
                running: Mutex::new(HashMap::new()),
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
    pub async fn run(
        self,
        shutdown: CancellationToken,
        grace: Duration,
    ) -> Result<(), WorkerError> {
        let inner = self.inner;
        let mut tasks = JoinSet::new();
        for job in inner.store.active()? {
            if matches!(job.state, JobState::Running { .. }) {
                if let Some(t) = &job.target {
                    lock(&inner.busy).insert(t.clone());
                }
                tracing::info!(job = job.id, "resuming job interrupted by a restart");
                tasks.spawn(run_job(inner.clone(), job, true, shutdown.clone()));
            }
        }
        loop {
            while tasks.len() < inner.max_concurrent {
                match claim(&inner)? {
                    Some(job) => {
                        tasks.spawn(run_job(inner.clone(), job, false, shutdown.clone()));
                    }
                    None => break,
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = inner.wake.notified() => {}
                Some(res) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = res {
                        tracing::error!(error = %e, "a job task panicked");
                    }
                }
                _ = tokio::time::sleep(POLL) => {}
            }
        }
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!(
                jobs = tasks.len(),
                "jobs still mid-step after the shutdown grace period; they resume from their last checkpoint"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        inner.store.flush()?;
        Ok(())
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

async fn run_job(inner: Arc<Inner>, job: Job, resumed: bool, shutdown: CancellationToken) {
    let id = job.id;
    let token = CancellationToken::new();
    lock(&inner.running).insert(id, token.clone());
    // Releases the job's target and cancel token however the task ends, a panic included, so
    // one broken job cannot block its cluster until the next restart.
    let _release = Release {
        inner: inner.clone(),
        id,
        target: job.target.clone(),
    };
    if let Err(e) = drive(&inner, job, resumed, &token, &shutdown).await {
        tracing::error!(job = id, error = %e, "job store failed while running a job; it resumes on restart");
    }
}

/// Drop guard of a running job: frees its lock and wakes the claim loop and idle waiters.
struct Release {
    inner: Arc<Inner>,
    id: JobId,
    target: Option<String>,
}

impl Drop for Release {
    fn drop(&mut self) {
        lock(&self.inner.running).remove(&self.id);
        if let Some(t) = &self.target {
            lock(&self.inner.busy).remove(t);
        }
        self.inner.wake.notify_one();
        self.inner.settled.notify_waiters();
    }
}

async fn drive(
    inner: &Inner,
    mut job: Job,
    resumed: bool,
    token: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<(), StoreError> {
    let store = &inner.store;
    let id = job.id;
    if job.plan.is_empty() {
        let plan = executor::plan(&job.kind);
        job = store.update(id, &mut |j| {
            j.plan = plan.clone();
            Ok(())
        })?;
    }
    let start = job.steps.len();
    if resumed {
        job = store.update(id, &mut |j| {
            j.resumes += 1;
            Ok(())
        })?;
        store.append_log(
            id,
            &format!("resumed after a restart at step {}", start + 1),
        )?;
    }
    let plan = job.plan.clone();
    let started = ProgressEvent::Started {
        plan: plan.clone(),
        resumed_from: resumed.then_some(start),
    };
    inner.sink.emit(&job, started).await;
    let mut runner = match Runner::start(&job, &inner.ctx, inner.sink.clone()).await {
        Ok(r) => r,
        Err(e) => return fail(inner, id, e.to_string()).await,
    };
    let outcome = steps(inner, &mut runner, job, start, token, shutdown).await;
    runner.close().await;
    match outcome? {
        Some(state) => finish(inner, id, state).await,
        None => Ok(()),
    }
}

/// Runs the steps from `start`; returns the terminal state to record, or `None` when the job
/// paused for a shutdown (it stays running and resumes on the next start).
async fn steps(
    inner: &Inner,
    runner: &mut Runner,
    mut job: Job,
    start: usize,
    token: &CancellationToken,
    shutdown: &CancellationToken,
) -> Result<Option<JobState>, StoreError> {
    let store = &inner.store;
    let id = job.id;
    let plan = job.plan.clone();
    for (index, &step) in plan.iter().enumerate().skip(start) {
        let current = store.get(id)?.ok_or(StoreError::NoSuchJob(id))?;
        if current.cancel_requested.is_some() || token.is_cancelled() {
            return Ok(Some(JobState::Cancelled));
        }
        if shutdown.is_cancelled() {
            store.append_log(id, &format!("paused by shutdown before step {}", index + 1))?;
            inner.sink.emit(&current, ProgressEvent::Paused).await;
            return Ok(None);
        }
        job = store.update(id, &mut |j| {
            j.state = JobState::Running { step: index };
            Ok(())
        })?;
        inner
            .sink
            .emit(&job, ProgressEvent::StepStarted { index })
            .await;
        let started_ms = now_ms();
        let clock = Instant::now();
        let limit = executor::step_timeout(&job.kind);
        let running = runner.step(&job, index, step, &inner.ctx, shutdown, token);
        let outcome = match tokio::time::timeout(limit, running).await {
            Ok(r) => r,
            Err(_) => Err(executor::ExecError::Timeout(limit.as_secs())),
        };
        if let Err(executor::ExecError::Interrupted) = outcome {
            store.append_log(id, &format!("paused by shutdown during step {}", index + 1))?;
            inner.sink.emit(&job, ProgressEvent::Paused).await;
            return Ok(None);
        }
        if let Err(executor::ExecError::Cancelled) = outcome {
            store.append_log(id, &format!("cancelled during step {}", index + 1))?;
            return Ok(Some(JobState::Cancelled));
        }
        if let Err(e) = outcome {
            let reason = format!("step {}/{} ({step}) failed: {e}", index + 1, plan.len());
            store.append_log(id, &provision::redact(&reason))?;
            store.update(id, &mut |j| {
                j.failed_step = Some(index);
                Ok(())
            })?;
            return Ok(Some(JobState::Failed { reason }));
        }
        let record = StepRecord {
            index,
            name: step.title(),
            started_ms,
            finished_ms: now_ms(),
        };
        job = store.update(id, &mut |j| {
            if !j.steps.iter().any(|s| s.index == index) {
                j.steps.push(record.clone());
            }
            Ok(())
        })?;
        let elapsed_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        inner
            .sink
            .emit(&job, ProgressEvent::StepFinished { index, elapsed_ms })
            .await;
    }
    Ok(Some(JobState::Succeeded))
}

async fn fail(inner: &Inner, id: JobId, reason: String) -> Result<(), StoreError> {
    finish(inner, id, JobState::Failed { reason }).await
}

async fn finish(inner: &Inner, id: JobId, state: JobState) -> Result<(), StoreError> {
    let job = inner.store.update(id, &mut |j| {
        j.state = state.clone();
        Ok(())
    })?;
    emit_finished(inner, &job).await;
    Ok(())
}

async fn emit_finished(inner: &Inner, job: &Job) {
    let elapsed_ms = match (job.started_ms, job.finished_ms) {
        (Some(s), Some(f)) => f.saturating_sub(s),
        _ => 0,
    };
    let event = ProgressEvent::Finished {
        state: job.state.clone(),
        elapsed_ms,
        done: job.steps.len(),
    };
    inner.sink.emit(job, event).await;
}

impl WorkerHandle {
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
            emit_finished(&self.inner, &job).await;
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

    /// Waits until no job is queued or running, or until `stop` is cancelled.
    pub async fn wait_idle(&self, stop: &CancellationToken) -> Result<(), WorkerError> {
        loop {
            let settled = self.inner.settled.notified();
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
