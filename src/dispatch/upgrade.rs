//! `/cluster upgrade NAME [k8s=MINOR] [confirm=CODE]`: the plan, the checks that need the
//! registry (one minor up, no downgrade), the confirmation step, then the job.

use super::Dispatcher;
use crate::chat::Incoming;
use crate::command::Command;
use crate::names::{K8sMinor, minor_of_version, next_minor, upgrade_step};
use crate::provision::upgrade;
use crate::store::{ClusterJob, ClusterRecord, JobKind};

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
        let percent = self.config.cluster.upgrade_batch_percent;
        let Some(to) = to else {
            return Some(self.upgrade_plan(name, &record, &from, percent));
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
            upgrade::plan(&record, to, percent)
        ))
    }

    /// What `/cluster upgrade NAME` shows: the version, the next minor and the plan.
    fn upgrade_plan(&self, name: &str, record: &ClusterRecord, from: &str, percent: u8) -> String {
        let now = format!(
            "cluster {name} runs Kubernetes {}{}.",
            record.k8s_version,
            match K8sMinor::parse(from).map(|m| m.end_of_life()) {
                Ok(eol) if !eol.is_empty() => format!(" (upstream support for {from} ends {eol})"),
                _ => format!(" ({from} is past its upstream end of life)"),
            }
        );
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
            upgrade::plan(record, next, percent)
        )
    }
}
