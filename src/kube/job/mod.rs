//! A GE job: its steps and what they share (the cluster's API client, the target release).
//!
//! Steps are idempotent and resumable: what a step applied is first recorded as a pending
//! revision in the ledger, so a step re-run after a crash re-applies the same objects
//! (server-side apply converges) and a resumed `rollout` step goes on watching the revision
//! its job applied.

mod apply;
mod cancel;
mod rollout;
mod uninstall;

use tokio_util::sync::CancellationToken;

use crate::kube::catalogue::def::GeDef;
use crate::kube::catalogue::render::{RenderInput, render};
use crate::kube::client::Cluster;
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::release::{Action, Params, Release, Revision, Status};
use crate::progress::JobIo;
use crate::store::{GeJob, GeStep, GeTarget, Job, now_ms};

/// The steps of a GE job.
pub fn plan(job: &GeJob) -> Vec<GeStep> {
    match job {
        GeJob::Install(..) => vec![
            GeStep::Connect,
            GeStep::Dependencies,
            GeStep::Apply,
            GeStep::Rollout,
        ],
        GeJob::Upgrade(..) | GeJob::Scale(..) | GeJob::Rollback(..) | GeJob::Autoscale(..) => {
            vec![GeStep::Connect, GeStep::Apply, GeStep::Rollout]
        }
        GeJob::Uninstall(..) => vec![GeStep::Connect, GeStep::Uninstall],
    }
}

/// A GE job being worked on.
pub struct GeRun {
    pub(super) layer: KubeLayer,
    pub(super) cluster: Cluster,
    pub(super) target: GeTarget,
    /// What the job asked for.
    pub(super) request: GeJob,
    pub(super) by: String,
    /// The job's record and room.
    pub(super) io: JobIo,
}

impl GeRun {
    /// Prepares a GE job: finds its GE and builds the cluster's API client (no request yet).
    pub async fn new(
        layer: KubeLayer,
        job: &Job,
        request: &GeJob,
        io: JobIo,
    ) -> Result<GeRun, KubeError> {
        let target = request.target().clone();
        if layer.catalogue.get(&target.ge).is_none() {
            return Err(KubeError::Catalogue(format!(
                "{} is not in this bot's catalogue (any more); /ge catalog lists what is",
                target.ge
            )));
        }
        let cluster = layer.cluster(&target.cluster).await?;
        Ok(GeRun {
            cluster,
            target,
            request: request.clone(),
            // The requester as every other message writes them: their id on their platform.
            by: job.requested_by.user.clone(),
            io,
            layer,
        })
    }

    /// Runs one step. `cancel` is the job's `/cancel`: only the rollout step heeds it
    /// mid-way; the others are short and stop at their end.
    pub async fn step(
        &mut self,
        step: GeStep,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), KubeError> {
        match step {
            GeStep::Connect => self.connect().await,
            GeStep::Dependencies => self.dependencies(shutdown).await,
            GeStep::Apply => self.apply().await,
            GeStep::Rollout => self.rollout(shutdown, cancel).await,
            GeStep::Uninstall => self.uninstall().await,
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
        Ok(self.io.log(line)?)
    }

    pub(super) fn load(&self, ge: &str) -> Result<Option<Release>, KubeError> {
        Ok(Release::load(
            &*self.io.store,
            &self.target.cluster,
            &self.target.namespace,
            ge,
        )?)
    }

    pub(super) fn save(&self, release: &mut Release) -> Result<(), KubeError> {
        Ok(release.save(&*self.io.store, self.layer.settings.history_max)?)
    }

    pub(super) async fn set_summary(&self, text: String) -> Result<(), KubeError> {
        Ok(self.io.summary_now(text).await?)
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
        if let Some(r) = release.pending_of(self.io.job) {
            return Ok(r.clone());
        }
        // Given manifests (a rollback's) are a revision's as applied, autoscaling included.
        let manifests = match manifests {
            Some(m) => m,
            None => {
                let mut rendered = render(
                    ge,
                    &RenderInput {
                        namespace: &self.target.namespace,
                        version: &params.version,
                        replicas: params.replicas,
                        expose_nodeport: params.expose_nodeport,
                        params: &params.ge,
                    },
                )
                .map_err(|e| KubeError::Catalogue(e.to_string()))?;
                if let Some(a) = &params.autoscale {
                    crate::kube::autoscale::shape(ge, &mut rendered, a);
                }
                rendered
            }
        };
        let number = release.push(Revision {
            number: 0,
            job: self.io.job,
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
