//! What every cluster job shares: settings from the config, how to open connections, and the
//! job's own handle on the store and progress sink.

use std::sync::Arc;
use std::time::Duration;

use super::remote::{Connector, RemoteError};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::store::{HostProgress, HostState, JobId, JobStore, StoreError, now_ms};

/// Pinned flannel release (a release tag of flannel-io/flannel).
pub const FLANNEL_VERSION: &str = "v0.27.4";
/// Pinned Helm release.
pub const HELM_VERSION: &str = "v3.19.0";

/// Provisioning settings, from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Default SSH user.
    pub user: String,
    /// Default SSH port.
    pub port: u16,
    /// Default Kubernetes minor.
    pub k8s: String,
    /// Default pod CIDR.
    pub pod_cidr: String,
    /// Limit of one script run.
    pub command_timeout: Duration,
    /// Hosts worked on at once within a step.
    pub parallel_hosts: usize,
    /// Extra attempts of steps that download (package installs, manifests, Helm).
    pub retries: usize,
    /// Wait before the first retry; doubles each time.
    pub retry_backoff: Duration,
    /// How long nodes may take to become Ready.
    pub nodes_ready_timeout: Duration,
    /// How often node readiness is checked.
    pub poll_interval: Duration,
    /// Extra environment for every script (proxies, PATH additions).
    pub remote_env: Vec<(String, String)>,
    /// flannel release to install.
    pub flannel_version: String,
    /// Helm release to install.
    pub helm_version: String,
}

/// Makes the job's [`Connector`] when a cluster job starts (so a bad key path fails that job
/// with a clear message instead of stopping the bot).
pub type ConnectorFactory = Arc<dyn Fn() -> Result<Arc<dyn Connector>, RemoteError> + Send + Sync>;

/// Settings plus the connector factory, shared by all cluster jobs.
#[derive(Clone)]
pub struct Engine {
    /// Settings.
    pub settings: Settings,
    /// Opens connections.
    pub connect: ConnectorFactory,
}

/// A running job's handle on its record and its room.
#[derive(Clone)]
pub struct Io {
    /// The store.
    pub store: Arc<dyn JobStore>,
    /// Progress.
    pub sink: Arc<dyn ProgressSink>,
    /// The job.
    pub job: JobId,
}

impl Io {
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
}
