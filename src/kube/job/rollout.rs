//! The `rollout` step: watch the revision the job applied until it is rolled out as
//! `kubectl rollout status` decides, fail it on a stuck pod, a progress deadline or the
//! timeout, and roll a failed upgrade back to the last good revision on its own.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::kube::catalogue::def::GeDef;
use crate::kube::error::KubeError;
use crate::kube::job::GeRun;
use crate::kube::job::cancel::last_good;
use crate::kube::release::{Action, Release, Revision, Status};
use crate::kube::status::RolloutState;
use crate::kube::status::warnings::recent_warnings;
use crate::kube::watch::{WaitError, WaitOutcome, WaitSpec, wait_rollout};
use crate::store::{RolloutRow, now_ms};

/// How many of the cluster's events a failure reply quotes.
const WARNINGS_SHOWN: usize = 3;

/// Where a failure reason's quote of the cluster's events begins.
const WARNINGS_HEAD: &str = "\nthe cluster's newest warnings:";

/// A failure reason split into labkube's verdict and the quoted events (empty when none).
fn split_warnings(reason: &str) -> (&str, &str) {
    reason
        .find(WARNINGS_HEAD)
        .map_or((reason, ""), |i| reason.split_at(i))
}

/// How a watched revision ended: `Ok(summary)` rolled out, `Err(reason)` failed.
pub(super) type Watched = Result<String, String>;

impl GeRun {
    /// Watches the job's pending revision (resuming the watch after a restart) and settles
    /// the ledger; on a failed upgrade or scale, rolls back automatically when configured.
    pub(super) async fn rollout(
        &mut self,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), KubeError> {
        let ge = self.ge(&self.target.ge)?;
        // At most: watch the revision, settle its failure by applying an automatic rollback,
        // watch that, report; each pass moves the ledger on, so a few passes always suffice.
        for _ in 0..6 {
            let release = self.load(&ge.name)?.ok_or_else(|| {
                KubeError::Refused(format!(
                    "{} vanished from the release ledger during the job",
                    ge.name
                ))
            })?;
            let Some(mine) = release
                .revisions
                .iter()
                .rev()
                .find(|r| r.job == self.io.job)
                .cloned()
            else {
                // The apply step changed nothing (a rollback to identical objects).
                return Ok(());
            };
            match &mine.status {
                Status::Pending => {
                    // A rollback is watched to the end; anything else stops on /cancel.
                    let cancellable = !matches!(
                        mine.action,
                        Action::Rollback { .. } | Action::AutoRollback { .. }
                    );
                    let watched = match self
                        .watch(&ge, &mine, shutdown, cancellable.then_some(cancel))
                        .await
                    {
                        Err(KubeError::Cancelled) => {
                            return self.cancelled(&ge, &mine, shutdown).await;
                        }
                        other => other?,
                    };
                    let mut release = self.load(&ge.name)?.unwrap_or(release);
                    match watched {
                        Ok(summary) => release.mark_deployed(mine.number, summary, now_ms()),
                        Err(reason) => release.mark_failed(mine.number, reason, now_ms()),
                    }
                    self.save(&mut release)?;
                }
                Status::Deployed | Status::Superseded => {
                    return self.succeeded(&ge, &release, &mine).await;
                }
                // Either an automatic rollback was applied (watched next time round) or
                // the failure is reported.
                Status::Failed { reason } => {
                    self.failed(&ge, release.clone(), &mine, reason).await?;
                }
            }
        }
        Err(KubeError::Rollout(format!(
            "the rollout of {} did not settle",
            ge.name
        )))
    }

    /// The job's revision rolled out: the summary for the room.
    async fn succeeded(
        &self,
        ge: &GeDef,
        release: &Release,
        mine: &Revision,
    ) -> Result<(), KubeError> {
        let ns = &self.target.namespace;
        let how = mine.summary.clone().unwrap_or_default();
        let endpoints = self
            .cluster
            .endpoints(ns, &ge.name)
            .await
            .unwrap_or_default();
        let endpoints = if endpoints.is_empty() {
            String::new()
        } else {
            format!("\nendpoints: {}", endpoints.join(", "))
        };
        let text = match &mine.action {
            Action::Install | Action::Dependency { .. } => format!(
                "{} {} is running in {ns} on {} (revision {}, {}): {how}{endpoints}{}",
                ge.name,
                mine.params.version,
                self.target.cluster,
                mine.number,
                mine.image,
                ge.limitation
                    .as_ref()
                    .map(|l| format!("\nnot here: {l}"))
                    .unwrap_or_default()
            ),
            Action::Upgrade => format!(
                "{} in {ns} upgraded to {} (revision {}, {}): {how}{endpoints}",
                ge.name, mine.params.version, mine.number, mine.image
            ),
            Action::Scale => format!(
                "{} in {ns} scaled to {} replicas (revision {}): {how}",
                ge.name, mine.params.replicas, mine.number
            ),
            Action::Autoscale => format!(
                "{} in {ns} is autoscaled from {} (revision {}): {how}; /ge status {} shows what the autoscaler does",
                ge.name,
                mine.params
                    .autoscale
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                mine.number,
                ge.name
            ),
            Action::AutoscaleOff => format!(
                "{} in {ns} is no longer autoscaled and keeps {} replicas (revision {}): {how}",
                ge.name, mine.params.replicas, mine.number
            ),
            Action::Rollback { to } => format!(
                "{} in {ns} rolled back to revision {to} ({}): {how} (recorded as revision {})",
                ge.name, mine.image, mine.number
            ),
            Action::AutoRollback { to, failed } => {
                let why = release
                    .revision(*failed)
                    .and_then(|r| match &r.status {
                        Status::Failed { reason } => Some(reason.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "its rollout failed".into());
                let (why, heard) = split_warnings(&why);
                return Err(KubeError::Rollout(format!(
                    "revision {failed} of {} failed: {why}. Rolled back automatically: {} in {ns} is back on revision {to} ({}): {how} (recorded as revision {}){heard}",
                    ge.name, ge.name, mine.image, mine.number
                )));
            }
        };
        self.set_summary(text).await
    }

    /// The job's revision failed: roll back on our own if allowed, else report.
    async fn failed(
        &self,
        ge: &GeDef,
        mut release: Release,
        mine: &Revision,
        reason: &str,
    ) -> Result<(), KubeError> {
        let ns = self.target.namespace.clone();
        // The cluster's own words go last, after what labkube did and what the user can do.
        let (reason, heard) = split_warnings(reason);
        match &mine.action {
            Action::AutoRollback { to, failed } => Err(KubeError::Rollout(format!(
                "revision {failed} of {} failed, and the automatic rollback to revision {to} failed too: {reason}; /ge status {} shows the pods{heard}",
                ge.name, ge.name
            ))),
            Action::Upgrade | Action::Scale if self.layer.settings.auto_rollback => {
                let Some(good) = last_good(&release, mine.number) else {
                    return Err(KubeError::Rollout(format!(
                        "{} in {ns} did not roll out: {reason}; there is no good revision to roll back to{heard}",
                        ge.name
                    )));
                };
                self.log(&format!(
                    "revision {} failed ({reason}); rolling back to revision {}",
                    mine.number, good.number
                ))?;
                let action = Action::AutoRollback {
                    to: good.number,
                    failed: mine.number,
                };
                self.roll_back(ge, &mut release, action, &good, mine)
                    .await?;
                // The loop in `rollout` now watches the rollback revision.
                Ok(())
            }
            Action::Upgrade | Action::Scale => Err(KubeError::Rollout(format!(
                "{} in {ns} did not roll out: {reason}; automatic rollback is off, /rollback {} returns it to revision {}{heard}",
                ge.name,
                ge.name,
                release.previous_good().map(|r| r.number).unwrap_or(0)
            ))),
            _ => Err(KubeError::Rollout(format!(
                "{} in {ns} did not roll out: {reason}. It stays as revision {} (failed); /ge status {} shows its pods, /ge uninstall {} removes it{heard}",
                ge.name, mine.number, ge.name, ge.name
            ))),
        }
    }

    /// Watches one revision of `ge` until it rolls out or fails, showing per-workload
    /// progress in the job's live message. `Err` only for API and shutdown problems, and
    /// [`KubeError::Cancelled`] when `cancel` is given and fires.
    pub(super) async fn watch(
        &self,
        ge: &GeDef,
        revision: &Revision,
        shutdown: &CancellationToken,
        cancel: Option<&CancellationToken>,
    ) -> Result<Watched, KubeError> {
        let settings = &self.layer.settings;
        let timeout = settings
            .rollout_timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(ge.rollout_timeout);
        let spec = WaitSpec {
            namespace: self.target.namespace.clone(),
            workloads: ge.workloads.clone(),
            pod_selector: format!("{}={}", crate::kube::client::INSTANCE, ge.name),
            timeout,
            failure_grace: Duration::from_secs(settings.failure_grace_secs),
            unreachable_after: Duration::from_secs(settings.unreachable_secs),
        };
        self.log(&format!(
            "watching the rollout of {} revision {} (timeout {} s)",
            ge.name,
            revision.number,
            timeout.as_secs()
        ))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<RolloutRow>>();
        let on_progress = move |states: &[RolloutState]| {
            // The receiver lives until the wait ends; a send after that is moot.
            let _ = tx.send(states.iter().map(row).collect());
        };
        let forward = async {
            while let Some(rows) = rx.recv().await {
                self.io.rollout(rows).await;
            }
        };
        let wait = wait_rollout(
            self.cluster.client.clone(),
            &spec,
            on_progress,
            shutdown.child_token(),
        );
        let cancelled = async {
            match cancel {
                Some(c) => c.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let wait = async {
            tokio::select! {
                biased;
                () = cancelled => None,
                outcome = wait => Some(outcome),
            }
        };
        let (outcome, ()) = futures::future::join(wait, forward).await;
        let Some(outcome) = outcome else {
            return Err(KubeError::Cancelled);
        };
        match outcome {
            Ok(WaitOutcome::Done {
                states,
                elapsed,
                replaced,
            }) => {
                let mut summary = ready_summary(&states, elapsed);
                if !replaced.is_empty() {
                    summary.push_str(&format!(
                        ", after replacing {} (not Ready, of an older revision, which a StatefulSet never replaces on its own)",
                        replaced.join(", ")
                    ));
                }
                Ok(Ok(summary))
            }
            Ok(WaitOutcome::Failed { reason, .. }) => {
                Ok(Err(self.with_warnings(reason.to_string(), &spec).await))
            }
            Err(WaitError::Cancelled) => Err(KubeError::Interrupted),
            Err(e) => Err(KubeError::Rollout(format!(
                "watching the rollout of {} on {}: {e}",
                ge.name, self.cluster.name
            ))),
        }
    }
}

impl GeRun {
    /// `reason`, followed by what the cluster said about the release's pods, workloads and
    /// claims that `reason` does not already say. Best effort: without an answer in time,
    /// `reason` alone.
    async fn with_warnings(&self, reason: String, spec: &WaitSpec) -> String {
        let ask = recent_warnings(
            &self.cluster.client,
            &spec.namespace,
            &spec.pod_selector,
            &spec.workloads,
            WARNINGS_SHOWN,
        );
        let lines = match tokio::time::timeout(spec.unreachable_after, ask).await {
            Ok(Ok(lines)) => lines,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not read the events of a failed rollout");
                Vec::new()
            }
            Err(_) => Vec::new(),
        };
        // Each retry of a controller names a new pod: compare without the quoted names.
        let named = unquoted(&reason);
        let new: Vec<String> = lines
            .into_iter()
            .filter(|l| {
                // Messages are clipped at different lengths: compare their beginnings.
                let said = l.split_once(": ").map_or(l.as_str(), |(_, m)| m);
                // The kubelet's "Error: ImagePullBackOff" only repeats a reason already named.
                let said = said.strip_prefix("Error: ").unwrap_or(said);
                // A controller's FailedCreate repeats the refusal a CannotCreate names.
                let said = said.strip_prefix("Error creating: ").unwrap_or(said);
                let start: String = unquoted(said).chars().take(60).collect();
                !named.contains(&start)
            })
            .collect();
        if new.is_empty() {
            return reason;
        }
        format!("{reason}{WARNINGS_HEAD}\n  {}", new.join("\n  "))
    }
}

/// `text` with what stands between double quotes left out (`pods "" is forbidden`).
fn unquoted(text: &str) -> String {
    text.split('"').step_by(2).collect::<Vec<_>>().join("\"\"")
}

fn row(s: &RolloutState) -> RolloutRow {
    RolloutRow {
        workload: s.workload.to_string(),
        desired: s.desired,
        updated: s.updated,
        ready: s.ready,
        available: s.available,
        done: s.done,
        waiting_for: s.waiting_for.clone(),
        stale: s.stale,
    }
}

/// `2/2 pods ready in 12 s`.
fn ready_summary(states: &[RolloutState], elapsed: Duration) -> String {
    let ready: u32 = states.iter().map(|s| s.ready).sum();
    let desired: u32 = states.iter().map(|s| s.desired).sum();
    let secs = elapsed.as_secs_f64();
    let took = if secs < 10.0 {
        format!("{secs:.1} s")
    } else {
        format!("{} s", elapsed.as_secs())
    };
    format!("{ready}/{desired} pods ready in {took}")
}
