//! A GE job: its steps and what they share (the cluster's API client, the target release).
//!
//! Steps are idempotent and resumable: what a step applied is first recorded as a pending
//! revision in the ledger, so a step re-run after a crash re-applies the same objects
//! (server-side apply converges) and a resumed `rollout` step goes on watching the revision
//! its job applied.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::apply::Cluster;
use super::catalogue_def::GeDef;
use super::error::KubeError;
use super::layer::KubeLayer;
use super::release::{Action, Params, Release, Revision, Status};
use super::render::{RenderInput, render};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::store::{GeTarget, Job, JobId, JobKind, JobStore, now_ms};

/// The step names of a GE job kind; `None` for other kinds.
pub fn plan(kind: &JobKind) -> Option<Vec<String>> {
    let names: &[&str] = match kind {
        JobKind::GeInstall(..) => &["connect", "dependencies", "apply", "rollout"],
        JobKind::GeUpgrade(..) | JobKind::GeScale(..) | JobKind::Rollback(..) => {
            &["connect", "apply", "rollout"]
        }
        JobKind::GeUninstall(..) => &["connect", "uninstall"],
        _ => return None,
    };
    Some(names.iter().map(|s| s.to_string()).collect())
}

/// A GE job being worked on.
pub struct GeRun {
    pub(super) layer: KubeLayer,
    pub(super) cluster: Cluster,
    pub(super) target: GeTarget,
    pub(super) kind: JobKind,
    pub(super) job: JobId,
    pub(super) by: String,
    pub(super) store: Arc<dyn JobStore>,
    pub(super) sink: Arc<dyn ProgressSink>,
}

impl GeRun {
    /// Prepares a GE job: finds its GE and builds the cluster's API client (no request yet).
    pub async fn new(
        layer: KubeLayer,
        job: &Job,
        store: Arc<dyn JobStore>,
        sink: Arc<dyn ProgressSink>,
    ) -> Result<GeRun, KubeError> {
        let target = match &job.kind {
            JobKind::GeInstall(t, _)
            | JobKind::GeUpgrade(t, _)
            | JobKind::GeScale(t, _)
            | JobKind::GeUninstall(t, _)
            | JobKind::Rollback(t, _) => t.clone(),
            other => {
                return Err(KubeError::Refused(format!(
                    "{} is not a GE job",
                    other.title()
                )));
            }
        };
        if layer.catalogue.get(&target.ge).is_none() {
            return Err(KubeError::Catalogue(format!(
                "{} is not in this bot's catalogue (any more); /ge catalog lists what is",
                target.ge
            )));
        }
        let client = layer.client(&target.cluster).await?;
        let cluster = Cluster {
            name: target.cluster.clone(),
            client,
            timeout: layer.request_timeout(),
        };
        Ok(GeRun {
            cluster,
            target,
            kind: job.kind.clone(),
            job: job.id,
            by: format!("{}:{}", job.requested_by.platform, job.requested_by.user),
            store,
            sink,
            layer,
        })
    }

    /// Runs step `index` of the plan.
    pub async fn step(
        &mut self,
        index: usize,
        shutdown: &CancellationToken,
    ) -> Result<(), KubeError> {
        let Some(plan) = plan(&self.kind) else {
            return Ok(());
        };
        match plan.get(index).map(String::as_str) {
            Some("connect") => self.connect().await,
            Some("dependencies") => self.dependencies(shutdown).await,
            Some("apply") => self.apply().await,
            Some("rollout") => self.rollout(shutdown).await,
            Some("uninstall") => self.uninstall().await,
            _ => Ok(()),
        }
    }

    /// The catalogue entry of a GE (checked to exist in [`GeRun::new`] for the target).
    pub(super) fn ge(&self, name: &str) -> Result<GeDef, KubeError> {
        self.layer
            .catalogue
            .get(name)
            .cloned()
            .ok_or_else(|| KubeError::Catalogue(format!("{name} is not in this bot's catalogue")))
    }

    pub(super) fn log(&self, line: &str) -> Result<(), KubeError> {
        Ok(self.store.append_log(self.job, line)?)
    }

    pub(super) fn load(&self, ge: &str) -> Result<Option<Release>, KubeError> {
        Ok(Release::load(
            &*self.store,
            &self.target.cluster,
            &self.target.namespace,
            ge,
        )?)
    }

    pub(super) fn save(&self, release: &mut Release) -> Result<(), KubeError> {
        Ok(release.save(&*self.store, self.layer.settings.history_max)?)
    }

    pub(super) async fn set_summary(&self, text: String) -> Result<(), KubeError> {
        let job = self.store.update(self.job, &mut |j| {
            j.summary = Some(text.clone());
            Ok(())
        })?;
        self.sink.emit(&job, ProgressEvent::Rollout).await;
        Ok(())
    }

    async fn connect(&mut self) -> Result<(), KubeError> {
        let version = self.cluster.reachable().await?;
        self.log(&format!(
            "API server of {} answered (Kubernetes {version})",
            self.cluster.name
        ))
    }

    /// Renders `ge` with `params` and records the result as a new pending revision of its
    /// release (or returns the pending revision this job already recorded, on resume).
    pub(super) fn record(
        &self,
        ge: &GeDef,
        release: &mut Release,
        action: Action,
        params: Params,
        manifests: Option<Vec<serde_json::Value>>,
    ) -> Result<Revision, KubeError> {
        if let Some(r) = release.pending_of(self.job) {
            return Ok(r.clone());
        }
        let manifests = match manifests {
            Some(m) => m,
            None => render(
                ge,
                &RenderInput {
                    namespace: &self.target.namespace,
                    version: &params.version,
                    replicas: params.replicas,
                    expose_nodeport: params.expose_nodeport,
                },
            )
            .map_err(|e| KubeError::Catalogue(e.to_string()))?,
        };
        let number = release.push(Revision {
            number: 0,
            job: self.job,
            by: self.by.clone(),
            at_ms: now_ms(),
            action,
            image: ge.image_ref(&params.version),
            params,
            manifests,
            status: Status::Pending,
            finished_ms: None,
            summary: None,
        });
        self.save(release)?;
        release
            .revision(number)
            .cloned()
            .ok_or_else(|| KubeError::Refused(format!("revision {number} vanished")))
    }
}
