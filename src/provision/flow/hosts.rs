//! The steps that change hosts one script at a time: a script on every host this job sets up,
//! on every worker or on the first control plane, the joins of plans stored before per-host
//! chains, and resetting every host. The per-host ones run through the chains' runner
//! (`chains.rs`: per-host checkpoints, secrets minted once), one script long.

use tokio_util::sync::CancellationToken;

use super::ClusterRun;
use crate::provision::error::ProvisionError;
use crate::provision::exec;
use crate::provision::flow::join::Join;
use crate::provision::scripts::HostScript;

impl ClusterRun {
    /// Runs a per-host step on every host this job sets up that has not finished it.
    pub(super) async fn on_all(
        &mut self,
        step: HostScript,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        let hosts: Vec<usize> = (0..self.hosts.len())
            .filter(|i| self.hosts[*i].provision)
            .collect();
        self.on_each(step, &hosts, shutdown, cancel).await
    }

    /// Every worker's local proxy, pointed at the control planes the cluster will have, when
    /// it has several (a node add that makes a cluster of one HA also updates the workers it
    /// had) or had (a control plane leaving is dropped from them); with one control plane,
    /// workers reach it directly and nothing is done.
    pub(super) async fn api_proxies(
        &mut self,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        if let Some(vip) = self.endpoint {
            self.io.log(&format!(
                "the workers reach the API servers by the virtual IP {vip}: no proxy to update"
            ))?;
            return Ok(());
        }
        // With a control plane leaving, counted too: its workers have a proxy to drop it from.
        if self.hosts.iter().filter(|h| h.control_plane).count() < 2 {
            self.io
                .log("one control plane: the workers reach its API server directly")?;
            return Ok(());
        }
        let workers = self.indices(&self.workers());
        self.on_each(HostScript::ApiProxy, &workers, shutdown, cancel)
            .await
    }

    /// `kubeadm join` on the workers that have not joined (a plan stored before per-host
    /// chains).
    pub(super) async fn join_workers(
        &mut self,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        let workers = self.indices(&self.workers());
        self.on_each(HostScript::KubeadmJoin, &workers, shutdown, cancel)
            .await
    }

    /// `kubeadm join --control-plane` on the control planes after the first (a plan stored
    /// before per-host chains).
    pub(super) async fn join_control_planes(
        &mut self,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        let others = self.indices(&self.other_control_planes());
        self.on_each(HostScript::KubeadmJoin, &others, shutdown, cancel)
            .await
    }

    fn indices(&self, hosts: &[(usize, String)]) -> Vec<usize> {
        hosts.iter().map(|(i, _)| *i).collect()
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
