//! Commands that create or cancel jobs.

use super::{Dispatcher, INTERNAL};
use crate::chat::{Button, Incoming};
use crate::command::{ClusterArgs, Command};
use crate::jobs::CancelOutcome;
use crate::store::claims::{ClaimKey, Conflict};
use crate::store::{
    AuditOutcome, ClusterJob, ClusterSpec, Enqueued, GeStep, JobKind, JobState, NewJob, Origin,
    Requester, Step, StoreError,
};

/// Added to the acknowledgement of a job that was committed but not flushed to disk.
const UNCONFIRMED: &str = ". Not yet confirmed on disk: labkube's disk sync failed (details \
                           are in its log). The job will run, but if labkube stops before its \
                           disk recovers, the job may be lost: check /jobs after a restart.";

impl Dispatcher {
    /// Turns a job-creating command into a durable job and acknowledges it (only after the
    /// store has flushed it, or saying that the flush failed for a job that will still run); `kind` is the job it asks for, or why it is refused. Returns a
    /// reply still to send, if any.
    pub(super) async fn queue(
        &self,
        msg: &Incoming,
        command: &Command,
        kind: Result<JobKind, String>,
    ) -> Option<String> {
        let kind = match kind {
            Ok(kind) => kind,
            Err(reason) => return Some(self.reject(msg, command, reason)),
        };
        if let Some(reason) = self.room_full(msg) {
            return Some(self.reject(msg, command, reason));
        }
        let new = NewJob {
            plan: crate::jobs::plan(&kind),
            kind,
            requested_by: Requester {
                platform: msg.platform.clone(),
                user: msg.sender.clone(),
            },
            origin: Origin {
                platform: msg.platform.clone(),
                room: msg.room.clone(),
                event_id: msg.event_id.clone(),
            },
            command_text: command.redacted(),
        };
        let key = new.origin.dedupe_key();
        let (job, confirmed) = match self.store.enqueue(new, &key) {
            Ok(Enqueued::New(job)) => (job, true),
            Ok(Enqueued::Unconfirmed(job)) => (job, false),
            Ok(Enqueued::Duplicate(job)) => {
                return Some(format!(
                    "this message was already handled: it queued job #{} ({}), which is {}",
                    job.id,
                    job.kind.title(),
                    job.state.word()
                ));
            }
            Err(StoreError::Claimed(conflicts)) => {
                let reason = claims_reply(&conflicts);
                return Some(self.reject(msg, command, reason));
            }
            Err(e @ (StoreError::Unavailable { .. } | StoreError::Deposed)) => {
                tracing::error!(error = %e, "cannot store a job");
                return Some(super::store_trouble(&e));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot store a job");
                return Some(format!(
                    "{INTERNAL}: the job could not be stored, so it was not queued"
                ));
            }
        };
        // The store wrote the audit entry with the job, in the same transaction.
        let mut ack = format!(
            "queued job #{}: {} (/job {} for details, /cancel {} to stop it)",
            job.id,
            job.kind.title(),
            job.id,
            job.id
        );
        if !confirmed {
            ack.push_str(UNCONFIRMED);
        }
        let sent = self
            .chat
            .reply_with_buttons(
                &msg.platform,
                &msg.room,
                &msg.event_id,
                &ack,
                &[Button::cancel(job.id)],
            )
            .await;
        match sent {
            Ok(m) => {
                // Kept with the job, so a job resumed after a restart edits the same message.
                // A job that already finished needs it no more (the store refuses the change).
                let kept = self.store.update(job.id, &mut |j| {
                    j.live_message = Some(m.clone());
                    Ok(())
                });
                if let Err(e) = kept {
                    tracing::debug!(job = job.id, error = %e, "the acknowledgement is not kept");
                }
                self.progress.attach(&job, m).await;
            }
            Err(e) => tracing::warn!(job = job.id, error = %e, "cannot acknowledge a queued job"),
        }
        self.worker.wake();
        None
    }

    /// The cluster job of `/cluster create` or `/cluster plan`, with the checks that need the
    /// config. A plan, or a create with `dry-run`, connects and checks, changing nothing.
    pub(super) fn cluster_job(
        &self,
        command: &Command,
        args: &ClusterArgs,
        dry_run: bool,
    ) -> Result<JobKind, String> {
        let verb = command.path();
        let min = self.config.limits.min_cluster_hosts;
        if args.hosts.len() < min {
            return Err(format!(
                "/{verb} needs at least {min} hosts (the first is the control plane, the rest workers); got {}",
                args.hosts.len()
            ));
        }
        let control_planes = args.control_planes.unwrap_or(1);
        if usize::from(control_planes) > args.hosts.len() {
            return Err(format!(
                "control-planes={control_planes} needs at least {control_planes} addresses (the first {control_planes} become the control planes); got {}",
                args.hosts.len()
            ));
        }
        self.config.ssh.refuse_any(&args.hosts)?;
        if let Some(vip) = args.endpoint {
            let pods = args
                .pod_cidr
                .as_ref()
                .map_or(self.config.cluster.pod_cidr.clone(), ToString::to_string);
            let services = crate::provision::scripts::service_cidr(&pods);
            crate::names::endpoint::check(vip, &args.hosts, &[&pods, &services])?;
        }
        let name = match &args.name {
            Some(n) => n.to_string(),
            None => self.next_cluster_name().map_err(|e| {
                tracing::error!(error = %e, "cannot list clusters");
                INTERNAL.to_string()
            })?,
        };
        if self.config.clusters.iter().any(|c| c.name == name) {
            return Err(format!(
                "cluster {name} is declared in the config; choose another name= for a new cluster"
            ));
        }
        let spec = ClusterSpec {
            name,
            hosts: args.hosts.clone(),
            user: args.user.as_ref().map(ToString::to_string),
            port: args.port,
            k8s: args.k8s.as_ref().map(ToString::to_string),
            pod_cidr: args.pod_cidr.as_ref().map(ToString::to_string),
            control_planes: args.control_planes.filter(|n| *n > 1),
            endpoint: args.endpoint.map(crate::names::host_addr),
        };
        Ok(JobKind::Cluster(if dry_run || args.dry_run {
            ClusterJob::Plan(spec)
        } else {
            ClusterJob::Create(spec)
        }))
    }

    /// `lab-N` with the lowest N not registered, reserved or declared.
    fn next_cluster_name(&self) -> Result<String, StoreError> {
        let taken: Vec<String> = self
            .store
            .claims()?
            .into_iter()
            .filter_map(|(key, _)| match key {
                ClaimKey::Name(n) => Some(n),
                ClaimKey::Host(_) => None,
            })
            .chain(self.store.clusters()?.into_iter().map(|c| c.name))
            .chain(self.config.clusters.iter().map(|c| c.name.clone()))
            .collect();
        let n = (1..)
            .find(|n| !taken.contains(&format!("lab-{n}")))
            .unwrap_or(1);
        Ok(format!("lab-{n}"))
    }

    /// `/cancel <id>`.
    pub(super) async fn cancel(&self, msg: &Incoming, command: &Command, id: u64) -> String {
        let by = Requester {
            platform: msg.platform.clone(),
            user: msg.sender.clone(),
        };
        match self.worker.cancel(id, &by).await {
            Ok(CancelOutcome::Cancelled(job)) => {
                self.audit(msg, command.redacted(), AuditOutcome::Done);
                format!(
                    "cancelled job #{} ({}) before it started; nothing was done",
                    job.id,
                    job.kind.title()
                )
            }
            Ok(CancelOutcome::WillStop(job)) => {
                self.audit(msg, command.redacted(), AuditOutcome::Done);
                let done = match (job.steps.len(), job.plan.len()) {
                    (0, _) => "no step has finished yet".to_string(),
                    (d, t) => format!("{d}/{t} steps are done so far"),
                };
                let in_rollout = matches!(job.state, JobState::Running { step }
                    if job.plan.get(step) == Some(&Step::Ge(GeStep::Rollout)));
                if in_rollout {
                    return format!(
                        "job #{} ({}) stops watching its rollout now; an upgrade or scale is first rolled back to its last good revision, a rollback is watched to its end",
                        job.id,
                        job.kind.title()
                    );
                }
                format!(
                    "job #{} ({}) stops after its current step; {done}",
                    job.id,
                    job.kind.title()
                )
            }
            Ok(CancelOutcome::AlreadyFinished(job)) => {
                format!(
                    "job #{} already {}; nothing to cancel",
                    job.id,
                    job.state.word()
                )
            }
            Err(crate::jobs::WorkerError::Store(StoreError::NoSuchJob(_))) => {
                format!("there is no job #{id}; /jobs lists the active ones")
            }
            Err(e) => {
                tracing::error!(error = %e, "cancel failed");
                INTERNAL.to_string()
            }
        }
    }
}

/// Why a create or plan cannot have its name or hosts, worded for the asking room: what its
/// own clusters and jobs hold is named, another room's holdings are not.
fn claims_reply(conflicts: &[Conflict]) -> String {
    let lines: Vec<String> = conflicts
        .iter()
        .map(|c| {
            let held = &c.held;
            match (&c.key, c.ours, held.job) {
                (ClaimKey::Name(n), true, Some(job)) => {
                    format!("cluster {n} is already being created by job #{job} (/job {job})")
                }
                (ClaimKey::Name(n), _, _) => {
                    format!("the name {n} belongs to another room's cluster; choose another name=")
                }
                (ClaimKey::Host(a), true, Some(job)) if !held.registered => {
                    format!(
                        "{a} is being set up for cluster {} by job #{job}",
                        held.cluster
                    )
                }
                (ClaimKey::Host(a), true, _) => format!(
                    "{a} is already a node of this room's cluster {} (/cluster delete {} frees it)",
                    held.cluster, held.cluster
                ),
                (ClaimKey::Host(a), false, _) => {
                    format!("{a} belongs to a cluster of another room")
                }
            }
        })
        .collect();
    format!(
        "{}; a host belongs to one cluster at a time and a name to one room, so nothing was queued",
        lines.join("; ")
    )
}
