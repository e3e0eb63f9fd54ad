//! The nodes' upgrade, one node's chain at a time per slot (kubeadm's "Upgrading kubeadm
//! clusters"; k0sctl's and KubeOne's order): the control planes one at a time, the first with
//! `kubeadm upgrade apply`, then the workers in batches. Each node: marked, kubeadm of the new
//! minor, `kubeadm upgrade apply|node`, drained, kubelet and kubectl of the new minor and the
//! kubelet restarted, then Ready on the new minor, uncordoned and unmarked. The scripts about
//! a node that need the API (mark, drain, finish) run on the first control plane.
//!
//! Every script is a checkpoint keyed by the node, so a crash resumes at the script that was
//! running; a node an earlier upgrade finished is skipped. `/cancel` stops at a node boundary
//! (the nodes started finish first); a shutdown stops after the running script, and the node
//! stays cordoned and marked until the job goes on after the restart. A failure stops the
//! upgrade after the batch it happened in: no other node is touched.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{ClusterRun, mark};
use crate::provision::error::ProvisionError;
use crate::provision::exec::{self, HostError};
use crate::provision::scripts::HostScript;
use crate::provision::upgrade::batch_size;
use crate::store::HostState;

/// What one node's upgrade is made of: each script and whether it runs on the node itself
/// (else on the first control plane, through the API).
const LINKS: [(HostScript, bool); 6] = [
    (HostScript::MarkUpgrade, false),
    (HostScript::UpgradeKubeadm, true),
    (HostScript::KubeadmUpgrade, true),
    (HostScript::DrainNode, false),
    (HostScript::UpgradeKubelet, true),
    (HostScript::FinishUpgrade, false),
];

/// How one node's upgrade ended.
enum Ended {
    Done,
    Failed(HostError),
    /// Paused by a shutdown, before the script it would have run next.
    Paused,
}

impl ClusterRun {
    /// Upgrades the control planes (`control_planes`) or the workers.
    pub(super) async fn upgrade_nodes(
        &mut self,
        control_planes: bool,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        let to = self.k8s.clone();
        let now = self.nodes_now().await?;
        let ours: Vec<usize> = (0..self.hosts.len())
            .filter(|&i| self.hosts[i].control_plane == control_planes)
            .collect();
        let mut left = Vec::new();
        for &i in &ours {
            match now.get(&self.node_name(i)) {
                Some(n) if n.done(&to) && !self.started(i)? => {
                    let note = format!("on {}", n.version);
                    self.io.host(i, HostState::Done, Some(note)).await?;
                }
                _ => left.push(i),
            }
        }
        let size = if control_planes {
            1
        } else {
            let s = &self.engine.settings;
            batch_size(ours.len(), s.upgrade_batch_percent, s.parallel_hosts)
        };
        for &i in &left {
            self.io
                .host(i, HostState::Waiting, Some("to upgrade".into()))
                .await?;
        }
        for (b, batch) in left.chunks(size).enumerate() {
            if cancel.is_cancelled() {
                self.note_untouched(&left[b * size..], "not started: cancelled")
                    .await?;
                return Err(ProvisionError::Cancelled);
            }
            if shutdown.is_cancelled() {
                return Err(ProvisionError::Interrupted);
            }
            let this = &*self;
            let ends = futures::future::join_all(
                batch
                    .iter()
                    .map(|&n| async move { (n, this.upgrade_node(n, shutdown).await) }),
            )
            .await;
            let mut failed = Vec::new();
            let mut paused = false;
            for (n, end) in ends {
                match end? {
                    Ended::Done => {}
                    Ended::Failed(e) => {
                        let first = e.reason.lines().next().unwrap_or_default().to_string();
                        self.io.host(n, HostState::Failed, Some(first)).await?;
                        failed.push(e);
                    }
                    Ended::Paused => paused = true,
                }
            }
            if !failed.is_empty() {
                let rest = &left[((b + 1) * size).min(left.len())..];
                self.note_untouched(rest, "not started: the upgrade stopped at a failure")
                    .await?;
                return Err(ProvisionError::Hosts(failed));
            }
            if paused {
                return Err(ProvisionError::Interrupted);
            }
        }
        Ok(())
    }

    /// Whether this job already ran a script of host `i`'s upgrade (a resumed job finishes
    /// the node it was on even when the API server already shows it done).
    fn started(&self, i: usize) -> Result<bool, ProvisionError> {
        let subject = self.hosts[i].target.to_string();
        for (script, _) in LINKS {
            if self.io.marked(&mark(script, &subject))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn note_untouched(&self, hosts: &[usize], why: &str) -> Result<(), ProvisionError> {
        for &i in hosts {
            self.io
                .host(i, HostState::Waiting, Some(why.into()))
                .await?;
        }
        Ok(())
    }

    /// Host `n`'s chain, from the first script this job has not finished.
    async fn upgrade_node(
        &self,
        n: usize,
        shutdown: &CancellationToken,
    ) -> Result<Ended, ProvisionError> {
        let subject = self.hosts[n].target.to_string();
        for (script, on_node) in LINKS {
            let checkpoint = mark(script, &subject);
            if self.io.marked(&checkpoint)? {
                continue;
            }
            if shutdown.is_cancelled() {
                let why = "paused by shutdown: cordoned and marked until the job goes on";
                self.io
                    .host(n, HostState::Waiting, Some(why.into()))
                    .await?;
                return Ok(Ended::Paused);
            }
            let on = if on_node { n } else { 0 };
            let step = script.name().replace('_', " ");
            self.io.host(n, HostState::Running, Some(step)).await?;
            let started = Instant::now();
            let env = self.env_about(on, script, Some(n));
            let result = exec::run(&self.exec(), on, script, env).await;
            let place = if on_node {
                String::new()
            } else {
                format!(" (on {})", self.hosts[0].target)
            };
            self.io.log(&format!(
                "{subject}: {}{place} {} in {:.1} s",
                script.name(),
                if result.is_ok() { "done" } else { "failed" },
                started.elapsed().as_secs_f64()
            ))?;
            if let Err(e) = result {
                let reason = if on_node {
                    e.reason
                } else {
                    format!("on {}: {}", self.hosts[0].target, e.reason)
                };
                return Ok(Ended::Failed(HostError {
                    host: subject,
                    reason,
                }));
            }
            self.io.mark(&checkpoint)?;
        }
        let note = format!("upgraded to {}", self.k8s);
        self.io.host(n, HostState::Done, Some(note)).await?;
        Ok(Ended::Done)
    }
}
