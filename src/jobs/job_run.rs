//! One job's run on the worker: plan, resume bookkeeping, its steps with timeouts and
//! checkpoints, cancel and shutdown at step boundaries, and its terminal state and report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::executor::{self, Runner};
use super::outcome;
use super::stopped;
use super::worker::{Inner, lock};
use crate::metrics;
use crate::progress::ProgressEvent;
use crate::provision;
use crate::store::{Job, JobId, JobState, StepRecord, StoreError, now_ms};

pub(super) async fn run_job(
    inner: Arc<Inner>,
    job: Job,
    resumed: bool,
    shutdown: CancellationToken,
) {
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
    let copy = job.clone();
    if let Err(e) = drive(&inner, job, resumed, &token, &shutdown).await {
        let failed = stopped::store_failed(&*inner.store, &*inner.sink, &copy, &e, &shutdown);
        if let Some(job) = failed.await {
            count(&inner, &job);
        }
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
        inner
            .metrics
            .step_finished(&metrics::label(&job.kind, Some("kind")), clock.elapsed());
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
    count(inner, &job);
    outcome::tell(&*inner.store, &*inner.sink, &job).await;
    Ok(())
}

/// Counts and times a job that ended.
pub(super) fn count(inner: &Inner, job: &Job) {
    inner.metrics.job_finished(
        &metrics::label(&job.kind, Some("kind")),
        job.state.word(),
        Duration::from_millis(job.elapsed_ms()),
    );
}
