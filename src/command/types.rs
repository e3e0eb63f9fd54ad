//! The typed result of parsing: every command of the grammar with validated arguments.
//! Nothing here is raw user text: names, versions, addresses and numbers have been checked
//! against their accepted forms, so later stages may put them in messages, keys and (quoted)
//! shell environment variables.

use std::net::IpAddr;

pub use crate::names::{Cidr, K8sMinor, Name, UserName, Version};

/// Arguments shared by `/cluster create` and `/cluster plan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterArgs {
    /// Control plane first, then workers; no duplicates; at least one.
    pub hosts: Vec<IpAddr>,
    /// `name=`.
    pub name: Option<Name>,
    /// `user=`.
    pub user: Option<UserName>,
    /// `port=` (1-65535).
    pub port: Option<u16>,
    /// `k8s=`.
    pub k8s: Option<K8sMinor>,
    /// `pod-cidr=`.
    pub pod_cidr: Option<Cidr>,
    /// `control-planes=` (1, 3 or 5).
    pub control_planes: Option<u8>,
    /// `endpoint=`: a virtual IP for the API endpoint.
    pub endpoint: Option<IpAddr>,
    /// `dry-run` flag (create only; plan is always dry).
    pub dry_run: bool,
}

/// The arguments of `/node add`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAddArgs {
    /// The cluster to grow.
    pub cluster: Name,
    /// The new hosts; no duplicates; at least one.
    pub hosts: Vec<IpAddr>,
    /// `role=control-plane` (else workers).
    pub control_plane: bool,
    /// `user=`.
    pub user: Option<UserName>,
    /// `port=` (1-65535).
    pub port: Option<u16>,
}

/// What `/silence` keeps quiet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SilenceTarget {
    /// A GE release (in the scope's namespace).
    Ge(Name),
    /// A node, by its Kubernetes name (a DNS subdomain: labels joined by dots).
    Node(String),
    /// Everything on the cluster.
    Cluster,
}

impl std::fmt::Display for SilenceTarget {
    /// As typed: `orion`, `node/worker-2`, `cluster`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SilenceTarget::Ge(ge) => ge.fmt(f),
            SilenceTarget::Node(name) => write!(f, "node/{name}"),
            SilenceTarget::Cluster => f.write_str("cluster"),
        }
    }
}

/// The `ns=` / `cluster=` scope every GE command may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeScope {
    /// `ns=`; `None` means the room's default namespace.
    pub ns: Option<Name>,
    /// `cluster=`; `None` means the room's current cluster.
    pub cluster: Option<Name>,
}

/// Every command of the grammar (DESIGN.md section 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `/help [command words]`: `topic` is the command path asked about, e.g. `["ge", "install"]`.
    Help {
        /// Empty for the overview.
        topic: Vec<String>,
    },
    /// `/cluster create <ip>... [options] [dry-run]`.
    ClusterCreate(ClusterArgs),
    /// `/cluster plan <ip>... [options]`.
    ClusterPlan(ClusterArgs),
    /// `/cluster list`.
    ClusterList,
    /// `/cluster status [name]`.
    ClusterStatus {
        /// `None`: the room's current cluster.
        name: Option<Name>,
    },
    /// `/cluster use <name>`.
    ClusterUse {
        /// Cluster to make the room's current one.
        name: Name,
    },
    /// `/cluster delete <name> [confirm=CODE]`.
    ClusterDelete {
        /// Cluster to delete.
        name: Name,
        /// Confirmation code the bot handed out (`[a-z0-9]{4,16}`); a secret in the audit.
        confirm: Option<String>,
    },
    /// `/cluster upgrade <name> [k8s=MINOR] [confirm=CODE]`.
    ClusterUpgrade {
        /// Cluster to upgrade.
        name: Name,
        /// The minor to move to; `None`: show the plan only.
        k8s: Option<K8sMinor>,
        /// Confirmation code the bot handed out; a secret in the audit.
        confirm: Option<String>,
    },
    /// `/node add <cluster> <ip>... [role=] [user=] [port=]`.
    NodeAdd(NodeAddArgs),
    /// `/node remove <cluster> <ip> [confirm=CODE]`.
    NodeRemove {
        /// The cluster to shrink.
        cluster: Name,
        /// The node's address.
        ip: IpAddr,
        /// Confirmation code the bot handed out; a secret in the audit.
        confirm: Option<String>,
    },
    /// `/ge catalog`.
    GeCatalog,
    /// `/ge install <ge> [ns=] [version=] [replicas=] [cluster=] [expose=nodeport]`.
    GeInstall {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// `version=`.
        version: Option<Version>,
        /// `replicas=` (0-20).
        replicas: Option<u32>,
        /// `expose=nodeport`.
        expose_nodeport: bool,
        /// The GE's own parameters (`troe=true`), by name; checked against the catalogue by
        /// the dispatcher. Values of secret ones are masked wherever the command is shown.
        params: std::collections::BTreeMap<String, String>,
    },
    /// `/ge upgrade <ge> version=TAG [ns=] [cluster=]`.
    GeUpgrade {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// Required `version=`.
        version: Version,
    },
    /// `/ge scale <ge> replicas=N [ns=] [cluster=]`.
    GeScale {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// Required `replicas=` (0-20).
        replicas: u32,
    },
    /// `/ge autoscale <ge> min=N max=M [cpu=PERCENT] [ns=] [cluster=]`, or `… off`.
    GeAutoscale {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// The bounds and target; `None` for `off`.
        setting: Option<crate::store::Autoscale>,
    },
    /// `/ge status <ge> [ns=] [cluster=]`.
    GeStatus {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/ge list [ns=] [cluster=]`.
    GeList {
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/ge history <ge> [ns=] [cluster=]`.
    GeHistory {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/ge uninstall <ge> [ns=] [cluster=] [purge]`.
    GeUninstall {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// Also delete persistent volume claims.
        purge: bool,
    },
    /// `/rollback <ge> [ns=] [cluster=] [to=REVISION]`, also `/ge rollback ...`.
    Rollback {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// `to=` revision number (1-1000000).
        to: Option<u32>,
    },
    /// `/jobs [all]`.
    Jobs {
        /// Include finished jobs.
        all: bool,
    },
    /// `/job <id>`.
    Job {
        /// Job number (`42` or `#42`).
        id: u64,
    },
    /// `/cancel <id>`.
    Cancel {
        /// Job number (`42` or `#42`).
        id: u64,
    },
    /// `/ge logs <ge> [pod=] [container=] [lines=N] [previous] [ns=] [cluster=]`.
    GeLogs {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// `pod=`: `None` picks a failing pod, else the first.
        pod: Option<Name>,
        /// `container=`: `None` is the pod's first container.
        container: Option<Name>,
        /// `lines=` (1-500, default 50).
        lines: u32,
        /// `previous`: the container's previous run.
        previous: bool,
    },
    /// `/ge events <ge> [ns=] [cluster=]`.
    GeEvents {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/alerts [cluster=]`: the open incidents.
    Alerts {
        /// `None`: the room's clusters (an admin's: every cluster).
        cluster: Option<Name>,
    },
    /// `/silence TARGET DURATION [REASON...] [ns=] [cluster=]`.
    Silence {
        /// What to keep quiet.
        target: SilenceTarget,
        /// For how long, s (60 s to 30 days).
        secs: u64,
        /// Why, as words (no shell metacharacters, as every value).
        reason: Vec<String>,
        /// The namespace of a GE target, and the cluster.
        scope: GeScope,
    },
    /// `/silence list [cluster=]`.
    SilenceList {
        /// `None`: the room's clusters (an admin's: every cluster).
        cluster: Option<Name>,
    },
    /// `/kubeconfig [cluster=] [ns=] [ttl=] [access=]`.
    Kubeconfig {
        /// The namespace (`None`: the room's) and the cluster (`None`: the room's current).
        scope: GeScope,
        /// The token's lifetime, s (`None`: `[access] default_ttl_secs`).
        ttl_secs: Option<u64>,
        /// The level (`None`: edit for operators and admins, view for viewers).
        access: Option<crate::kube::access::Access>,
    },
    /// `/kubeconfig revoke [USER] [cluster=]`.
    KubeconfigRevoke {
        /// Whose (`None`: the sender's own): an id on the sender's platform, or `platform:id`.
        user: Option<String>,
        /// `None`: the room's current cluster.
        cluster: Option<Name>,
    },
    /// `/kubeconfig list [cluster=]`.
    KubeconfigList {
        /// `None`: the room's current cluster.
        cluster: Option<Name>,
    },
    /// `/ns create NAME [cluster=] [cpu=] [memory=] [pods=]`.
    NsCreate {
        /// The namespace.
        name: Name,
        /// `None`: the room's current cluster.
        cluster: Option<Name>,
        /// What its pods may request together (`None`: the room's default, else no limit).
        cpu: Option<crate::names::Cpu>,
        /// Likewise for memory.
        memory: Option<crate::names::Memory>,
        /// How many pods it may hold (likewise).
        pods: Option<u64>,
    },
    /// `/ns list [cluster=]`.
    NsList {
        /// `None`: the room's current cluster.
        cluster: Option<Name>,
    },
    /// `/ns delete NAME [cluster=] [confirm=CODE]`.
    NsDelete {
        /// The namespace.
        name: Name,
        /// `None`: the room's current cluster.
        cluster: Option<Name>,
        /// The code from the confirmation step.
        confirm: Option<String>,
    },
    /// `/unsilence ID`.
    Unsilence {
        /// The silence number.
        id: u64,
    },
    /// `/whoami`.
    Whoami,
    /// `/start`: what a Telegram client sends first.
    Start,
    /// `/audit [N]` (1-100, default 20).
    Audit {
        /// How many entries.
        n: Option<u32>,
    },
    /// `/host forget <ip>`: allow a host's SSH key to be pinned again.
    HostForget {
        /// The host.
        ip: IpAddr,
    },
    /// `/selftest [steps=N] [ms=M]`: a job that touches nothing remote (steps 1-50, default 3;
    /// ms 0-60000, default 1000).
    Selftest {
        /// Number of steps.
        steps: u32,
        /// Milliseconds per step.
        step_ms: u64,
    },
}
