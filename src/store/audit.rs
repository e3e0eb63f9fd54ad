//! Audit trail entries and the cluster registry record (and the refusal of an unknown name).

use serde::{Deserialize, Serialize};

use super::job::{JobId, Requester};

/// What came of an audited command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AuditOutcome {
    /// A job was queued for it.
    Queued {
        /// The job.
        job: JobId,
    },
    /// It was carried out at once (e.g. `/cancel`).
    Done,
    /// Authorisation refused it.
    Refused {
        /// Why, as told to the user.
        reason: String,
    },
    /// It was allowed but could not be carried out (e.g. not available in this build).
    Rejected {
        /// Why, as told to the user.
        reason: String,
    },
}

/// One audited command: every mutating command and every refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number, assigned by the store (0 when handed in).
    #[serde(default)]
    pub seq: u64,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// Who.
    pub who: Requester,
    /// Room id on `who.platform`.
    pub room: String,
    /// The command text with secrets redacted.
    pub command: String,
    /// What came of it.
    pub outcome: AuditOutcome,
    /// The hash chain link ([`super::audit_chain::link`]), set by the store (empty when handed
    /// in).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chain: String,
}

/// A cluster name the bot does not know (neither in the registry nor in the config): the one
/// wording of that refusal, wherever it is decided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("there is no cluster named {0}; /cluster list shows them")]
pub struct UnknownCluster(pub String);

/// A cluster the bot knows: provisioned by it, or declared in the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// DNS-1123 name.
    pub name: String,
    /// Platform of the owning room.
    pub owner_platform: String,
    /// The room that created it; only that room (or an admin) may change it.
    pub owner_room: String,
    /// Unix milliseconds.
    pub created_ms: u64,
    /// Kubernetes version installed (`v1.33.4`); empty when unknown.
    #[serde(default)]
    pub k8s_version: String,
    /// Nodes, control plane first.
    #[serde(default)]
    pub nodes: Vec<NodeRecord>,
    /// Registered by create job N once its preflight passed, before it changed any host, and
    /// not finished yet (or that job failed): the hosts are this room's, but there is no
    /// working cluster yet. `None`: the cluster is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<JobId>,
    /// The pod network it was created with; `None` in records of earlier releases (the
    /// configured default is then assumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// The virtual IP kube-vip keeps on a working control plane, which the workers and the bot
    /// reach the API by; `None`: none (the workers' local proxy, or the one control plane).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<std::net::IpAddr>,
}

/// A node of a registered cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Address as given to `/cluster create`.
    pub addr: std::net::IpAddr,
    /// SSH port.
    pub port: u16,
    /// SSH user.
    pub user: String,
    /// `control-plane` or `worker`.
    pub role: String,
    /// The host's name as Kubernetes knows it.
    pub hostname: String,
    /// Whether its CPU has AVX, as `facts` reported at create; `None` when unknown.
    #[serde(default)]
    pub avx: Option<bool>,
}
