//! `/cancel` while a GE job watches its rollout. The worker would otherwise honour it only at
//! the next step boundary, after the whole rollout timeout. An upgrade or scale stops and is
//! rolled back to the last good revision (and that rollback is watched to the end: stopping it
//! half-way would leave the release between revisions); an install stops, its revision stays
//! as failed. A rollback is never stopped half-way: the watch of a rollback ignores `/cancel`.

use tokio_util::sync::CancellationToken;

use crate::kube::catalogue::def::GeDef;
use crate::kube::error::KubeError;
use crate::kube::job::GeRun;
use crate::kube::release::{Action, Release, Revision};
use crate::store::now_ms;

/// What the ledger records as the failure of a revision whose rollout was cancelled.
const CANCELLED: &str = "its rollout was cancelled with /cancel";

impl GeRun {
    /// Settles `mine`, whose watch `/cancel` stopped, and ends the job as cancelled with a
    /// summary saying where the release stands.
    pub(super) async fn cancelled(
        &self,
        ge: &GeDef,
        mine: &Revision,
        shutdown: &CancellationToken,
    ) -> Result<(), KubeError> {
        let ns = self.target.namespace.clone();
        let name = &ge.name;
        let mut release = self.load(name)?.ok_or_else(|| {
            KubeError::Refused(format!("{name} vanished from the release ledger"))
        })?;
        release.mark_failed(mine.number, CANCELLED.into(), now_ms());
        self.save(&mut release)?;
        let good = match mine.action {
            Action::Upgrade | Action::Scale => last_good(&release, mine.number),
            _ => None,
        };
        let Some(good) = good else {
            self.log(&format!(
                "revision {} cancelled during its rollout",
                mine.number
            ))?;
            self.set_summary(format!(
                "stopped watching: {name} in {ns} stays as revision {} (failed: {CANCELLED}); /ge status {name} shows its pods, /ge uninstall {name} removes it",
                mine.number
            ))
            .await?;
            return Err(KubeError::Cancelled);
        };
        self.log(&format!(
            "revision {} cancelled during its rollout; rolling back to revision {}",
            mine.number, good.number
        ))?;
        let action = Action::Rollback { to: good.number };
        let back = self
            .roll_back(ge, &mut release, action, &good, mine)
            .await?;
        let watched = self.watch(ge, &back, shutdown, None).await?;
        let mut release = self.load(name)?.unwrap_or(release);
        let text = match watched {
            Ok(summary) => {
                release.mark_deployed(back.number, summary.clone(), now_ms());
                format!(
                    "revision {} stopped and rolled back: {name} in {ns} is back on revision {} ({}): {summary} (recorded as revision {})",
                    mine.number, good.number, back.image, back.number
                )
            }
            Err(reason) => {
                release.mark_failed(back.number, reason.clone(), now_ms());
                format!(
                    "revision {} stopped, and the rollback to revision {} did not roll out either: {reason}; /ge status {name} shows the pods",
                    mine.number, good.number
                )
            }
        };
        self.save(&mut release)?;
        self.set_summary(text).await?;
        Err(KubeError::Cancelled)
    }

    /// Re-applies `good`'s objects as a new revision recorded with `action`, and deletes what
    /// only `from` had.
    pub(super) async fn roll_back(
        &self,
        ge: &GeDef,
        release: &mut Release,
        action: Action,
        good: &Revision,
        from: &Revision,
    ) -> Result<Revision, KubeError> {
        let ns = &self.target.namespace;
        let revision = self.record(
            ge,
            release,
            action,
            good.params.clone(),
            Some(good.manifests.clone()),
        )?;
        self.cluster
            .apply_all(ns, &revision.manifests, revision.number)
            .await?;
        self.cluster
            .prune(ns, &from.manifests, &revision.manifests)
            .await?;
        Ok(revision)
    }
}

/// The newest good revision older than `number`.
pub(super) fn last_good(release: &Release, number: u32) -> Option<Revision> {
    release
        .revisions
        .iter()
        .rev()
        .find(|r| r.number < number && r.status.good())
        .cloned()
}
