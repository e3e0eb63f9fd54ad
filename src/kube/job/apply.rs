//! The steps that change a cluster: installing missing dependencies, and applying the new
//! revision of an install, upgrade, scale or rollback.

use tokio_util::sync::CancellationToken;

use crate::kube::error::KubeError;
use crate::kube::job::GeRun;
use crate::kube::precheck;
use crate::kube::release::{Action, Params, Release, Revision};
use crate::store::GeJob;

impl GeRun {
    /// Installs the GE's missing dependencies, each as its own release, one after the other,
    /// waiting for each to roll out; dependencies already installed in the namespace are
    /// reused. An install that would keep data on a cluster without a default StorageClass is
    /// refused first (the dispatcher asked too, but the cluster may have changed since).
    pub(super) async fn dependencies(
        &mut self,
        shutdown: &CancellationToken,
    ) -> Result<(), KubeError> {
        let params = match &self.request {
            GeJob::Install(_, spec) => spec.params.clone(),
            _ => Default::default(),
        };
        if matches!(self.request, GeJob::Install(..)) {
            crate::kube::storage::check_install(&self.layer, &self.target, &params).await?;
        }
        let order: Vec<String> = self
            .layer
            .catalogue
            .install_order_with(&self.target.ge, &params)
            .iter()
            .map(|g| g.name.clone())
            .filter(|n| n != &self.target.ge)
            .collect();
        if order.is_empty() {
            return Ok(());
        }
        self.cluster
            .ensure_namespace(&self.target.namespace)
            .await?;
        for name in order {
            let dep = self.ge(&name)?;
            let mut release = self.load(&name)?.unwrap_or_else(|| {
                Release::new(&self.target.cluster, &self.target.namespace, &name)
            });
            if release.pending_of(self.io.job).is_none()
                && let Some(good) = release.revisions.iter().rev().find(|r| r.status.good())
            {
                self.log(&format!(
                    "reusing {name} (revision {}, {}) already installed in {}",
                    good.number, good.image, self.target.namespace
                ))?;
                continue;
            }
            let resumed = release.pending_of(self.io.job).is_some();
            self.cluster
                .ensure_secrets(&self.target.namespace, &dep)
                .await?;
            let params = Params {
                version: dep.default_version.clone(),
                replicas: dep.replicas.default,
                expose_nodeport: false,
                ge: Default::default(),
                autoscale: None,
            };
            let action = Action::Dependency {
                of: self.target.ge.clone(),
            };
            let revision = self.record(&dep, &mut release, action, params, None)?;
            self.log(&format!(
                "installing dependency {name} ({}) as revision {}",
                revision.image, revision.number
            ))?;
            self.apply_once(&name, &revision, resumed).await?;
            let done = self.watch(&dep, &revision, shutdown, None).await?;
            let mut release = self.load(&name)?.unwrap_or(release);
            match done {
                Ok(summary) => {
                    release.mark_deployed(revision.number, summary.clone(), crate::store::now_ms());
                    self.save(&mut release)?;
                    self.log(&format!("dependency {name} rolled out: {summary}"))?;
                }
                Err(reason) => {
                    release.mark_failed(revision.number, reason.clone(), crate::store::now_ms());
                    self.save(&mut release)?;
                    return Err(KubeError::Rollout(format!(
                        "dependency {name} did not roll out: {reason}; {} was not applied",
                        self.target.ge
                    )));
                }
            }
        }
        Ok(())
    }

    /// Records and applies the job's new revision.
    pub(super) async fn apply(&mut self) -> Result<(), KubeError> {
        let ge = self.ge(&self.target.ge)?;
        let ns = self.target.namespace.clone();
        let existing = self.load(&ge.name)?;
        let mut release = existing
            .clone()
            .unwrap_or_else(|| Release::new(&self.target.cluster, &ns, &ge.name));
        if let Some(r) = release.pending_of(self.io.job).cloned() {
            // Resumed: the revision was recorded (and perhaps applied) before the restart.
            return self.apply_revision(&release, &r, true).await;
        }
        // The dispatcher checked before queueing; the ledger may have moved since.
        precheck::check(&self.request, &ge, existing.as_ref(), &[])?;
        let current = release.deployed().cloned();
        let (action, params, manifests) = match &self.request {
            GeJob::Install(_, spec) => {
                let params = Params {
                    version: spec.version.clone().unwrap_or(ge.default_version.clone()),
                    replicas: spec.replicas.unwrap_or(ge.replicas.default),
                    expose_nodeport: spec.expose_nodeport,
                    ge: spec.params.clone(),
                    autoscale: None,
                };
                (Action::Install, params, None)
            }
            GeJob::Upgrade(_, version) => {
                let base = self.base(&release, current.as_ref())?;
                let params = Params {
                    version: version.clone(),
                    ..base.params
                };
                (Action::Upgrade, params, None)
            }
            GeJob::Scale(_, replicas) => {
                let base = self.base(&release, current.as_ref())?;
                let params = Params {
                    replicas: *replicas,
                    ..base.params
                };
                (Action::Scale, params, None)
            }
            GeJob::Autoscale(_, setting) => {
                let base = self.base(&release, current.as_ref())?;
                if setting.is_some() {
                    crate::kube::autoscale::check_metrics(&self.cluster).await?;
                }
                // Off: the pods there are stay (within the catalogue's bounds).
                let replicas = match setting {
                    Some(_) => base.params.replicas,
                    None => crate::kube::autoscale::live_replicas(&self.cluster, &ns, &ge.name)
                        .await?
                        .unwrap_or(base.params.replicas)
                        .clamp(ge.replicas.min, ge.replicas.max),
                };
                let params = Params {
                    replicas,
                    autoscale: *setting,
                    ..base.params
                };
                let action = if setting.is_some() {
                    Action::Autoscale
                } else {
                    Action::AutoscaleOff
                };
                (action, params, None)
            }
            GeJob::Rollback(_, to) => {
                let chosen = crate::kube::rollback::choose(&release, *to, &ns)?;
                if let Some(c) = release.live()
                    && c.manifests == chosen.manifests
                {
                    // kubectl rollout undo: "skipped rollback (current template already
                    // matches revision N)". Nothing is applied.
                    self.set_summary(format!(
                        "{} in {ns} already runs what revision {} had ({}); nothing was changed",
                        ge.name, chosen.number, chosen.image
                    ))
                    .await?;
                    return Ok(());
                }
                (
                    Action::Rollback { to: chosen.number },
                    chosen.params.clone(),
                    Some(chosen.manifests.clone()),
                )
            }
            GeJob::Uninstall(..) => {
                return Err(KubeError::Refused(format!(
                    "{} has no apply step",
                    self.request.title()
                )));
            }
        };
        self.cluster.ensure_namespace(&ns).await?;
        self.cluster.ensure_secrets(&ns, &ge).await?;
        let revision = self.record(&ge, &mut release, action, params, manifests)?;
        self.log(&format!(
            "applying revision {} of {} ({}, {} replicas)",
            revision.number, ge.name, revision.image, revision.params.replicas
        ))?;
        let applied = self.apply_revision(&release, &revision, false).await;
        if let Err(KubeError::Refused(reason)) = &applied {
            // The dry run refused it: nothing was applied, and the revision is never watched.
            let mut release = self.load(&ge.name)?.unwrap_or(release);
            release.mark_failed(revision.number, reason.clone(), crate::store::now_ms());
            self.save(&mut release)?;
        }
        applied
    }

    /// Applies `revision` of `ge`, unless the job resumed after a restart and the cluster
    /// already carries it (the crash came after the apply): a revision is applied once.
    async fn apply_once(
        &self,
        ge: &str,
        revision: &Revision,
        resumed: bool,
    ) -> Result<(), KubeError> {
        let ns = &self.target.namespace;
        if resumed
            && self
                .cluster
                .carries(ns, &revision.manifests, revision.number)
                .await?
        {
            self.log(&format!(
                "revision {} of {ge} reached the cluster before the restart; not applied again",
                revision.number
            ))?;
            return Ok(());
        }
        if revision.params.autoscale.is_some() {
            crate::kube::autoscale::hand_over(&self.cluster, ns, ge).await?;
        }
        self.cluster
            .apply_all(ns, &revision.manifests, revision.number)
            .await
    }

    /// Applies a recorded revision (once: see [`GeRun::apply_once`]) and prunes what the
    /// deployed one had that it lacks.
    async fn apply_revision(
        &self,
        release: &Release,
        revision: &Revision,
        resumed: bool,
    ) -> Result<(), KubeError> {
        let ns = &self.target.namespace;
        self.apply_once(&self.target.ge, revision, resumed).await?;
        if let Some(current) = release.live().filter(|r| r.number != revision.number) {
            let pruned = self
                .cluster
                .prune(ns, &current.manifests, &revision.manifests)
                .await?;
            if pruned > 0 {
                self.log(&format!(
                    "removed {pruned} object(s) revision {} no longer has",
                    revision.number
                ))?;
            }
        }
        Ok(())
    }

    /// The revision an upgrade or scale starts from: the deployed one, or after a failed
    /// upgrade the newest good one.
    fn base(&self, release: &Release, current: Option<&Revision>) -> Result<Revision, KubeError> {
        current
            .or_else(|| release.revisions.iter().rev().find(|r| r.status.good()))
            .or(release.latest())
            .cloned()
            .ok_or_else(|| precheck::not_installed(&self.target))
    }
}
