//! The bot's one database: jobs and their queue, job logs, dedupe of chat events, the audit
//! trail and the cluster registry. Everything else reads and writes state through [`JobStore`].
//!
//! [`SledStore`] is the product's store. Its rules live in [`transition`], shared with the test
//! kit's in-memory store (the benchmarks' baseline); both pass the same contract tests
//! (`tests/it/store_contract/`).
//!
//! Durability rule: every method that changes a job's state, the queue, the audit trail or the
//! cluster registry returns only after the change is flushed to disk. Log lines are written
//! without their own flush and become durable with the next checkpoint.

mod audit;
pub mod audit_chain;
pub mod claims;
mod codec;
mod dir_lock;
#[cfg(feature = "etcd")]
mod etcd;
mod job;
mod kind;
mod private;
pub mod quarantine;
mod records;
mod schema;
pub mod seal;
mod sled_audit;
mod sled_claims;
mod sled_import;
mod sled_quarantine;
mod sled_raw;
mod sled_store;
mod step;
pub mod transfer;
pub mod transition;

pub use audit::{AuditEntry, AuditOutcome, ClusterRecord, NodeRecord, UnknownCluster};
#[cfg(feature = "etcd")]
pub use etcd::{Election, EtcdSettings, EtcdStore, Fence, Leadership};
pub use job::{
    HostProgress, HostState, Job, JobId, JobState, NewJob, Origin, Requester, RolloutRow,
    StepRecord, now_ms, rfc3339,
};
pub use kind::{
    Autoscale, ClusterJob, ClusterSpec, GeInstallSpec, GeJob, GeTarget, JobKind, NodeAddSpec,
    SelftestJob,
};
pub use private::{make_private, private_umask};
pub use schema::CURRENT as SCHEMA_VERSION;
pub use sled_store::SledStore;
pub use step::{ClusterStep, GeStep, Step};

/// Failures of the store. None of them carries user secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened (locked by another process, unreadable, corrupt).
    #[error("cannot open the job store at {path}: {source}")]
    Open {
        /// Data directory.
        path: String,
        /// Cause.
        #[source]
        source: sled::Error,
    },
    /// The store was written by a newer labkube; it is left as it is.
    #[error(
        "the job store was written by a newer labkube (schema {found}; this release reads up to {supported}): run that release, or restore a backup taken before it"
    )]
    NewerSchema {
        /// The store's version.
        found: u64,
        /// The newest this release reads.
        supported: u64,
    },
    /// A read, write, transaction or flush failed.
    #[error("job store I/O failed: {0}")]
    Io(#[from] sled::Error),
    /// A stored value could not be decoded (written by an incompatible version, or corrupt).
    #[error("job store record {key} is unreadable: {source}")]
    Decode {
        /// Tree and key of the record.
        key: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded (should not happen for our own types).
    #[error("cannot encode a job store record: {0}")]
    Encode(#[source] serde_json::Error),
    /// The job does not exist.
    #[error("there is no job #{0}")]
    NoSuchJob(JobId),
    /// A create or plan needs a name or hosts that another cluster or job holds
    /// ([`claims::take`]); nothing was stored.
    #[error("{}", claims_text(.0))]
    Claimed(Vec<claims::Conflict>),
    /// A registration whose name is no longer reserved for its job.
    #[error(transparent)]
    NotReserved(#[from] claims::NotReserved),
    /// The etcd store did not answer or refused (no quorum, unreachable, timed out). Nothing
    /// the call was to change has changed.
    #[error("the etcd store at {endpoints} is unavailable: {why}")]
    Unavailable {
        /// The endpoints, comma-separated.
        endpoints: String,
        /// What failed.
        why: String,
    },
    /// This replica no longer holds the leadership its writes are fenced by: another replica
    /// took over, and this write was refused as a whole.
    #[error("this replica is no longer the leader; the write was refused")]
    Deposed,
    /// Other writers kept changing the records this change read.
    #[error("the store is too busy: the change was retried {attempts} times against other writers")]
    Contended {
        /// Attempts made.
        attempts: usize,
    },
    /// A copied store does not hold what its source holds.
    #[error("the stores differ: {0}")]
    Mismatch(String),
    /// A sealed secret did not open, or the key is unusable.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// The requested change is not allowed in the job's current state.
    #[error("job #{id} is {state}: {what}")]
    Conflict {
        /// Job number.
        id: JobId,
        /// Its current state word.
        state: &'static str,
        /// What was refused.
        what: String,
    },
}

/// The neutral wording of conflicts (no room is named); the dispatcher words them per room.
fn claims_text(conflicts: &[claims::Conflict]) -> String {
    let held: Vec<String> = conflicts.iter().map(|c| c.key.to_string()).collect();
    format!(
        "already held by another cluster or job: {}",
        held.join(", ")
    )
}

/// Result of [`JobStore::enqueue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job was stored durably.
    New(Job),
    /// The chat event was seen before; this is the job it created then.
    Duplicate(Job),
    /// A new job was committed (the worker will run it) but flushing it to disk failed: it is
    /// lost if the bot stops before a later write reaches the disk. The acknowledgement says so
    /// rather than "not queued".
    Unconfirmed(Job),
}

impl Enqueued {
    /// The job, new or old.
    pub fn job(&self) -> &Job {
        match self {
            Enqueued::New(j) | Enqueued::Duplicate(j) | Enqueued::Unconfirmed(j) => j,
        }
    }
}

/// One line of a job's log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    /// Unix milliseconds.
    pub at_ms: u64,
    /// Text, secrets already redacted.
    pub text: String,
}

/// Small string records the bot keeps beside jobs, one sled tree each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Space {
    /// SSH host keys pinned on first contact: `addr:port` → OpenSSH public-key line.
    HostKeys,
    /// Admin kubeconfigs of clusters the bot created: cluster name → YAML. A secret: never
    /// shown, logged or put in a record that derives `Debug`.
    Kubeconfigs,
    /// Each room's current cluster: `platform \x1f room` → cluster name.
    RoomClusters,
    /// GE releases and their revision history: `cluster \x1f namespace \x1f ge` → JSON
    /// (see `kube::release`). Rendered manifests only; generated credentials stay in the
    /// cluster's Secrets.
    Releases,
    /// Chat adapters' positions in their platform's update stream: `platform \x1f account`
    /// → the platform's cursor (Telegram: the next update id to fetch). Written only after
    /// the updates before it are handled, so a restart neither replays nor loses any.
    Offsets,
    /// Jobs whose outcome reached their room: job number → Unix milliseconds when it did. A job
    /// that ended without an entry here is told again when the worker starts
    /// (`jobs::outcome`).
    Told,
    /// Open incidents the bot told rooms about: `cluster \x1f incident key` → JSON (see
    /// `alerts::incident`), kept so a restart neither repeats nor loses one; `\x1f next` →
    /// the next incident number.
    Incidents,
    /// Silences set with `/silence`: number → JSON (see `alerts::silence`); `next` → the next
    /// number. Expired ones are dropped when read.
    Silences,
    /// Kubeconfigs `/kubeconfig` issued: `cluster \x1f account \x1f namespace` (`*` for the
    /// whole cluster) → JSON (see `dispatch::access`): who, which level, until when. Never the
    /// token.
    Grants,
    /// Namespaces `/ns create` made: `cluster \x1f namespace` → JSON (see
    /// `kube::namespace`): the room that owns it, who made it, when, its quota.
    Namespaces,
}

impl Space {
    /// Every space.
    pub const ALL: [Space; 10] = [
        Space::HostKeys,
        Space::Kubeconfigs,
        Space::RoomClusters,
        Space::Releases,
        Space::Offsets,
        Space::Told,
        Space::Incidents,
        Space::Silences,
        Space::Grants,
        Space::Namespaces,
    ];

    /// Whether values of this space are secrets (sealed in a shared store, never shown).
    pub fn is_secret(self) -> bool {
        matches!(self, Space::Kubeconfigs)
    }

    /// The sled tree name.
    pub fn tree(self) -> &'static str {
        match self {
            Space::HostKeys => "host_keys",
            Space::Kubeconfigs => "kubeconfigs",
            Space::RoomClusters => "room_clusters",
            Space::Releases => "releases",
            Space::Offsets => "offsets",
            Space::Told => "told",
            Space::Incidents => "incidents",
            Space::Silences => "silences",
            Space::Grants => "grants",
            Space::Namespaces => "namespaces",
        }
    }
}

/// A change that [`JobStore::update`] applies to one job, atomically. It returns `Err` with a
/// reason to refuse (the job is left unchanged and the store returns [`StoreError::Conflict`]).
pub type JobChange<'a> = &'a mut dyn FnMut(&mut Job) -> Result<(), String>;

/// The durable job store. Methods are synchronous: sled is, and every call is short. Async
/// callers run them directly (a flush is ~1 ms) — see docs/ARCHITECTURE.md.
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new job (state `Queued`) and flushes, unless `dedupe_key` was stored before, in
    /// which case nothing changes and the earlier job is returned. The key is normally
    /// `platform/room/event id` so a redelivered chat event never creates a second job. If the
    /// job is committed but the flush fails, it returns [`Enqueued::Unconfirmed`], not an error:
    /// the job will run, so no caller may report it as not queued. A create or plan is checked
    /// against the claims in the same transaction ([`claims::take`]): a conflict stores
    /// nothing and returns [`StoreError::Claimed`]; a create's name and hosts are held for it.
    /// The audit entry of a new job ([`AuditEntry::queued`]) is written in the same
    /// transaction.
    fn enqueue(&self, new: NewJob, dedupe_key: &str) -> Result<Enqueued, StoreError>;

    /// The job with this id.
    fn get(&self, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Applies `change` to the job atomically and flushes. Moving a job out of `Queued` takes it
    /// off the queue; moving it to a terminal state takes it out of the active set and
    /// releases its claims ([`claims::release`]) in the same transaction. Terminal
    /// jobs are immutable: a change to one is refused.
    fn update(&self, id: JobId, change: JobChange<'_>) -> Result<Job, StoreError>;

    /// Queued jobs, oldest first.
    fn queued(&self) -> Result<Vec<Job>, StoreError>;

    /// Jobs that are queued or running, oldest first. Cost is proportional to the number of
    /// active jobs, not to the history.
    fn active(&self) -> Result<Vec<Job>, StoreError>;

    /// The newest `limit` jobs of any state, newest first.
    fn recent(&self, limit: usize) -> Result<Vec<Job>, StoreError>;

    /// Appends a line to the job's log (durable with the next flushing call).
    fn append_log(&self, id: JobId, text: &str) -> Result<(), StoreError>;

    /// The last `n` lines of the job's log, oldest first.
    fn log_tail(&self, id: JobId, n: usize) -> Result<Vec<LogLine>, StoreError>;

    /// Appends an entry to the audit trail, linked into its hash chain, and flushes; returns its
    /// sequence number.
    fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError>;

    /// The newest `n` audit entries, newest first.
    fn recent_audit(&self, n: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Checks the audit trail's hash chain from its anchor to its head
    /// ([`audit_chain::verify`]).
    fn audit_verify(&self) -> Result<audit_chain::Verdict, StoreError>;

    /// Removes the audit entries written before `before_ms`, keeping the chain verifiable
    /// from the last removed one, and flushes; returns how many went.
    fn prune_audit(&self, before_ms: u64) -> Result<usize, StoreError>;

    /// The registered cluster with this name.
    fn cluster(&self, name: &str) -> Result<Option<ClusterRecord>, StoreError>;

    /// Registers or replaces a cluster as it is, with claims on its name and nodes for its
    /// owner, and flushes: a restore of the registry. Jobs register through
    /// [`JobStore::register_cluster`].
    fn put_cluster(&self, record: ClusterRecord) -> Result<(), StoreError>;

    /// Registers or replaces the cluster that create job `job` built, and flushes: a
    /// compare-and-swap on the name's reservation ([`claims::register`]), refused with
    /// [`StoreError::NotReserved`] when the name is not reserved for `job` by the record's
    /// owner.
    fn register_cluster(&self, record: ClusterRecord, job: JobId) -> Result<(), StoreError>;

    /// Checks job `id`'s claims again ([`claims::take`]), taking those it lacks (a job queued
    /// before the host index existed), and flushes. [`StoreError::Claimed`] when another
    /// cluster or job holds one.
    fn reclaim(&self, id: JobId) -> Result<(), StoreError>;

    /// Every claim on a name or host, by key.
    fn claims(&self) -> Result<Vec<(claims::ClaimKey, claims::Claim)>, StoreError>;

    /// Removes a cluster from the registry with every claim it holds, and flushes; `true` if
    /// it was there.
    fn remove_cluster(&self, name: &str) -> Result<bool, StoreError>;

    /// Every registered cluster, by name.
    fn clusters(&self) -> Result<Vec<ClusterRecord>, StoreError>;

    /// The value of `key` in `space`.
    fn kv_get(&self, space: Space, key: &str) -> Result<Option<String>, StoreError>;

    /// Sets `key` in `space` and flushes.
    fn kv_put(&self, space: Space, key: &str, value: &str) -> Result<(), StoreError>;

    /// Every key and value in `space`, by key.
    fn kv_list(&self, space: Space) -> Result<Vec<(String, String)>, StoreError>;

    /// Removes `key` from `space` and flushes; `true` if it was there.
    fn kv_remove(&self, space: Space, key: &str) -> Result<bool, StoreError>;

    /// Records that did not decode and were set aside ([`quarantine`]).
    fn quarantined(&self) -> Result<Vec<quarantine::Quarantined>, StoreError>;

    /// Makes everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}
