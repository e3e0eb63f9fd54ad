//! The steps that change hosts: a script on every host or every worker (with per-host
//! checkpoints) or on the first control plane, joining the other control planes and the
//! workers, and resetting every host.

use super::{ClusterRun, mark};
use crate::provision::error::ProvisionError;
use crate::provision::exec::{self, Fanned, HostError};
use crate::provision::flow::join::Join;
use crate::provision::scripts::HostScript;
use crate::store::HostState;

impl ClusterRun {
    /// Runs a per-host step on every host this job sets up that has not finished it
    /// (per-host checkpoints).
    pub(super) async fn on_all(&mut self, step: HostScript) -> Result<(), ProvisionError> {
        let all = self
            .all()
            .into_iter()
            .filter(|(i, _)| self.hosts[*i].provision)
            .collect();
        let todo = self.not_marked(step, all, "already done").await?;
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

    /// Every worker's local proxy, pointed at the control planes the cluster will have, when
    /// it has several (a node add that makes a cluster of one HA also updates the workers it
    /// had) or had (a control plane leaving is dropped from them); with one control plane,
    /// workers reach it directly and nothing is done.
    pub(super) async fn api_proxies(&mut self) -> Result<(), ProvisionError> {
        // With a control plane leaving, counted too: its workers have a proxy to drop it from.
        if self.hosts.iter().filter(|h| h.control_plane).count() < 2 {
            self.io
                .log("one control plane: the workers reach its API server directly")?;
            return Ok(());
        }
        self.on_workers(HostScript::ApiProxy).await
    }

    /// Runs a per-host step on every worker that has not finished it.
    pub(super) async fn on_workers(&mut self, step: HostScript) -> Result<(), ProvisionError> {
        let workers = self.workers();
        let todo = self.not_marked(step, workers, "already done").await?;
        let r = self.run_on(&todo, step, |_, _| Ok(((), None))).await?;
        self.mark_done(step, r)
    }

    /// Of `hosts`, those whose checkpoint of `step` is not recorded; the others are shown
    /// `done` with `note`.
    async fn not_marked(
        &self,
        step: HostScript,
        hosts: Vec<(usize, String)>,
        note: &str,
    ) -> Result<Vec<(usize, String)>, ProvisionError> {
        let mut todo = Vec::new();
        for (i, host) in hosts {
            if self.io.marked(&mark(step, &host))? {
                self.io.host(i, HostState::Done, Some(note.into())).await?;
            } else {
                todo.push((i, host));
            }
        }
        Ok(todo)
    }

    /// The workers that stay, with their index.
    pub(super) fn workers(&self) -> Vec<(usize, String)> {
        self.all()
            .into_iter()
            .filter(|(i, _)| !self.hosts[*i].control_plane && !self.hosts[*i].leaving)
            .collect()
    }

    /// The control planes after the first, with their index.
    fn other_control_planes(&self) -> Vec<(usize, String)> {
        self.all()
            .into_iter()
            .filter(|(i, _)| *i > 0 && self.hosts[*i].control_plane)
            .collect()
    }

    /// Workers first, then the other control planes (each takes its etcd member away), then
    /// the first: resetting the last control plane wipes etcd, and the others' resets should
    /// find it still there.
    pub(super) async fn reset_hosts(&mut self) -> Result<(), ProvisionError> {
        let leaving: Vec<(usize, String)> = self
            .all()
            .into_iter()
            .filter(|(i, _)| self.hosts[*i].leaving)
            .collect();
        if !leaving.is_empty() {
            // One node leaves: only it is reset (kubeadm removes a control plane's etcd member
            // first).
            let r = self
                .run_on(&leaving, HostScript::Reset, |_, _| Ok(((), None)))
                .await?;
            return Self::check(r).map(|_| ());
        }
        for hosts in [self.workers(), self.other_control_planes()] {
            let r = self
                .run_on(&hosts, HostScript::Reset, |_, _| Ok(((), None)))
                .await?;
            Self::check(r)?;
        }
        self.on_control_plane(HostScript::Reset).await
    }

    /// Runs `step` on the first control plane.
    pub(super) async fn on_control_plane(
        &mut self,
        step: HostScript,
    ) -> Result<(), ProvisionError> {
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let r = self.run_on(&cp, step, |_, _| Ok(((), None))).await?;
        Self::check(r).map(|_| ())
    }

    pub(super) async fn join_workers(&mut self) -> Result<(), ProvisionError> {
        let workers = self.workers();
        self.join(workers).await
    }

    /// `kubeadm join --control-plane` on the control planes after the first, in parallel
    /// (kubeadm allows it since 1.15), with the certificates shared under a key made for them.
    pub(super) async fn join_control_planes(&mut self) -> Result<(), ProvisionError> {
        let others = self.other_control_planes();
        self.join(others).await
    }

    /// Joins `hosts` (all workers or all control planes). A host that joined earlier gets no
    /// token: kubeadm_join only brings its settings (the kubelet's --node-ip and
    /// serverTLSBootstrap, a control plane's API endpoint name) to what this labkube sets. The
    /// others get a join command made now, and control planes a certificate key made now:
    /// both held only in memory for this step.
    async fn join(&mut self, hosts: Vec<(usize, String)>) -> Result<(), ProvisionError> {
        let hosts = self
            .not_marked(HostScript::KubeadmJoin, hosts, "already joined")
            .await?;
        let (converge, todo): (Vec<_>, Vec<_>) = hosts
            .into_iter()
            .partition(|(i, _)| self.hosts[*i].facts.as_ref().is_some_and(|f| f.joined));
        let r = self
            .run_on(&converge, HostScript::KubeadmJoin, |_, _| Ok(((), None)))
            .await?;
        self.mark_done(HostScript::KubeadmJoin, r)?;
        if todo.is_empty() {
            return Ok(());
        }
        let mut env = self.secret_or_fail(HostScript::JoinCommand).await?;
        if todo.iter().any(|(i, _)| self.hosts[*i].control_plane) {
            env.extend(self.secret_or_fail(HostScript::CertificateKey).await?);
        }
        let r = self
            .run_on_with(&todo, HostScript::KubeadmJoin, env, |_, _| Ok(((), None)))
            .await?;
        self.mark_done(HostScript::KubeadmJoin, r)
    }

    /// [`ClusterRun::secret_on_first`], its failure the first control plane's.
    async fn secret_or_fail(
        &self,
        script: HostScript,
    ) -> Result<Vec<(String, String)>, ProvisionError> {
        self.secret_on_first(script).await.map_err(|reason| {
            ProvisionError::Hosts(vec![HostError {
                host: self.hosts[0].target.to_string(),
                reason: format!("{}: {reason}", script.name()),
            }])
        })
    }

    /// Runs `script` (the join command or the certificate key: output that is a secret) on
    /// the first control plane and makes the environment the joins take from its output, or
    /// says why not without ever echoing it.
    pub(super) async fn secret_on_first(
        &self,
        script: HostScript,
    ) -> Result<Vec<(String, String)>, String> {
        let env = self.env(0, script);
        let out = exec::run(&self.exec(), 0, script, env)
            .await
            .map_err(|e| e.reason)?;
        if script == HostScript::CertificateKey {
            certificate_key(&out.stdout).map(|key| vec![("CERTIFICATE_KEY".to_string(), key)])
        } else {
            Join::parse(&out.stdout).map(|j| j.env()).ok_or_else(|| {
                "the join command it printed has an unexpected shape (output withheld: it holds a token)".to_string()
            })
        }
    }
}

/// The certificate key certificate_key printed: 64 lower-case hex digits on its one line.
fn certificate_key(output: &str) -> Result<String, String> {
    let key = output.trim();
    if key.len() == 64
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(key.to_string())
    } else {
        Err("it printed no certificate key of the expected shape (output withheld: it may hold one)".into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_certificate_key_is_64_lower_hex_and_never_echoed() {
        let key = "0123456789abcdef".repeat(4);
        assert_eq!(
            super::certificate_key(&format!("{key}\n")).as_deref(),
            Ok(key.as_str())
        );
        for bad in [
            "",
            "xyz",
            &key[..63],
            &key.to_uppercase(),
            &format!("{key} {key}"),
        ] {
            let e = super::certificate_key(bad).unwrap_err();
            assert!(!e.contains("0123456789abcdef"), "{e}");
        }
    }
}
