//! Every host's own chain of scripts, each host going as far as its own dependencies allow
//! (the set-up step of create and node add). Ansible's linear strategy, and labkube before this,
//! ran one script on every host and waited for the slowest before the next: one VM with a slow
//! package mirror delayed every other host at every step. Here the only waits are real ones:
//! a join waits for the first control plane's API server (its `kubeadm init`), nothing else
//! waits for anyone. The join command and the certificate key are minted once, when the first
//! host needs them, and held in memory only. Every finished script is a per-host checkpoint, so
//! a cancelled or crashed job resumes where each host stopped; one live table shows each host's
//! current script; every host's failure is reported together.

use std::time::Instant;

use tokio::sync::{OnceCell, Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::{ClusterRun, mark};
use crate::provision::error::ProvisionError;
use crate::provision::exec::{self, HostError};
use crate::provision::scripts::HostScript;
use crate::store::HostState;

/// Whether the first control plane's API server is up for joins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `kubeadm init` has not finished yet.
    Pending,
    /// Joins may go ahead.
    Up,
    /// The first control plane's chain failed before its API server was up.
    Failed,
}

/// How one host's chain ended.
enum End {
    /// Every script done (the note for the table).
    Done(&'static str),
    /// A script failed on this host.
    Failed(HostError),
    /// It stopped, unchanged past this point, because something it waits for failed.
    Stopped(&'static str),
}

/// A secret minted once on the first control plane for every join that needs it: the
/// environment the joins take, or why it could not be made.
type Minted = OnceCell<Result<Vec<(String, String)>, String>>;

/// What the chains share while they run.
struct Shared {
    shutdown: CancellationToken,
    cancel: CancellationToken,
    api: watch::Sender<Api>,
    slots: Semaphore,
    join_command: Minted,
    certificate_key: Minted,
    /// The first control plane's script after which the joins may go ahead.
    opens: HostScript,
}

impl Shared {
    /// Why no host should start another script: `/cancel` or a shutdown.
    fn halted(&self) -> Option<&'static str> {
        if self.cancel.is_cancelled() {
            Some("stopped: cancelled")
        } else if self.shutdown.is_cancelled() {
            Some("paused by shutdown: goes on from here after a restart")
        } else {
            None
        }
    }
}

impl ClusterRun {
    /// The scripts host `i` runs in the set-up step, in order (the dry run describes the same
    /// list). Hosts this job sets up are prepared and get containerd and the Kubernetes
    /// packages; the first control plane of a create then initialises the cluster and gets
    /// flannel and Helm; a worker of a cluster with several control planes and no virtual IP
    /// gets (or has updated) its local API proxy; every other host this job sets up joins. In
    /// a cluster with a virtual IP, each control plane this job sets up gets kube-vip once its
    /// own API server runs (after its init or join).
    pub(super) fn chain(&self, i: usize) -> Vec<HostScript> {
        let h = &self.hosts[i];
        let vip = self.endpoint.is_some();
        let mut chain = Vec::new();
        if h.leaving {
            return chain;
        }
        if h.provision {
            chain.extend([
                HostScript::PrepareHost,
                HostScript::InstallContainerd,
                HostScript::InstallKube,
            ]);
        }
        if i == 0 {
            if h.provision {
                chain.push(HostScript::KubeadmInit);
                if vip {
                    chain.push(HostScript::KubeVip);
                }
                chain.extend([HostScript::InstallFlannel, HostScript::InstallHelm]);
            }
            return chain;
        }
        let control_planes = self.hosts.iter().filter(|h| h.control_plane).count();
        if !h.control_plane && control_planes > 1 && !vip {
            chain.push(HostScript::ApiProxy);
        }
        if h.provision {
            chain.push(HostScript::KubeadmJoin);
            if vip && h.control_plane {
                chain.push(HostScript::KubeVip);
            }
        }
        chain
    }

    /// Runs every host's chain at once, at most `parallel_hosts` scripts at a time. A shutdown
    /// or `/cancel` lets each host finish the script it runs and stops there.
    pub(super) async fn set_up_hosts(
        &mut self,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        let chains = (0..self.hosts.len()).map(|i| self.chain(i)).collect();
        self.run_chains(chains, shutdown, cancel).await
    }

    /// Runs `script` alone on each of `hosts` the same way, as a step of a plan stored before
    /// per-host chains had one step per script: the joins find the API server up, since those
    /// plans joined after `kubeadm init`.
    pub(super) async fn on_each(
        &mut self,
        script: HostScript,
        hosts: &[usize],
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        let chains = (0..self.hosts.len())
            .map(|i| {
                if hosts.contains(&i) {
                    vec![script]
                } else {
                    Vec::new()
                }
            })
            .collect();
        self.run_chains(chains, shutdown, cancel).await
    }

    /// Runs the hosts' `chains` (one per host, by index; a host with none is left as it is).
    async fn run_chains(
        &mut self,
        chains: Vec<Vec<HostScript>>,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        // A create waits for the first control plane's API endpoint (its `kubeadm init`, and
        // kube-vip after it with a virtual IP); otherwise it is up.
        let first_inits = chains[0].contains(&HostScript::KubeadmInit);
        let opens = if chains[0].contains(&HostScript::KubeVip) {
            HostScript::KubeVip
        } else {
            HostScript::KubeadmInit
        };
        let (api, _) = watch::channel(if first_inits { Api::Pending } else { Api::Up });
        let shared = Shared {
            shutdown: shutdown.clone(),
            cancel: cancel.clone(),
            api,
            slots: Semaphore::new(self.engine.settings.parallel_hosts.max(1)),
            join_command: OnceCell::new(),
            certificate_key: OnceCell::new(),
            opens,
        };
        let busy: Vec<usize> = (0..chains.len())
            .filter(|i| !chains[*i].is_empty())
            .collect();
        for &i in &busy {
            self.io.host(i, HostState::Waiting, None).await?;
        }
        let this = &*self;
        let shared = &shared;
        let chains = &chains;
        let ends = futures::future::join_all(
            busy.iter()
                .map(|&i| async move { (i, this.run_chain(i, &chains[i], shared).await) }),
        )
        .await;
        let mut failed = Vec::new();
        for (i, end) in ends {
            match end? {
                End::Done(note) => this.io.host(i, HostState::Done, Some(note.into())).await?,
                End::Stopped(why) => {
                    this.io
                        .host(i, HostState::Waiting, Some(why.into()))
                        .await?
                }
                End::Failed(e) => {
                    let first = e.reason.lines().next().unwrap_or_default().to_string();
                    this.io.host(i, HostState::Failed, Some(first)).await?;
                    failed.push(e);
                }
            }
        }
        // A secret the first control plane could not make is its failure, reported once.
        for (cell, script) in [
            (&shared.join_command, HostScript::JoinCommand),
            (&shared.certificate_key, HostScript::CertificateKey),
        ] {
            if let Some(Err(reason)) = cell.get() {
                failed.push(HostError {
                    host: this.hosts[0].target.to_string(),
                    reason: format!("{}: {reason}", script.name()),
                });
            }
        }
        if cancel.is_cancelled() {
            Err(ProvisionError::Cancelled)
        } else if shutdown.is_cancelled() {
            Err(ProvisionError::Interrupted)
        } else if failed.is_empty() {
            Ok(())
        } else {
            Err(ProvisionError::Hosts(failed))
        }
    }

    /// Runs host `i`'s chain, skipping what its checkpoints say is done. The first control
    /// plane opens the way for the joins once its `kubeadm init` is done, or closes it when
    /// its chain fails before.
    async fn run_chain(
        &self,
        i: usize,
        chain: &[HostScript],
        shared: &Shared,
    ) -> Result<End, ProvisionError> {
        let end = self.links(i, chain, shared).await;
        if i == 0 {
            shared.api.send_if_modified(|api| {
                let pending = *api == Api::Pending;
                if pending {
                    *api = Api::Failed;
                }
                pending
            });
        }
        end
    }

    async fn links(
        &self,
        i: usize,
        chain: &[HostScript],
        shared: &Shared,
    ) -> Result<End, ProvisionError> {
        let host = self.hosts[i].target.to_string();
        let mut note = "nothing to change";
        for &script in chain {
            let checkpoint = mark(script, &host);
            if !self.io.marked(&checkpoint)? {
                if let Some(why) = shared.halted() {
                    return Ok(End::Stopped(why));
                }
                let mut env = Vec::new();
                if script == HostScript::KubeadmJoin {
                    match self.join_env(i, shared).await? {
                        Ok(secrets) => env = secrets,
                        Err(why) => return Ok(End::Stopped(why)),
                    }
                }
                // A closed semaphore is never made here; `acquire` fails only on one.
                let Ok(_slot) = shared.slots.acquire().await else {
                    return Ok(End::Stopped("stopped"));
                };
                let step = script.name().replace('_', " ");
                self.io
                    .host(i, HostState::Running, Some(step.clone()))
                    .await?;
                let started = Instant::now();
                let mut all = self.env(i, script);
                all.extend(env);
                let result = exec::run(&self.exec(), i, script, all).await;
                self.io.log(&format!(
                    "{host}: {} {} in {:.1} s",
                    script.name(),
                    if result.is_ok() { "done" } else { "failed" },
                    started.elapsed().as_secs_f64()
                ))?;
                if let Err(e) = result {
                    return Ok(End::Failed(e));
                }
                self.io.mark(&checkpoint)?;
            }
            if i == 0 && script == shared.opens {
                shared.api.send_replace(Api::Up);
            }
            note = match script {
                HostScript::KubeadmJoin => "joined",
                HostScript::InstallHelm => "control plane up",
                HostScript::ApiProxy => "API proxy set",
                HostScript::KubeVip => "joined, kube-vip placed",
                _ => "set up",
            };
        }
        Ok(End::Done(note))
    }

    /// The environment host `i`'s join takes: none for a host that joined earlier (kubeadm_join
    /// only brings its settings to what this labkube sets); else the join command and, for a
    /// control plane, the certificate key, minted now if no host needed them yet. `Err` says why
    /// the join cannot go ahead.
    async fn join_env(
        &self,
        i: usize,
        shared: &Shared,
    ) -> Result<Result<Vec<(String, String)>, &'static str>, ProvisionError> {
        if self.hosts[i].facts.as_ref().is_some_and(|f| f.joined) {
            return Ok(Ok(Vec::new()));
        }
        if *shared.api.borrow() == Api::Pending {
            self.io
                .host(
                    i,
                    HostState::Waiting,
                    Some("for the first control plane's API server".into()),
                )
                .await?;
        }
        let mut api = shared.api.subscribe();
        // The first control plane's chain always ends by opening or failing the way (a
        // shutdown or cancel ends it too).
        let up = api
            .wait_for(|a| *a != Api::Pending)
            .await
            .is_ok_and(|a| *a == Api::Up);
        if let Some(why) = shared.halted() {
            return Ok(Err(why));
        }
        if !up {
            return Ok(Err("stopped: the first control plane failed"));
        }
        let mut env = match self
            .minted(&shared.join_command, HostScript::JoinCommand)
            .await
        {
            Ok(env) => env,
            Err(()) => return Ok(Err("stopped: no join command could be made")),
        };
        if self.hosts[i].control_plane {
            match self
                .minted(&shared.certificate_key, HostScript::CertificateKey)
                .await
            {
                Ok(key) => env.extend(key),
                Err(()) => return Ok(Err("stopped: no certificate key could be made")),
            }
        }
        Ok(Ok(env))
    }

    /// The secret `script` prints on the first control plane, minted by the first caller.
    async fn minted(&self, cell: &Minted, script: HostScript) -> Result<Vec<(String, String)>, ()> {
        cell.get_or_init(|| self.secret_on_first(script))
            .await
            .clone()
            .map_err(|_| ())
    }
}
