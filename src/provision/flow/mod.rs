//! The cluster flows as step lists, read top to bottom: create, plan and delete. Each step
//! probes before it changes (the scripts do), runs on its hosts in parallel, records per-host
//! checkpoints, and reports every host's failure together.

mod chains;
mod dry_run;
mod endpoint;
mod env;
mod finish;
mod hosts;
mod join;
mod members;
mod networks;
mod nodes;
mod ownership;
mod preflight;
mod probe;
mod reach;
mod rolling;
mod upgrade;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::error::ProvisionError;
use super::exec::{self, Exec, Fanned};
use super::host::{Host, role};
use super::remote::{Connector, Output, Target};
use super::scripts::HostScript;
use super::settings::Engine;
use crate::progress::JobIo;
use crate::store::{ClusterJob, ClusterStep, HostProgress, HostState, StoreError, UnknownCluster};

/// The create flow: probe, validate, change, verify.
const CREATE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::GatherFacts,
    ClusterStep::Preflight,
    ClusterStep::SetUpHosts,
    ClusterStep::WaitNodesReady,
    ClusterStep::InstallStorage,
    ClusterStep::ApproveCsrs,
    ClusterStep::InstallMetricsServer,
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
/// Growing a registered cluster: create's per-host steps on the new hosts only, the workers'
/// proxy brought to the control planes there will be, the joins, then readiness.
const ADD: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::GatherFacts,
    ClusterStep::Preflight,
    ClusterStep::SetUpHosts,
    ClusterStep::WaitNodesReady,
    ClusterStep::ApproveCsrs,
    ClusterStep::Register,
];
/// Taking one node out: checked first (nothing changes when it may not leave), drained, reset
/// (kubeadm takes a control plane's etcd member away first), its Node deleted, the workers'
/// proxy brought to the control planes that stay, the record updated.
const REMOVE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::CheckRemoval,
    ClusterStep::DrainNode,
    ClusterStep::ResetHosts,
    ClusterStep::DeleteNode,
    ClusterStep::InstallApiProxy,
    ClusterStep::Register,
];
/// Moving a registered cluster to the next minor: the safety net on every host and node,
/// the control planes one at a time, the workers in batches, the add-ons at the releases
/// pinned for the new minor, then readiness, the kubeconfig (kubeadm renewed its
/// certificate) and the record's version.
const UPGRADE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::GatherFacts,
    ClusterStep::CheckUpgrade,
    ClusterStep::UpgradeControlPlanes,
    ClusterStep::UpgradeWorkers,
    ClusterStep::InstallFlannel,
    ClusterStep::InstallStorage,
    ClusterStep::InstallMetricsServer,
    ClusterStep::WaitNodesReady,
    ClusterStep::FetchKubeconfig,
    ClusterStep::Register,
];
const DELETE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::ResetHosts,
    ClusterStep::Unregister,
];

/// The steps of a cluster job. What each host does in the set-up step is its own chain
/// ([`ClusterRun::chain`]). A create or plan with a virtual IP probes it after the facts.
pub fn plan(job: &ClusterJob) -> Vec<ClusterStep> {
    let probed = |steps: &[ClusterStep]| {
        let mut steps = steps.to_vec();
        if let Some(at) = steps.iter().position(|s| *s == ClusterStep::GatherFacts) {
            steps.insert(at + 1, ClusterStep::ProbeEndpoint);
        }
        steps
    };
    match job {
        ClusterJob::Create(spec) if spec.endpoint.is_some() => probed(CREATE),
        ClusterJob::Plan(spec) if spec.endpoint.is_some() => probed(PLAN),
        ClusterJob::Create(_) => CREATE.to_vec(),
        ClusterJob::AddNodes(_) => ADD.to_vec(),
        ClusterJob::Plan(_) => PLAN.to_vec(),
        ClusterJob::RemoveNode { .. } => REMOVE.to_vec(),
        ClusterJob::Delete { .. } => DELETE.to_vec(),
        ClusterJob::Upgrade { .. } => UPGRADE.to_vec(),
    }
}

/// Whether `step` works from the facts gathered on each host (and so needs them again after
/// a restart).
fn needs_facts(step: ClusterStep) -> bool {
    match step {
        ClusterStep::Connect
        | ClusterStep::DetectOs
        | ClusterStep::GatherFacts
        | ClusterStep::ResetHosts
        | ClusterStep::CheckRemoval
        | ClusterStep::DrainNode
        | ClusterStep::DeleteNode
        | ClusterStep::Unregister => false,
        ClusterStep::Preflight
        | ClusterStep::ProbeEndpoint
        | ClusterStep::SetUpHosts
        | ClusterStep::PrepareHosts
        | ClusterStep::InstallContainerd
        | ClusterStep::InstallKube
        | ClusterStep::InstallApiProxy
        | ClusterStep::JoinControlPlanes
        | ClusterStep::InitControlPlane
        | ClusterStep::InstallFlannel
        | ClusterStep::InstallHelm
        | ClusterStep::JoinWorkers
        | ClusterStep::WaitNodesReady
        | ClusterStep::InstallStorage
        | ClusterStep::ApproveCsrs
        | ClusterStep::InstallMetricsServer
        | ClusterStep::FetchKubeconfig
        | ClusterStep::Register
        | ClusterStep::CheckUpgrade
        | ClusterStep::UpgradeControlPlanes
        | ClusterStep::UpgradeWorkers
        | ClusterStep::Plan => true,
    }
}

/// A cluster job in progress: its hosts and their connections, kept across steps.
pub struct ClusterRun {
    pub(super) engine: Engine,
    connector: Arc<dyn Connector>,
    pub(super) io: JobIo,
    /// A dry run: the preflight reports its problems in the plan instead of failing.
    dry_run: bool,
    /// A `/node add`: the cluster is registered and working; only the new hosts are set up.
    pub(super) adding: bool,
    pub(super) name: String,
    pub(super) k8s: String,
    pub(super) pod_cidr: String,
    /// The virtual IP of the API endpoint (`endpoint=`), if the cluster has one.
    pub(super) endpoint: Option<std::net::IpAddr>,
    pub(super) hosts: Vec<Host>,
    pub(super) preflight_problems: Vec<String>,
    pub(super) owner: (String, String),
    /// An upgrade: the minor the cluster had (`k8s` is the one it moves to).
    pub(super) upgrading_from: Option<String>,
}

impl ClusterRun {
    /// Prepares a run of cluster job `job` for job `io.job`.
    pub async fn new(
        engine: Engine,
        job: &ClusterJob,
        io: JobIo,
    ) -> Result<ClusterRun, ProvisionError> {
        let s = &engine.settings;
        let record = io.store.get(io.job)?.ok_or(StoreError::NoSuchJob(io.job))?;
        let mut upgrading_from = None;
        let (name, k8s, pod_cidr, endpoint, hosts) = match job {
            ClusterJob::Create(spec) | ClusterJob::Plan(spec) => {
                let n = spec.control_plane_count();
                let hosts = spec
                    .hosts
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let target = Target {
                            addr: *a,
                            port: spec.port.unwrap_or(s.port),
                            user: spec.user.clone().unwrap_or_else(|| s.user.clone()),
                        };
                        Host::new(target, i < n, true)
                    })
                    .collect::<Vec<Host>>();
                let k8s = spec.k8s.clone().unwrap_or_else(|| s.k8s.clone());
                let cidr = spec.pod_cidr.clone().unwrap_or_else(|| s.pod_cidr.clone());
                (spec.name.clone(), k8s, cidr, spec.endpoint, hosts)
            }
            ClusterJob::AddNodes(spec) => {
                let record = io
                    .store
                    .cluster(&spec.cluster)?
                    .ok_or_else(|| UnknownCluster(spec.cluster.clone()))?;
                let hosts = members::grown(&record, spec, s);
                let k8s = members::minor(&record.k8s_version).unwrap_or_else(|| s.k8s.clone());
                let cidr = record
                    .pod_cidr
                    .clone()
                    .unwrap_or_else(|| s.pod_cidr.clone());
                (spec.cluster.clone(), k8s, cidr, record.endpoint, hosts)
            }
            ClusterJob::RemoveNode { cluster, host } => {
                let record = io
                    .store
                    .cluster(cluster)?
                    .ok_or_else(|| UnknownCluster(cluster.clone()))?;
                let hosts = members::shrunk(&record, *host);
                let k8s = members::minor(&record.k8s_version).unwrap_or_else(|| s.k8s.clone());
                let cidr = record
                    .pod_cidr
                    .clone()
                    .unwrap_or_else(|| s.pod_cidr.clone());
                (cluster.clone(), k8s, cidr, record.endpoint, hosts)
            }
            ClusterJob::Upgrade { cluster, to } => {
                let record = io
                    .store
                    .cluster(cluster)?
                    .ok_or_else(|| UnknownCluster(cluster.clone()))?;
                upgrading_from = members::minor(&record.k8s_version);
                let cidr = record
                    .pod_cidr
                    .clone()
                    .unwrap_or_else(|| s.pod_cidr.clone());
                let hosts = members::registered(&record);
                (cluster.clone(), to.clone(), cidr, record.endpoint, hosts)
            }
            ClusterJob::Delete { cluster } => {
                let record = io
                    .store
                    .cluster(cluster)?
                    .ok_or_else(|| UnknownCluster(cluster.clone()))?;
                let hosts = members::registered(&record);
                let endpoint = record.endpoint;
                (
                    cluster.clone(),
                    s.k8s.clone(),
                    s.pod_cidr.clone(),
                    endpoint,
                    hosts,
                )
            }
        };
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
            adding: matches!(job, ClusterJob::AddNodes(_)),
            name,
            k8s,
            pod_cidr,
            endpoint,
            hosts,
            preflight_problems: Vec::new(),
            owner,
            upgrading_from,
        })
    }

    /// Runs one step of the flow. Every step but the first reconnects, re-detects and
    /// re-gathers what a resumed job no longer has in memory.
    /// `shutdown` and `cancel` stop the set-up step's chains before their next script; the
    /// other steps run to their end.
    pub async fn step(
        &mut self,
        step: ClusterStep,
        shutdown: &CancellationToken,
        cancel: &CancellationToken,
    ) -> Result<(), ProvisionError> {
        if step != ClusterStep::Connect {
            self.ensure(needs_facts(step)).await?;
        }
        match step {
            ClusterStep::Connect => self.connect_all().await,
            ClusterStep::DetectOs => self.detect_all().await,
            ClusterStep::GatherFacts => self.facts_all().await,
            ClusterStep::ProbeEndpoint => self.probe_endpoint().await,
            ClusterStep::Preflight => self.preflight(),
            ClusterStep::SetUpHosts => self.set_up_hosts(shutdown, cancel).await,
            ClusterStep::PrepareHosts => {
                self.on_all(HostScript::PrepareHost, shutdown, cancel).await
            }
            ClusterStep::InstallContainerd => {
                self.on_all(HostScript::InstallContainerd, shutdown, cancel)
                    .await
            }
            ClusterStep::InstallKube => {
                self.on_all(HostScript::InstallKube, shutdown, cancel).await
            }
            ClusterStep::InstallApiProxy => self.api_proxies(shutdown, cancel).await,
            ClusterStep::InitControlPlane => self.on_control_plane(HostScript::KubeadmInit).await,
            ClusterStep::JoinControlPlanes => self.join_control_planes(shutdown, cancel).await,
            ClusterStep::InstallFlannel => self.on_control_plane(HostScript::InstallFlannel).await,
            ClusterStep::InstallHelm => self.on_control_plane(HostScript::InstallHelm).await,
            ClusterStep::JoinWorkers => self.join_workers(shutdown, cancel).await,
            ClusterStep::WaitNodesReady => self.wait_nodes().await,
            ClusterStep::InstallStorage => self.on_control_plane(HostScript::InstallStorage).await,
            ClusterStep::ApproveCsrs => self.on_control_plane(HostScript::ApproveCsrs).await,
            ClusterStep::InstallMetricsServer => {
                self.on_control_plane(HostScript::InstallMetricsServer)
                    .await
            }
            ClusterStep::FetchKubeconfig => self.fetch_kubeconfig().await,
            ClusterStep::Register => self.register(),
            ClusterStep::Plan => self.write_plan(),
            ClusterStep::ResetHosts => self.reset_hosts().await,
            ClusterStep::CheckRemoval => self.on_control_plane(HostScript::RemovalCheck).await,
            ClusterStep::DrainNode => self.on_control_plane(HostScript::DrainNode).await,
            ClusterStep::DeleteNode => self.on_control_plane(HostScript::DeleteNode).await,
            ClusterStep::Unregister => self.unregister(),
            ClusterStep::CheckUpgrade => self.check_upgrade().await,
            ClusterStep::UpgradeControlPlanes => self.upgrade_nodes(true, shutdown, cancel).await,
            ClusterStep::UpgradeWorkers => self.upgrade_nodes(false, shutdown, cancel).await,
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

    pub(super) fn all(&self) -> Vec<(usize, String)> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (i, h.target.to_string()))
            .collect()
    }

    /// What the script runner needs.
    fn exec(&self) -> Exec<'_> {
        Exec {
            io: &self.io,
            settings: &self.engine.settings,
            hosts: &self.hosts,
        }
    }

    /// Runs `script` on `hosts` with the environment the flow gives it, then `parse` on each
    /// successful output.
    pub(super) async fn run_on<T, P>(
        &self,
        hosts: &[(usize, String)],
        script: HostScript,
        parse: P,
    ) -> Result<Fanned<T>, StoreError>
    where
        P: Fn(usize, &Output) -> Result<(T, Option<String>), String>,
    {
        self.run_on_with(hosts, script, Vec::new(), parse).await
    }

    /// [`ClusterRun::run_on`] with `extra` environment after the flow's own.
    pub(super) async fn run_on_with<T, P>(
        &self,
        hosts: &[(usize, String)],
        script: HostScript,
        extra: Vec<(String, String)>,
        parse: P,
    ) -> Result<Fanned<T>, StoreError>
    where
        P: Fn(usize, &Output) -> Result<(T, Option<String>), String>,
    {
        let env = |i: usize| {
            let mut env = self.env(i, script);
            env.extend(extra.iter().cloned());
            env
        };
        exec::on(&self.exec(), hosts, script, &env, parse).await
    }

    pub(super) fn check<T>(r: Fanned<T>) -> Result<Vec<(usize, T)>, ProvisionError> {
        r.map_err(ProvisionError::Hosts)
    }
}

/// The per-host checkpoint of `step` on `host`.
fn mark(step: HostScript, host: &str) -> String {
    format!("{}@{host}", step.name())
}
