//! The cluster flows as step lists, read top to bottom: create, plan and delete. Each step
//! probes before it changes (the scripts do), runs on its hosts in parallel, records per-host
//! checkpoints, and reports every host's failure together.

mod chains;
mod dry_run;
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

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::error::ProvisionError;
use super::exec::{self, Exec, Fanned};
use super::host::{Host, role};
use super::remote::{Connector, Output, Target};
use super::scripts::{API_PROXY_ADDRESS, ClusterValues, HostScript, HostValues};
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
const DELETE: &[ClusterStep] = &[
    ClusterStep::Connect,
    ClusterStep::DetectOs,
    ClusterStep::ResetHosts,
    ClusterStep::Unregister,
];

/// The steps of a cluster job. What each host does in the set-up step is its own chain
/// ([`ClusterRun::chain`]).
pub fn plan(job: &ClusterJob) -> Vec<ClusterStep> {
    match job {
        ClusterJob::Create(_) => CREATE.to_vec(),
        ClusterJob::AddNodes(_) => ADD.to_vec(),
        ClusterJob::Plan(_) => PLAN.to_vec(),
        ClusterJob::RemoveNode { .. } => REMOVE.to_vec(),
        ClusterJob::Delete { .. } => DELETE.to_vec(),
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
    pub(super) hosts: Vec<Host>,
    pub(super) preflight_problems: Vec<String>,
    pub(super) owner: (String, String),
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
        let (name, k8s, pod_cidr, hosts) = match job {
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
                (spec.name.clone(), k8s, cidr, hosts)
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
                (spec.cluster.clone(), k8s, cidr, hosts)
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
                (cluster.clone(), k8s, cidr, hosts)
            }
            ClusterJob::Delete { cluster } => {
                let record = io
                    .store
                    .cluster(cluster)?
                    .ok_or_else(|| UnknownCluster(cluster.clone()))?;
                let hosts = members::registered(&record);
                (cluster.clone(), s.k8s.clone(), s.pod_cidr.clone(), hosts)
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
            hosts,
            preflight_problems: Vec::new(),
            owner,
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

    /// The environment `script` gets on host `i`: the values of this cluster it works with.
    fn env(&self, i: usize, script: HostScript) -> Vec<(String, String)> {
        let s = &self.engine.settings;
        let advertise = self.hosts[0].target.addr.to_string();
        let control_planes: String = self
            .hosts
            .iter()
            .filter(|h| h.control_plane && !h.leaving)
            .map(|h| h.target.addr.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let node_addresses: String = self
            .hosts
            .iter()
            .map(|h| h.target.addr.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let nodes = node_list(&self.hosts);
        let values = ClusterValues {
            advertise_address: &advertise,
            k8s: &self.k8s,
            pod_cidr: &self.pod_cidr,
            flannel_version: &s.flannel_version,
            helm_version: &s.helm_version,
            local_path_version: &s.local_path_version,
            node_addresses: &node_addresses,
            registry_mirrors: &s.registry_mirrors,
            metrics_server_version: &s.metrics_server_version,
            nodes: &nodes,
            control_planes: &control_planes,
            schedule_on_control_planes: self.hosts.iter().all(|h| h.control_plane || h.leaving),
            leaving: &self.leaving_name(),
            leaving_control_plane: self.hosts.iter().any(|h| h.leaving && h.control_plane),
        };
        let address = self.hosts[i].target.addr.to_string();
        let host = HostValues {
            control_plane: self.hosts[i].control_plane,
            address: &address,
            node_ip: &self.node_ip(i),
            api_address: &self.api_address(i),
        };
        script.env(&values, &host)
    }

    /// The name of the node leaving the cluster (what Kubernetes calls it: the host name its
    /// facts reported, else the registered one); empty when none leaves.
    fn leaving_name(&self) -> String {
        let Some(h) = self.hosts.iter().find(|h| h.leaving) else {
            return String::new();
        };
        h.facts
            .as_ref()
            .map(|f| f.hostname.clone())
            .or_else(|| {
                self.registered().and_then(|r| {
                    r.nodes
                        .iter()
                        .find(|n| n.addr == h.target.addr)
                        .map(|n| n.hostname.clone())
                })
            })
            .unwrap_or_default()
            .to_lowercase()
    }

    /// The kubelet's `--node-ip` on host `i` ([`HostValues::node_ip`]): its address, and in a
    /// dual-stack cluster the global IPv6 address beside it too (the preflight refused hosts
    /// without one).
    fn node_ip(&self, i: usize) -> String {
        let h = &self.hosts[i];
        let v6 = h
            .facts
            .as_ref()
            .and_then(|f| f.ipv6_beside(h.target.addr).1);
        match v6 {
            Some(v6) if crate::names::dual_stack(&self.pod_cidr) => {
                format!("{},{v6}", h.target.addr)
            }
            _ => h.target.addr.to_string(),
        }
    }

    /// Where the cluster's API endpoint name leads on host `i` ([`HostValues::api_address`]).
    fn api_address(&self, i: usize) -> String {
        let h = &self.hosts[i];
        let first = self.hosts[0].target.addr.to_string();
        let joined = h
            .facts
            .as_ref()
            .is_some_and(|f| f.joined || f.control_plane);
        if h.control_plane {
            if i == 0 || joined {
                h.target.addr.to_string()
            } else {
                first
            }
        } else if self.hosts.iter().filter(|h| h.control_plane).count() > 1 {
            API_PROXY_ADDRESS.to_string()
        } else {
            first
        }
    }

    pub(super) fn check<T>(r: Fanned<T>) -> Result<Vec<(usize, T)>, ProvisionError> {
        r.map_err(ProvisionError::Hosts)
    }
}

/// The nodes of the cluster as approve_csrs takes them: `<name>=<address>`, space-separated,
/// the name being the host name the facts reported (what Kubernetes calls the node).
fn node_list(hosts: &[Host]) -> String {
    hosts
        .iter()
        .filter_map(|h| {
            let f = h.facts.as_ref()?;
            Some(format!("{}={}", f.hostname, h.target.addr))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The per-host checkpoint of `step` on `host`.
fn mark(step: HostScript, host: &str) -> String {
    format!("{}@{host}", step.name())
}
