//! The steps that change hosts: a script on every host (with per-host checkpoints) or on the
//! control plane, joining the workers, and resetting every host.

use super::{ClusterRun, mark};
use crate::provision::error::ProvisionError;
use crate::provision::exec::Fanned;
use crate::provision::flow::join::Join;
use crate::provision::scripts::HostScript;
use crate::store::HostState;

impl ClusterRun {
    /// Runs a per-host step on every host that has not finished it (per-host checkpoints).
    pub(super) async fn on_all(&mut self, step: HostScript) -> Result<(), ProvisionError> {
        let mut todo = Vec::new();
        for (i, host) in self.all() {
            if self.io.marked(&mark(step, &host))? {
                self.io
                    .host(i, HostState::Done, Some("already done".into()))
                    .await?;
            } else {
                todo.push((i, host));
            }
        }
        let r = self.run_on(&todo, step, |_, _| Ok(((), None))).await?;
        self.mark_done(step, r)
    }

    /// Records `step`'s checkpoint on every host where it succeeded, or fails with every
    /// host's failure.
    fn mark_done(&self, step: HostScript, r: Fanned<()>) -> Result<(), ProvisionError> {
        for (i, ()) in Self::check(r)? {
            self.io
                .mark(&mark(step, &self.hosts[i].target.to_string()))?;
        }
        Ok(())
    }

    /// Workers first, then the control plane: resetting the control plane wipes etcd, and the
    /// workers' resets should find it still there.
    pub(super) async fn reset_hosts(&mut self) -> Result<(), ProvisionError> {
        let workers: Vec<(usize, String)> = self.all().into_iter().skip(1).collect();
        let r = self
            .run_on(&workers, HostScript::Reset, |_, _| Ok(((), None)))
            .await?;
        Self::check(r)?;
        self.on_control_plane(HostScript::Reset).await
    }

    pub(super) async fn on_control_plane(
        &mut self,
        step: HostScript,
    ) -> Result<(), ProvisionError> {
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let r = self.run_on(&cp, step, |_, _| Ok(((), None))).await?;
        Self::check(r).map(|_| ())
    }

    pub(super) async fn join_workers(&mut self) -> Result<(), ProvisionError> {
        let mut todo = Vec::new();
        let mut converge = Vec::new();
        for (i, host) in self.all().into_iter().skip(1) {
            let joined = self.hosts[i].facts.as_ref().is_some_and(|f| f.joined);
            if self.io.marked(&mark(HostScript::KubeadmJoin, &host))? {
                self.io
                    .host(i, HostState::Done, Some("already joined".into()))
                    .await?;
            } else if joined {
                converge.push((i, host));
            } else {
                todo.push((i, host));
            }
        }
        // A worker that joined earlier gets no token: kubeadm_join only brings its kubelet's
        // settings (--node-ip, serverTLSBootstrap) to what this labkube sets.
        let r = self
            .run_on(&converge, HostScript::KubeadmJoin, |_, _| Ok(((), None)))
            .await?;
        self.mark_done(HostScript::KubeadmJoin, r)?;
        if todo.is_empty() {
            return Ok(());
        }
        // A fresh join command, valid 15 minutes, held only in memory for this step.
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let r = self.run_on(&cp, HostScript::JoinCommand, |_, out| {
            Join::parse(&out.stdout)
                .map(|j| (j, None))
                .ok_or_else(|| "the join command it printed has an unexpected shape (output withheld: it holds a token)".to_string())
        })
        .await?;
        let join = Self::check(r)?.into_iter().next().map(|(_, j)| j);
        let Some(join) = join else {
            return Err(ProvisionError::Other("no join command".into()));
        };
        let r = self
            .run_on_with(&todo, HostScript::KubeadmJoin, join.env(), |_, _| {
                Ok(((), None))
            })
            .await?;
        self.mark_done(HostScript::KubeadmJoin, r)
    }
}
