//! The one handle a running job has on its record and its room.

use std::sync::Arc;

use super::{ProgressEvent, ProgressSink};
use crate::store::{HostProgress, HostState, JobId, JobStore, RolloutRow, StoreError, now_ms};

/// A running job's handle on its record and its room: its log, its live tables, its per-host
/// checkpoints and its final summary. Cluster, GE and selftest jobs all report through it.
#[derive(Clone)]
pub struct JobIo {
    /// The store.
    pub store: Arc<dyn JobStore>,
    /// Progress.
    pub sink: Arc<dyn ProgressSink>,
    /// The job.
    pub job: JobId,
}

impl JobIo {
    /// Sets host `index`'s state and note, and shows the table.
    pub async fn host(
        &self,
        index: usize,
        state: HostState,
        note: Option<String>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let job = self.store.update(self.job, &mut |j| {
            if let Some(h) = j.hosts.get_mut(index) {
                if state == HostState::Running || h.since_ms.is_none() {
                    h.since_ms = Some(now);
                }
                h.state = state;
                if note.is_some() {
                    h.note = note.clone();
                }
            }
            Ok(())
        })?;
        self.sink.emit(&job, ProgressEvent::Hosts).await;
        Ok(())
    }

    /// Replaces the host table (at the start of a job).
    pub async fn init_hosts(&self, hosts: Vec<HostProgress>) -> Result<(), StoreError> {
        let job = self.store.update(self.job, &mut |j| {
            if j.hosts.is_empty() {
                j.hosts = hosts.clone();
            }
            Ok(())
        })?;
        self.sink.emit(&job, ProgressEvent::Hosts).await;
        Ok(())
    }

    /// Adds a line to the job log (text must already be free of secrets).
    pub fn log(&self, line: &str) -> Result<(), StoreError> {
        self.store.append_log(self.job, line)
    }

    /// Tells the room something now (e.g. a newly pinned host key).
    pub async fn notice(&self, text: String) -> Result<(), StoreError> {
        self.log(&text)?;
        if let Some(job) = self.store.get(self.job)? {
            self.sink.emit(&job, ProgressEvent::Notice { text }).await;
        }
        Ok(())
    }

    /// `true` if `mark` was recorded (work on one host within a step is done).
    pub fn marked(&self, mark: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .get(self.job)?
            .is_some_and(|j| j.marks.contains(mark)))
    }

    /// Records `mark` durably.
    pub fn mark(&self, mark: &str) -> Result<(), StoreError> {
        self.store.update(self.job, &mut |j| {
            j.marks.insert(mark.to_string());
            Ok(())
        })?;
        Ok(())
    }

    /// Sets the text of the job's final message.
    pub fn summary(&self, text: String) -> Result<(), StoreError> {
        self.store.update(self.job, &mut |j| {
            j.summary = Some(text.clone());
            Ok(())
        })?;
        Ok(())
    }

    /// Sets the text of the job's final message and shows the live message again (for steps
    /// that end early with nothing to watch).
    pub async fn summary_now(&self, text: String) -> Result<(), StoreError> {
        let job = self.store.update(self.job, &mut |j| {
            j.summary = Some(text.clone());
            Ok(())
        })?;
        self.sink.emit(&job, ProgressEvent::Rollout).await;
        Ok(())
    }

    /// Replaces the rollout table and shows it. A store failure is logged, not fatal: the
    /// rollout goes on, and the next update shows it again.
    pub async fn rollout(&self, rows: Vec<RolloutRow>) {
        let updated = self.store.update(self.job, &mut |j| {
            j.rollout = rows.clone();
            Ok(())
        });
        match updated {
            Ok(job) => {
                self.sink.emit(&job, ProgressEvent::Rollout).await;
            }
            Err(e) => tracing::warn!(job = self.job, error = %e, "cannot record rollout progress"),
        }
    }

    /// Adds a line to the job log where the line is not worth failing the step for (the step's
    /// work is done); a failure is logged.
    pub fn note(&self, line: &str) {
        if let Err(e) = self.log(line) {
            tracing::warn!(job = self.job, error = %e, "cannot write the job log");
        }
    }
}
