//! The cluster flows as step lists, read top to bottom: create, plan and delete. Each step
//! probes before it changes (the scripts do), runs on its hosts in parallel, records per-host
//! checkpoints, and reports every host's failure together.

use std::sync::Arc;

use super::engine::{Engine, Io};
use super::facts::Facts;
use super::fanout::{self, Fanned, HostError};
use super::join::Join;
use super::os::OsInfo;
use super::preflight::{self, Checked};
use super::remote::{Connector, RemoteExec, Target};
use super::run;
use super::scripts::HostScript;
use crate::store::{ClusterJob, ClusterStep, HostProgress, HostState, StoreError};

/// Why a cluster step failed. `Display` is the chat message (secrets already redacted).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Some hosts failed; each is listed with its reason.
    #[error("{}", list_hosts(.0))]
    Hosts(Vec<HostError>),
    /// The preflight found problems (every host's, together).
    #[error("preflight found problems; nothing was changed:\n{}", .0.join("\n"))]
    Preflight(Vec<String>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else, already phrased for the room.
    #[error("{0}")]
    Other(String),
}

fn list_hosts(errors: &[HostError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "{} hosts failed:\n{}",
            many.len(),
            many.iter()
                .map(|e| format!("- {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// The create flow: probe, validate, change, verify.
pub(super) const CREATE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::GatherFacts,
    ClusterStep::Preflight,
    ClusterStep::PrepareHosts,
    ClusterStep::InstallContainerd,
    ClusterStep::InstallKube,
    ClusterStep::InitControlPlane,
    ClusterStep::InstallFlannel,
    ClusterStep::InstallHelm,
    ClusterStep::JoinWorkers,
    ClusterStep::WaitNodesReady,
    ClusterStep::FetchKubeconfig,
    ClusterStep::Register,
];
/// The dry run: create's probes, then each of create's changing steps describes itself.
const PLAN: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::GatherFacts,
    ClusterStep::Preflight,
    ClusterStep::Plan,
];
const DELETE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::ResetHosts,
    ClusterStep::Unregister,
];

/// The steps of a cluster job.
pub fn plan(job: &ClusterJob) -> Vec<ClusterStep> {
    match job {
        ClusterJob::Create(_) => CREATE,
        ClusterJob::Plan(_) => PLAN,
        ClusterJob::Delete { .. } => DELETE,
    }
    .to_vec()
}

/// Whether `step` works from the facts gathered on each host (and so needs them again after
/// a restart).
fn needs_facts(step: ClusterStep) -> bool {
    match step {
        ClusterStep::Connect
        | ClusterStep::DetectOs
        | ClusterStep::GatherFacts
        | ClusterStep::ResetHosts
        | ClusterStep::Unregister => false,
        ClusterStep::Preflight
        | ClusterStep::PrepareHosts
        | ClusterStep::InstallContainerd
        | ClusterStep::InstallKube
        | ClusterStep::InitControlPlane
        | ClusterStep::InstallFlannel
        | ClusterStep::InstallHelm
        | ClusterStep::JoinWorkers
        | ClusterStep::WaitNodesReady
        | ClusterStep::FetchKubeconfig
        | ClusterStep::Register
        | ClusterStep::Plan => true,
    }
}

/// `control-plane` or `worker`.
pub(super) fn role(control_plane: bool) -> &'static str {
    if control_plane {
        "control-plane"
    } else {
        "worker"
    }
}

/// One host of the job and what is known about it so far.
pub(super) struct Host {
    pub(super) target: Target,
    pub(super) control_plane: bool,
    pub(super) conn: Option<Arc<dyn RemoteExec>>,
    pub(super) os: Option<OsInfo>,
    pub(super) facts: Option<Facts>,
}

/// A cluster job in progress: its hosts and their connections, kept across steps.
pub struct ClusterRun {
    pub(super) engine: Engine,
    connector: Arc<dyn Connector>,
    pub(super) io: Io,
    /// A dry run: the preflight reports its problems in the plan instead of failing.
    dry_run: bool,
    pub(super) name: String,
    pub(super) k8s: String,
    pub(super) pod_cidr: String,
    pub(super) hosts: Vec<Host>,
    pub(super) preflight_problems: Vec<String>,
    pub(super) owner: (String, String),
}

impl ClusterRun {
    /// Prepares a run of cluster job `job` for job `io.job`.
    pub async fn new(
        engine: Engine,
        job: &ClusterJob,
        io: Io,
    ) -> Result<ClusterRun, ProvisionError> {
        let s = &engine.settings;
        let record = io.store.get(io.job)?.ok_or(StoreError::NoSuchJob(io.job))?;
        let (name, k8s, pod_cidr, targets) = match job {
            ClusterJob::Create(spec) | ClusterJob::Plan(spec) => {
                let targets: Vec<Target> = spec
                    .hosts
                    .iter()
                    .map(|a| Target {
                        addr: *a,
                        port: spec.port.unwrap_or(s.port),
                        user: spec.user.clone().unwrap_or_else(|| s.user.clone()),
                    })
                    .collect();
                let k8s = spec.k8s.clone().unwrap_or_else(|| s.k8s.clone());
                let cidr = spec.pod_cidr.clone().unwrap_or_else(|| s.pod_cidr.clone());
                (spec.name.clone(), k8s, cidr, targets)
            }
            ClusterJob::Delete { cluster } => {
                let record = io.store.cluster(cluster)?.ok_or_else(|| {
                    ProvisionError::Other(format!("there is no cluster named {cluster}"))
                })?;
                let targets = record
                    .nodes
                    .iter()
                    .map(|n| Target {
                        addr: n.addr,
                        port: n.port,
                        user: n.user.clone(),
                    })
                    .collect();
                (cluster.clone(), s.k8s.clone(), s.pod_cidr.clone(), targets)
            }
        };
        let hosts: Vec<Host> = targets
            .into_iter()
            .enumerate()
            .map(|(i, target)| Host {
                target,
                control_plane: i == 0,
                conn: None,
                os: None,
                facts: None,
            })
            .collect();
        let table = hosts
            .iter()
            .map(|h| HostProgress {
                host: h.target.to_string(),
                role: role(h.control_plane).into(),
                state: HostState::Waiting,
                since_ms: None,
                note: None,
            })
            .collect();
        io.init_hosts(table).await?;
        let connector = (engine.connect)().map_err(|e| ProvisionError::Other(e.to_string()))?;
        let owner = (record.origin.platform, record.origin.room);
        Ok(ClusterRun {
            engine,
            connector,
            io,
            dry_run: matches!(job, ClusterJob::Plan(_)),
            name,
            k8s,
            pod_cidr,
            hosts,
            preflight_problems: Vec::new(),
            owner,
        })
    }

    /// Runs one step of the flow. Every step but the first reconnects, re-detects and
    /// re-gathers what a resumed job no longer has in memory.
    pub async fn step(&mut self, step: ClusterStep) -> Result<(), ProvisionError> {
        if step != ClusterStep::Connect {
            self.ensure(needs_facts(step)).await?;
        }
        match step {
            ClusterStep::Connect => self.connect_all().await,
            ClusterStep::DetectOs => self.detect_all().await,
            ClusterStep::GatherFacts => self.facts_all().await,
            ClusterStep::Preflight => self.preflight(),
            ClusterStep::PrepareHosts => self.on_all(HostScript::PrepareHost).await,
            ClusterStep::InstallContainerd => self.on_all(HostScript::InstallContainerd).await,
            ClusterStep::InstallKube => self.on_all(HostScript::InstallKube).await,
            ClusterStep::InitControlPlane => self.on_control_plane(HostScript::KubeadmInit).await,
            ClusterStep::InstallFlannel => self.on_control_plane(HostScript::InstallFlannel).await,
            ClusterStep::InstallHelm => self.on_control_plane(HostScript::InstallHelm).await,
            ClusterStep::JoinWorkers => self.join_workers().await,
            ClusterStep::WaitNodesReady => self.wait_nodes().await,
            ClusterStep::FetchKubeconfig => self.fetch_kubeconfig().await,
            ClusterStep::Register => self.register(),
            ClusterStep::Plan => self.write_plan(),
            ClusterStep::ResetHosts => self.reset_hosts().await,
            ClusterStep::Unregister => self.unregister(),
        }
    }

    /// Closes every connection.
    pub async fn close(&mut self) {
        for h in &mut self.hosts {
            if let Some(c) = h.conn.take() {
                c.close().await;
            }
        }
    }

    /// Reconnects, re-detects and re-gathers what a resumed job no longer has in memory.
    async fn ensure(&mut self, facts: bool) -> Result<(), ProvisionError> {
        if self.hosts.iter().any(|h| h.conn.is_none()) {
            self.connect_all().await?;
        }
        if self.hosts.iter().any(|h| h.os.is_none()) {
            self.detect_all().await?;
        }
        if facts && self.hosts.iter().any(|h| h.facts.is_none()) {
            self.facts_all().await?;
        }
        Ok(())
    }

    fn all(&self) -> Vec<(usize, String)> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (i, h.target.to_string()))
            .collect()
    }

    pub(super) fn check<T>(r: Fanned<T>) -> Result<Vec<(usize, T)>, ProvisionError> {
        r.map_err(ProvisionError::Hosts)
    }

    async fn connect_all(&mut self) -> Result<(), ProvisionError> {
        let todo: Vec<(usize, String)> = self
            .all()
            .into_iter()
            .filter(|(i, _)| self.hosts[*i].conn.is_none())
            .collect();
        let connector = self.connector.clone();
        let hosts = &self.hosts;
        let r = fanout::each(&self.io, &todo, self.engine.settings.parallel_hosts, |i| {
            let connector = connector.clone();
            async move {
                let h = &hosts[i];
                let c = connector.connect(&h.target).await.map_err(|e| HostError {
                    host: h.target.to_string(),
                    reason: strip_host(&e.to_string(), &h.target),
                })?;
                let note = c
                    .first_contact
                    .as_ref()
                    .map(|fp| format!("new host key {fp}"));
                Ok(((c.exec, c.first_contact), note))
            }
        })
        .await?;
        for (i, (conn, first)) in Self::check(r)? {
            if let Some(fp) = first {
                let host = self.hosts[i].target.to_string();
                self.io
                    .notice(format!(
                        "{host}: first contact; its SSH host key {fp} is now pinned"
                    ))
                    .await?;
            }
            self.hosts[i].conn = Some(conn);
        }
        Ok(())
    }

    async fn detect_all(&mut self) -> Result<(), ProvisionError> {
        let r = run::on(self, &self.all(), HostScript::OsRelease, |_, out| {
            let os = OsInfo::parse(&out.stdout);
            os.family().map_err(|e| e.to_string())?;
            let note = format!("{} {}", os.id, os.version_id);
            Ok((os, Some(note)))
        })
        .await?;
        for (i, os) in Self::check(r)? {
            self.hosts[i].os = Some(os);
        }
        Ok(())
    }

    async fn facts_all(&mut self) -> Result<(), ProvisionError> {
        let r = run::on(self, &self.all(), HostScript::Facts, |_, out| {
            let f = Facts::parse(&out.stdout)?;
            let note = format!("{}, {} CPU, {} MB", f.hostname, f.cpus, f.mem_mb);
            Ok((f, Some(note)))
        })
        .await?;
        for (i, f) in Self::check(r)? {
            self.hosts[i].facts = Some(f);
        }
        Ok(())
    }

    fn preflight(&mut self) -> Result<(), ProvisionError> {
        let checked: Vec<Checked<'_>> = self
            .hosts
            .iter()
            .filter_map(|h| {
                h.facts.as_ref().map(|facts| Checked {
                    host: h.target.to_string(),
                    control_plane: h.control_plane,
                    facts,
                })
            })
            .collect();
        let problems = preflight::check(&checked);
        if problems.is_empty() {
            return Ok(());
        }
        if self.dry_run {
            self.preflight_problems = problems;
            return Ok(());
        }
        Err(ProvisionError::Preflight(problems))
    }

    /// Runs a per-host step on every host that has not finished it (per-host checkpoints).
    async fn on_all(&mut self, step: HostScript) -> Result<(), ProvisionError> {
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
        let r = run::on(self, &todo, step, |_, _| Ok(((), None))).await?;
        for (i, ()) in Self::check(r)? {
            self.io
                .mark(&mark(step, &self.hosts[i].target.to_string()))?;
        }
        Ok(())
    }

    /// Workers first, then the control plane: resetting the control plane wipes etcd, and the
    /// workers' resets should find it still there.
    async fn reset_hosts(&mut self) -> Result<(), ProvisionError> {
        let workers: Vec<(usize, String)> = self.all().into_iter().skip(1).collect();
        let r = run::on(self, &workers, HostScript::Reset, |_, _| Ok(((), None))).await?;
        Self::check(r)?;
        self.on_control_plane(HostScript::Reset).await
    }

    async fn on_control_plane(&mut self, step: HostScript) -> Result<(), ProvisionError> {
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let r = run::on(self, &cp, step, |_, _| Ok(((), None))).await?;
        Self::check(r).map(|_| ())
    }

    async fn join_workers(&mut self) -> Result<(), ProvisionError> {
        let mut todo = Vec::new();
        for (i, host) in self.all().into_iter().skip(1) {
            let joined = self.hosts[i].facts.as_ref().is_some_and(|f| f.joined);
            if joined || self.io.marked(&mark(HostScript::KubeadmJoin, &host))? {
                self.io
                    .host(i, HostState::Done, Some("already joined".into()))
                    .await?;
            } else {
                todo.push((i, host));
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        // A fresh join command, valid 15 minutes, held only in memory for this step.
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let r = run::on(self, &cp, HostScript::JoinCommand, |_, out| {
            Join::parse(&out.stdout)
                .map(|j| (j, None))
                .ok_or_else(|| "the join command it printed has an unexpected shape (output withheld: it holds a token)".to_string())
        })
        .await?;
        let join = Self::check(r)?.into_iter().next().map(|(_, j)| j);
        let Some(join) = join else {
            return Err(ProvisionError::Other("no join command".into()));
        };
        let r = run::on_with(self, &todo, HostScript::KubeadmJoin, join.env(), |_, _| {
            Ok(((), None))
        })
        .await?;
        for (i, ()) in Self::check(r)? {
            self.io.mark(&mark(
                HostScript::KubeadmJoin,
                &self.hosts[i].target.to_string(),
            ))?;
        }
        Ok(())
    }
}

/// The per-host checkpoint of `step` on `host`.
fn mark(step: HostScript, host: &str) -> String {
    format!("{}@{host}", step.name())
}

/// Key of a room in [`Space::RoomClusters`].
pub fn room_key(platform: &str, room: &str) -> String {
    format!("{platform}\u{1f}{room}")
}

/// Drops a leading `host: ` from an error that names its host, since the table does too.
fn strip_host(text: &str, target: &Target) -> String {
    text.strip_prefix(&format!("{target}: "))
        .unwrap_or(text)
        .to_string()
}
