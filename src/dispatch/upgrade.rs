//! `/cluster upgrade NAME [k8s=MINOR] [confirm=CODE]`: the plan, the checks that need the
//! registry (one minor up, no downgrade), the confirmation step, then the job.

use super::Dispatcher;
use crate::chat::Incoming;
use crate::command::Command;
use crate::names::{K8sMinor, minor_of_version, next_minor, upgrade_step};
use crate::provision::upgrade;
use crate::store::{ClusterJob, ClusterRecord, JobKind, JobState};

impl Dispatcher {
    /// Without `k8s`: the plan, changing nothing. With it: the checks, then a confirmation
    /// code; with the right code, the job.
    pub(super) async fn cluster_upgrade(
        &self,
        msg: &Incoming,
        command: &Command,
        name: &str,
        to: Option<&K8sMinor>,
        confirm: Option<&str>,
    ) -> Option<String> {
        let record = match self.changeable(name) {
            Ok(r) => r,
            Err(reason) => return Some(self.reject(msg, command, reason)),
        };
        let Some(from) = minor_of_version(&record.k8s_version) else {
            return Some(self.reject(
                msg,
                command,
                format!(
                    "cluster {name} has no Kubernetes version on record ({:?}); /cluster status {name} shows what it runs",
                    record.k8s_version
                ),
            ));
        };
        let Some(to) = to else {
            return Some(self.upgrade_plan(name, &record, &from));
        };
        let to = to.as_str();
        if let Err(why) = upgrade_step(&from, to) {
            return Some(self.reject(
                msg,
                command,
                format!(
                    "cluster {name} cannot move to Kubernetes {to}: {why}; nothing was changed"
                ),
            ));
        }
        let target = format!("upgrade {name} {to}");
        let again = format!("/cluster upgrade {name} k8s={to}");
        let issued = match self.confirmation(msg, command, &target, confirm, &again) {
            Ok(issued) => issued,
            Err(refused) => return Some(refused),
        };
        let Some(code) = issued else {
            let kind = JobKind::Cluster(ClusterJob::Upgrade {
                cluster: name.to_string(),
                to: to.to_string(),
            });
            return self.queue(msg, command, Ok(kind)).await;
        };
        Some(format!(
            "upgrading cluster {name} from Kubernetes {} to {to} drains every node in turn (its pods move to the others meanwhile). It checks every node first, changing nothing if one is not fit; then {} To go ahead, type within 10 minutes: /cluster upgrade {name} k8s={to} confirm={code}",
            record.k8s_version,
            self.upgrade_steps(&record, to)
        ))
    }

    /// The newest upgrade job of `name`, when it went for the minor after `from` and stopped
    /// before its end (failed or cancelled): its job number, how it ended and the minor.
    fn stopped_upgrade(&self, name: &str, from: &str) -> Option<(u64, &'static str, String)> {
        let jobs = match self.store.recent(200) {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read recent jobs for the upgrade plan");
                return None;
            }
        };
        let (job, to) = jobs.iter().find_map(|job| match &job.kind {
            JobKind::Cluster(ClusterJob::Upgrade { cluster, to }) if cluster == name => {
                Some((job, to))
            }
            _ => None,
        })?;
        upgrade_step(from, to).ok()?;
        let how = match job.state {
            JobState::Failed { .. } => "failed",
            JobState::Cancelled => "was cancelled",
            _ => return None,
        };
        Some((job.id, how, to.clone()))
    }

    /// What `/cluster upgrade NAME` shows: the version, the next minor and the plan.
    fn upgrade_plan(&self, name: &str, record: &ClusterRecord, from: &str) -> String {
        let now = format!(
            "cluster {name} runs Kubernetes {}{}.",
            record.k8s_version,
            match K8sMinor::parse(from).map(|m| m.end_of_life()) {
                Ok(eol) if !eol.is_empty() => format!(" (upstream support for {from} ends {eol})"),
                _ => format!(" ({from} is past its upstream end of life)"),
            }
        );
        if let Some((id, how, to)) = self.stopped_upgrade(name, from) {
            return format!(
                "{now} Its upgrade to {to} (job #{id}) {how} part-way: the nodes it finished run {to}, a node it was on stays cordoned and marked labkube.io/upgrade-to={to}, the others are as they were (/job {id} says where it stopped). /cluster upgrade {name} k8s={to} goes on from there. Nothing was changed."
            );
        }
        let Some(next) = next_minor(from) else {
            return format!(
                "{now} It runs the newest minor this labkube installs: there is nothing to upgrade to. Nothing was changed."
            );
        };
        let eol = K8sMinor::parse(next)
            .map(|m| m.end_of_life())
            .unwrap_or_default();
        format!(
            "{now} It can move to {next} (supported upstream until {eol}), one minor at a time as kubeadm requires. Such an upgrade checks every node first, then: {} Nothing was changed; to start: /cluster upgrade {name} k8s={next}",
            self.upgrade_steps(record, next)
        )
    }

    /// What an upgrade of `record` to `to` does, with this bot's batch settings.
    fn upgrade_steps(&self, record: &ClusterRecord, to: &str) -> String {
        let c = &self.config.cluster;
        upgrade::plan(record, to, c.upgrade_batch_percent, c.parallel_hosts)
    }
}
