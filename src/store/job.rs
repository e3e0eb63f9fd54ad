//! The persisted job record: what was asked, by whom, from where, and how far it got.
//!
//! These types are the on-disk format of the `jobs` tree (JSON), so fields are only ever added
//! with `#[serde(default)]`, never renamed.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A job number as shown in chat (`#42`). Allocated densely from 1 by the store.
pub type JobId = u64;

/// Who asked for something: a user id on one chat platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Requester {
    /// Adapter name (`console`, `matrix`, `telegram`); opaque to everything outside `chat/`.
    pub platform: String,
    /// The platform's user id (`@alice:lab.example`, a Telegram numeric id, a local user name).
    pub user: String,
}

/// The chat room a job came from, and the event that created it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Adapter name, as in [`Requester::platform`].
    pub platform: String,
    /// The platform's room id.
    pub room: String,
    /// The platform's id of the message that asked for the job (dedupe key).
    pub event_id: String,
}

/// The work a job does. Cluster and GE kinds are executed by the provisioning and Kubernetes
/// layers; a build without an executor for a kind refuses to queue it.
///
/// Stored adjacently tagged, `{"kind": "ge_scale", "args": [...]}`: serde cannot put the tag
/// inside the value of a tuple variant (`#[serde(tag = "kind")]` alone does not compile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args", rename_all = "snake_case")]
pub enum JobKind {
    /// Provision a kubeadm cluster: the first address is the control plane, the rest workers.
    ClusterCreate(ClusterSpec),
    /// Connect, detect, gather facts and run the preflight, then report what `create` would
    /// do on each host; changes nothing.
    ClusterPlan(ClusterSpec),
    /// Tear a registered cluster down and unregister it.
    ClusterDelete {
        /// Registered cluster name.
        cluster: String,
    },
    /// Install a GE release (and its missing dependencies).
    GeInstall(GeTarget, GeInstallSpec),
    /// Change a release's version.
    GeUpgrade(GeTarget, String),
    /// Change a release's replica count.
    GeScale(GeTarget, u32),
    /// Remove a release; `purge` also removes its persistent volume claims.
    GeUninstall(GeTarget, bool),
    /// Re-apply an earlier revision (`None`: the previous good one).
    Rollback(GeTarget, Option<u32>),
    /// A job that touches nothing remote: `steps` steps of `step_ms` each, each recorded once in
    /// `<data>/selftest.log`. Lets an admin check the worker, checkpoints and progress path, and
    /// is what the crash tests drive.
    Selftest {
        /// Number of steps.
        steps: u32,
        /// How long each step takes, in milliseconds.
        step_ms: u64,
        /// Optional lock key: selftests with the same key run one at a time, like jobs on
        /// one cluster do.
        #[serde(default)]
        lock: Option<String>,
    },
}

/// Arguments of a cluster creation, validated by the grammar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Cluster name (DNS-1123 label).
    pub name: String,
    /// Control plane first, then workers.
    pub hosts: Vec<IpAddr>,
    /// SSH user; `None` uses the configured default.
    pub user: Option<String>,
    /// SSH port; `None` uses the configured default.
    pub port: Option<u16>,
    /// Kubernetes minor (`1.31`); `None` uses the configured default.
    pub k8s: Option<String>,
    /// Pod network CIDR; `None` uses the configured default.
    pub pod_cidr: Option<String>,
}

/// Where a GE release lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeTarget {
    /// Registered cluster name.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Catalogue name of the GE.
    pub ge: String,
}

/// Install options beyond the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeInstallSpec {
    /// Image tag; `None` uses the catalogue default.
    pub version: Option<String>,
    /// Replica count; `None` uses the catalogue default.
    pub replicas: Option<u32>,
    /// Expose the GE's Services as NodePorts.
    pub expose_nodeport: bool,
}

impl JobKind {
    /// Short human title, e.g. `selftest (3 steps)`.
    pub fn title(&self) -> String {
        match self {
            JobKind::ClusterCreate(s) => {
                format!("cluster create {} ({} hosts)", s.name, s.hosts.len())
            }
            JobKind::ClusterPlan(s) => format!("cluster plan {} ({} hosts)", s.name, s.hosts.len()),
            JobKind::ClusterDelete { cluster } => format!("cluster delete {cluster}"),
            JobKind::GeInstall(t, _) => {
                format!("ge install {} in {}/{}", t.ge, t.cluster, t.namespace)
            }
            JobKind::GeUpgrade(t, v) => format!(
                "ge upgrade {} to {v} in {}/{}",
                t.ge, t.cluster, t.namespace
            ),
            JobKind::GeScale(t, r) => {
                format!("ge scale {} to {r} in {}/{}", t.ge, t.cluster, t.namespace)
            }
            JobKind::GeUninstall(t, _) => {
                format!("ge uninstall {} in {}/{}", t.ge, t.cluster, t.namespace)
            }
            JobKind::Rollback(t, _) => {
                format!("rollback {} in {}/{}", t.ge, t.cluster, t.namespace)
            }
            JobKind::Selftest { steps, .. } => format!("selftest ({steps} steps)"),
        }
    }

    /// The lock key: at most one job per key runs at a time. Cluster jobs lock the cluster; GE
    /// jobs lock their namespace, because a GE's dependencies (MongoDB for Orion) are shared
    /// releases of that namespace that two installs must not both create. Selftests lock
    /// nothing.
    pub fn target(&self) -> Option<String> {
        match self {
            JobKind::ClusterCreate(s) => Some(format!("cluster/{}", s.name)),
            JobKind::ClusterDelete { cluster } => Some(format!("cluster/{cluster}")),
            JobKind::GeInstall(t, _)
            | JobKind::GeUpgrade(t, _)
            | JobKind::GeScale(t, _)
            | JobKind::GeUninstall(t, _)
            | JobKind::Rollback(t, _) => Some(format!("ns/{}/{}", t.cluster, t.namespace)),
            JobKind::Selftest { lock, .. } => lock.as_ref().map(|l| format!("selftest/{l}")),
            JobKind::ClusterPlan(_) => None,
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Stored, waiting for the worker.
    Queued,
    /// Being worked on; `step` is the index of the step in progress (0-based).
    Running {
        /// Index into [`Job::plan`].
        step: usize,
    },
    /// Every step finished.
    Succeeded,
    /// A step failed; the reason is safe to show in chat.
    Failed {
        /// Human-readable, secrets already redacted.
        reason: String,
    },
    /// Stopped on request at a step boundary.
    Cancelled,
}

impl JobState {
    /// `true` once the job can no longer change.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed { .. } | JobState::Cancelled
        )
    }

    /// One word for listings: `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    pub fn word(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running { .. } => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed { .. } => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// A finished step: the checkpoint that lets a resumed job skip it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Index into [`Job::plan`].
    pub index: usize,
    /// Step name as in the plan.
    pub name: String,
    /// Unix milliseconds.
    pub started_ms: u64,
    /// Unix milliseconds.
    pub finished_ms: u64,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Dense job number.
    pub id: JobId,
    /// What to do.
    pub kind: JobKind,
    /// Who asked.
    pub requested_by: Requester,
    /// Where it was asked; progress goes back there.
    pub origin: Origin,
    /// The command as typed, with secrets redacted (for listings and the audit trail).
    pub command_text: String,
    /// Lock key, see [`JobKind::target`].
    pub target: Option<String>,
    /// Current state.
    pub state: JobState,
    /// Step names, fixed when the job first starts.
    #[serde(default)]
    pub plan: Vec<String>,
    /// Checkpoints of finished steps, in order.
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Set by `/cancel` on a running job; honoured at the next step boundary.
    #[serde(default)]
    pub cancel_requested: Option<Requester>,
    /// How many times the job was resumed after a restart.
    #[serde(default)]
    pub resumes: u32,
    /// Per-host status of jobs that work on hosts, in plan order (control plane first).
    #[serde(default)]
    pub hosts: Vec<HostProgress>,
    /// Finer checkpoints than steps, e.g. `prepare_host@10.0.0.2`: work done on one host within
    /// a step, so a resumed step skips the hosts that finished it.
    #[serde(default)]
    pub marks: std::collections::BTreeSet<String>,
    /// Rollout progress of GE jobs: one row per workload being watched.
    #[serde(default)]
    pub rollout: Vec<RolloutRow>,
    /// What the job produced, for its final message (e.g. the cluster summary or the plan).
    #[serde(default)]
    pub summary: Option<String>,
    /// Unix milliseconds.
    pub created_ms: u64,
    /// Unix milliseconds of the first start.
    #[serde(default)]
    pub started_ms: Option<u64>,
    /// Unix milliseconds of reaching a terminal state.
    #[serde(default)]
    pub finished_ms: Option<u64>,
}

/// What a caller gives the store to create a job; the store assigns the id and timestamps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// What to do.
    pub kind: JobKind,
    /// Who asked.
    pub requested_by: Requester,
    /// Where it was asked.
    pub origin: Origin,
    /// Redacted command text.
    pub command_text: String,
}

/// Current wall-clock time in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Where one host of a job stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostProgress {
    /// The host as displayed (`10.0.0.1`, `127.0.0.2:2222`).
    pub host: String,
    /// `control-plane` or `worker`.
    pub role: String,
    /// Its state in the current step.
    pub state: HostState,
    /// Unix milliseconds when its current work began.
    #[serde(default)]
    pub since_ms: Option<u64>,
    /// A short note (`ubuntu 24.04`, `exit 1 in install_kube`).
    #[serde(default)]
    pub note: Option<String>,
}

/// A host's state within the current step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Not started in this step.
    Waiting,
    /// Working.
    Running,
    /// Finished this step.
    Done,
    /// Failed this step.
    Failed,
}

impl HostState {
    /// One word for tables.
    pub fn word(self) -> &'static str {
        match self {
            HostState::Waiting => "waiting",
            HostState::Running => "running",
            HostState::Done => "done",
            HostState::Failed => "failed",
        }
    }
}

/// One workload's rollout, as the live message shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutRow {
    /// `deployment/orion`.
    pub workload: String,
    /// Replicas wanted.
    pub desired: u32,
    /// Replicas running the new template.
    pub updated: u32,
    /// Replicas ready.
    pub ready: u32,
    /// Replicas available.
    pub available: u32,
    /// Rolled out completely.
    pub done: bool,
}
