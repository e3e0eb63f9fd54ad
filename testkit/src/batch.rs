//! A list of scripts run as steps on a set of hosts through the provisioning engine's own
//! machinery ([`labkube::provision::exec::each`], the connector, the job's host table): one
//! connection per host, each step on every host in parallel (bounded), every host's failure
//! collected. The cluster flows are fixed lists of such steps; the provisioning benchmark and
//! the fan-out test run arbitrary lists through the same core.

use std::sync::Arc;

use labkube::progress::JobIo;
use labkube::provision::exec::{self as fanout, HostError};
use labkube::provision::remote::{Connector, RemoteExec, Script, Target};
use labkube::store::{HostProgress, HostState, StoreError};

/// Connected hosts ready to run steps.
pub struct Batch {
    io: JobIo,
    hosts: Vec<(Target, Arc<dyn RemoteExec>)>,
    parallel: usize,
}

/// Why a batch step failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Hosts failed; each is listed.
    #[error("{} host(s) failed: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Hosts(Vec<HostError>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Batch {
    /// Connects to every target (in parallel, at most `parallel` at once), recording progress
    /// in job `io.job`.
    pub async fn connect(
        connector: Arc<dyn Connector>,
        targets: Vec<Target>,
        io: JobIo,
        parallel: usize,
    ) -> Result<Batch, BatchError> {
        let table = targets
            .iter()
            .map(|t| HostProgress {
                host: t.to_string(),
                role: "host".into(),
                state: HostState::Waiting,
                since_ms: None,
                note: None,
            })
            .collect();
        io.init_hosts(table).await?;
        let all: Vec<(usize, String)> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (i, t.to_string()))
            .collect();
        let targets_ref = &targets;
        let r = fanout::each(&io, &all, parallel, |i| {
            let connector = connector.clone();
            async move {
                let t = &targets_ref[i];
                let c = connector.connect(t).await.map_err(|e| HostError {
                    host: t.to_string(),
                    reason: e.to_string(),
                })?;
                Ok((c.exec, None))
            }
        })
        .await?
        .map_err(BatchError::Hosts)?;
        let hosts = r
            .into_iter()
            .map(|(i, exec)| (targets[i].clone(), exec))
            .collect();
        Ok(Batch {
            io,
            hosts,
            parallel,
        })
    }

    /// Runs `script` on every host; a non-zero exit is a failure of that host.
    pub async fn step(&self, script: &Script) -> Result<(), BatchError> {
        let all: Vec<(usize, String)> = self
            .hosts
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (i, t.to_string()))
            .collect();
        let hosts = &self.hosts;
        fanout::each(&self.io, &all, self.parallel, |i| async move {
            let (t, exec) = &hosts[i];
            let fail = |reason: String| HostError {
                host: t.to_string(),
                reason,
            };
            match exec.run(script).await {
                Ok(out) if out.success() => Ok(((), None)),
                Ok(out) => Err(fail(format!(
                    "{} exited with {:?}",
                    script.step, out.status
                ))),
                Err(e) => Err(fail(e.to_string())),
            }
        })
        .await?
        .map_err(BatchError::Hosts)?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(self) {
        for (_, exec) in self.hosts {
            exec.close().await;
        }
    }
}
