//! [`SledStore`]: the durable [`JobStore`] over sled 0.34.
//!
//! Layout (integers big-endian, values JSON):
//!
//! | tree       | key                  | value                         |
//! |------------|----------------------|-------------------------------|
//! | `jobs`     | job id               | [`Job`]                       |
//! | `queue`    | job id               | empty: the job is queued      |
//! | `active`   | job id               | empty: queued or running      |
//! | `events`   | job id ++ line seq   | [`LogLine`]                   |
//! | `dedupe`   | dedupe key bytes     | job id                        |
//! | `audit`    | audit seq            | [`AuditEntry`]                |
//! | `clusters` | cluster name         | [`ClusterRecord`]             |
//! | `quarantine` | tree \x1f key   | [`Quarantined`]: records that did not decode |
//! | `claims`   | [`ClaimKey::encode`] | [`Claim`]: the host index and name reservations |
//! | `meta`     | counter name         | `next_job_id`, `next_audit_seq`, `schema_version` |
//! | `host_keys`, `kubeconfigs`, `room_clusters`, `releases`, `offsets`, `told` | see [`Space`] | JSON string |
//!
//! Job ids and audit sequence numbers are dense from 1: each is allocated from its `meta` counter
//! inside the same sled transaction as the records that use it, so a crash leaves all of a
//! change or none of it, and never a hole. (sled's own `generate_id` would skip a million after
//! a crash; it is only used for log line numbers, where gaps do not matter.)
//!
//! "Flushed" means on the disk, not only written: on Linux sled's `flush` writes its log with
//! `sync_file_range`, which neither flushes the drive's write cache nor commits file metadata
//! (its man page: "no guarantees that the data will be available after a crash"). So every
//! flushing method also calls `sync_data` (fdatasync) on sled's log file `<dir>/db` — any
//! descriptor of the file will do — after sled's own flush. That costs one drive cache flush
//! per acknowledged change, the same floor as any durable store.
//!
//! sled 0.34 runs every transaction under one process-wide lock, so the closures below never
//! retry in practice; they are written so a retry would still be correct.

use std::cell::RefCell;
use std::fs::File;
use std::path::{Path, PathBuf};

use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional as _, TransactionalTree,
};
use sled::{Db, Tree};

use super::audit_chain::Verdict;
use super::claims::{self, Claim, ClaimKey};
use super::codec::{self, NEXT_JOB_ID, be, decode, decode_u64, encode};
use super::dir_lock::{lock_dir, open_error, open_sled};
use super::quarantine::Quarantined;
use super::sled_audit;
use super::sled_claims;
use super::transition::{self, IndexOp};
use super::{
    AuditEntry, ClusterRecord, Enqueued, Job, JobChange, JobId, JobStore, LogLine, NewJob, Space,
    StoreError, now_ms,
};

/// What a transaction closure returns: our own errors travel as `Abort`.
pub(super) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

pub(super) fn abort(e: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(e)
}

pub(super) fn from_tx(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Io(e),
    }
}

/// The product's job store: one sled database in the bot's data directory.
///
/// Every state-changing method flushes before it returns (see the module rule in
/// [`crate::store`]); `append_log` does not.
pub struct SledStore {
    pub(super) db: Db,
    pub(super) jobs: Tree,
    pub(super) queue: Tree,
    pub(super) active: Tree,
    events: Tree,
    dedupe: Tree,
    pub(super) audit: Tree,
    pub(super) clusters: Tree,
    pub(super) claims: Tree,
    pub(super) meta: Tree,
    host_keys: Tree,
    kubeconfigs: Tree,
    room_clusters: Tree,
    releases: Tree,
    offsets: Tree,
    told: Tree,
    incidents: Tree,
    silences: Tree,
    grants: Tree,
    namespaces: Tree,
    pub(super) quarantine: Tree,
    /// sled's log file, opened to `sync_data` it (see the module doc).
    log_file: File,
    path: PathBuf,
    /// Held (locked) for the store's lifetime; declared last so sled has closed its files
    /// before another process can take the directory over.
    _lock: File,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (creating if needed) the store in `dir`.
    ///
    /// Fails with [`StoreError::Open`] if another process holds the directory (normally another
    /// labkube using the same data directory) or the database cannot be read.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let lock = lock_dir(dir)?;
        let db = open_sled(dir)?;
        let log_file = File::open(dir.join("db"))
            .map_err(|e| open_error(dir, format!("cannot open sled's log file `db`: {e}")))?;
        // Make the directory entries of files sled may just have created durable.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| open_error(dir, format!("cannot sync the data directory: {e}")))?;
        let tree = |name: &str| {
            db.open_tree(name).map_err(|source| StoreError::Open {
                path: dir.display().to_string(),
                source,
            })
        };
        let store = SledStore {
            jobs: tree("jobs")?,
            queue: tree("queue")?,
            active: tree("active")?,
            events: tree("events")?,
            dedupe: tree("dedupe")?,
            audit: tree("audit")?,
            clusters: tree("clusters")?,
            claims: tree("claims")?,
            meta: tree("meta")?,
            host_keys: tree(Space::HostKeys.tree())?,
            kubeconfigs: tree(Space::Kubeconfigs.tree())?,
            room_clusters: tree(Space::RoomClusters.tree())?,
            releases: tree(Space::Releases.tree())?,
            offsets: tree(Space::Offsets.tree())?,
            told: tree(Space::Told.tree())?,
            incidents: tree(Space::Incidents.tree())?,
            silences: tree(Space::Silences.tree())?,
            grants: tree(Space::Grants.tree())?,
            namespaces: tree(Space::Namespaces.tree())?,
            quarantine: tree("quarantine")?,
            db,
            log_file,
            path: dir.to_path_buf(),
            _lock: lock,
        };
        store.migrate()?;
        Ok(store)
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The job with this id, or [`StoreError::NoSuchJob`].
    pub(super) fn get_job(&self, id: JobId) -> Result<Job, StoreError> {
        self.get(id)?.ok_or(StoreError::NoSuchJob(id))
    }

    fn space(&self, space: Space) -> &Tree {
        match space {
            Space::HostKeys => &self.host_keys,
            Space::Kubeconfigs => &self.kubeconfigs,
            Space::RoomClusters => &self.room_clusters,
            Space::Releases => &self.releases,
            Space::Offsets => &self.offsets,
            Space::Told => &self.told,
            Space::Incidents => &self.incidents,
            Space::Silences => &self.silences,
            Space::Grants => &self.grants,
            Space::Namespaces => &self.namespaces,
        }
    }

    /// sled's flush, then `sync_data` of its log file: what makes a change survive a power loss.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.log_file
            .sync_data()
            .map_err(|e| StoreError::Io(sled::Error::Io(e)))
    }

    /// Decodes the jobs whose ids are the keys of an index tree, keeping those `keep` accepts
    /// (an update may commit between reading the index and reading the job).
    fn jobs_in(
        &self,
        index: &Tree,
        name: &str,
        keep: fn(&Job) -> bool,
    ) -> Result<Vec<Job>, StoreError> {
        let mut out = Vec::new();
        for key in index.iter().keys() {
            let key = key?;
            let id = decode_u64(name, &codec::show_key(&key), &key)?;
            // Absent: quarantined (with its index entries) or finished since the index read.
            let Some(job) = self.get(id)? else {
                continue;
            };
            if keep(&job) {
                out.push(job);
            }
        }
        Ok(out)
    }
}

pub(super) fn read_counter(meta: &TransactionalTree, name: &[u8]) -> TxResult<u64> {
    match meta.get(name)? {
        None => Ok(1),
        Some(raw) => decode_u64("meta", &codec::show_key(name), &raw).map_err(abort),
    }
}

fn decode_job(id: JobId, raw: &[u8]) -> Result<Job, StoreError> {
    decode("jobs", &id.to_string(), raw)
}

fn apply_index(tree: &TransactionalTree, key: &[u8; 8], op: IndexOp) -> TxResult<()> {
    match op {
        IndexOp::Keep => {}
        IndexOp::Insert => {
            tree.insert(key, &[])?;
        }
        IndexOp::Remove => {
            tree.remove(key)?;
        }
    }
    Ok(())
}

impl JobStore for SledStore {
    fn enqueue(&self, new: NewJob, dedupe_key: &str) -> Result<Enqueued, StoreError> {
        let created_ms = now_ms();
        let trees = (
            &self.jobs,
            &self.queue,
            &self.active,
            &self.dedupe,
            &self.meta,
            &self.claims,
            &self.audit,
        );
        let request = claims::request(&new.kind);
        let result = trees
            .transaction(|(jobs, queue, active, dedupe, meta, claims_tree, audit)| {
                if let Some(raw) = dedupe.get(dedupe_key.as_bytes())? {
                    let id = decode_u64("dedupe", dedupe_key, &raw).map_err(abort)?;
                    let Some(raw) = jobs.get(be(id))? else {
                        let msg = format!("names job #{id}, which does not exist");
                        return Err(abort(codec::corrupt("dedupe", dedupe_key, &msg)));
                    };
                    return Ok(Enqueued::Duplicate(decode_job(id, &raw).map_err(abort)?));
                }
                let id = read_counter(meta, NEXT_JOB_ID)?;
                let key = be(id);
                if jobs.get(key)?.is_some() {
                    let msg = format!("is {id}, but job #{id} exists already");
                    return Err(abort(codec::corrupt("meta", "next_job_id", &msg)));
                }
                if let Some(req) = &request {
                    let current = sled_claims::read(claims_tree, &req.keys)?;
                    let writes = claims::take(req, &new.origin, id, &current)
                        .map_err(|c| abort(StoreError::Claimed(c)))?;
                    let writes: Vec<_> = writes.into_iter().map(|(k, c)| (k, Some(c))).collect();
                    sled_claims::write(claims_tree, &writes)?;
                }
                let job = transition::new_job(id, new.clone(), created_ms);
                jobs.insert(&key, encode(&job).map_err(abort)?)?;
                queue.insert(&key, &[])?;
                active.insert(&key, &[])?;
                dedupe.insert(dedupe_key.as_bytes(), &key)?;
                meta.insert(NEXT_JOB_ID, &be(id.saturating_add(1)))?;
                sled_audit::append(audit, meta, &AuditEntry::queued(&new, id, created_ms))?;
                Ok(Enqueued::New(job))
            })
            .map_err(from_tx)?;
        // Also for a duplicate: the job it returns may have been committed by a concurrent
        // enqueue that has not flushed yet, and the caller acknowledges it in chat. A failed
        // flush does not undo the commit: the worker sees the job and runs it, so the caller
        // must not say "not queued"; it learns the job is not yet confirmed on disk.
        match (self.sync(), result) {
            (Ok(()), result) => Ok(result),
            (Err(e), Enqueued::New(job)) => {
                tracing::error!(job = job.id, error = %e, "a queued job is committed but not flushed to disk");
                Ok(Enqueued::Unconfirmed(job))
            }
            (Err(e), result) => {
                tracing::error!(job = result.job().id, error = %e, "cannot flush the job store");
                Ok(result)
            }
        }
    }

    fn get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        match self.jobs.get(be(id))? {
            Some(raw) => self.decoded(&self.jobs, "jobs", &be(id), &raw),
            None => Ok(None),
        }
    }

    /// As the trait says. `change` runs while sled's transaction lock is held: it must not call
    /// back into the store, and it may in principle run more than once (each time on a fresh
    /// copy of the stored job) if sled retries the transaction.
    fn update(&self, id: JobId, change: JobChange<'_>) -> Result<Job, StoreError> {
        let change = RefCell::new(change);
        let job = (&self.jobs, &self.queue, &self.active, &self.claims)
            .transaction(|(jobs, queue, active, claims_tree)| {
                let key = be(id);
                let raw = jobs
                    .get(key)?
                    .ok_or_else(|| abort(StoreError::NoSuchJob(id)))?;
                let current = decode_job(id, &raw).map_err(abort)?;
                let mut change = change.borrow_mut();
                let t = transition::apply(&current, &mut **change).map_err(abort)?;
                if t.changed {
                    jobs.insert(&key, encode(&t.job).map_err(abort)?)?;
                    apply_index(queue, &key, t.queue)?;
                    apply_index(active, &key, t.active)?;
                    if t.job.state.is_terminal()
                        && let Some(req) = claims::request(&t.job.kind)
                    {
                        let current = sled_claims::read(claims_tree, &req.keys)?;
                        sled_claims::write(claims_tree, &claims::release(id, &current))?;
                    }
                }
                Ok(t.job)
            })
            .map_err(from_tx)?;
        self.sync()?;
        Ok(job)
    }

    fn queued(&self) -> Result<Vec<Job>, StoreError> {
        self.jobs_in(&self.queue, "queue", |j| transition::in_queue(&j.state))
    }

    fn active(&self) -> Result<Vec<Job>, StoreError> {
        self.jobs_in(&self.active, "active", |j| transition::in_active(&j.state))
    }

    fn recent(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in self.jobs.iter().rev().take(limit) {
            let (key, raw) = entry?;
            out.extend(self.decoded(&self.jobs, "jobs", &key, &raw)?);
        }
        Ok(out)
    }

    fn append_log(&self, id: JobId, text: &str) -> Result<(), StoreError> {
        if !self.jobs.contains_key(be(id))? {
            return Err(StoreError::NoSuchJob(id));
        }
        let line = LogLine {
            at_ms: now_ms(),
            text: text.to_owned(),
        };
        let seq = self.db.generate_id()?;
        self.events
            .insert(codec::event_key(id, seq), encode(&line)?)?;
        Ok(())
    }

    fn log_tail(&self, id: JobId, n: usize) -> Result<Vec<LogLine>, StoreError> {
        let mut out = Vec::with_capacity(n.min(1024));
        for entry in self.events.scan_prefix(be(id)).rev().take(n) {
            let (key, raw) = entry?;
            out.push(decode("events", &codec::show_event_key(&key), &raw)?);
        }
        out.reverse();
        Ok(out)
    }

    fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        let seq = (&self.audit, &self.meta)
            .transaction(|(audit, meta)| sled_audit::append(audit, meta, &entry))
            .map_err(from_tx)?;
        self.sync()?;
        Ok(seq)
    }

    fn audit_verify(&self) -> Result<Verdict, StoreError> {
        self.verify_audit()
    }

    fn prune_audit(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.prune_audit_before(before_ms)
    }

    fn recent_audit(&self, n: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::with_capacity(n.min(1024));
        for entry in self.audit.iter().rev().take(n) {
            let (key, raw) = entry?;
            let seq = decode_u64("audit", &codec::show_key(&key), &key)?;
            out.push(decode("audit", &seq.to_string(), &raw)?);
        }
        Ok(out)
    }

    fn cluster(&self, name: &str) -> Result<Option<ClusterRecord>, StoreError> {
        match self.clusters.get(name.as_bytes())? {
            Some(raw) => self.decoded(&self.clusters, "clusters", name.as_bytes(), &raw),
            None => Ok(None),
        }
    }

    fn put_cluster(&self, record: ClusterRecord) -> Result<(), StoreError> {
        self.put_cluster_claimed(record)
    }

    fn register_cluster(&self, record: ClusterRecord, job: JobId) -> Result<(), StoreError> {
        self.register_claimed(record, job)
    }

    fn reclaim(&self, id: JobId) -> Result<(), StoreError> {
        self.reclaim_job(id)
    }

    fn claims(&self) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
        sled_claims::all(&self.claims)
    }

    fn remove_cluster(&self, name: &str) -> Result<bool, StoreError> {
        self.remove_cluster_claimed(name)
    }

    fn clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in self.clusters.iter() {
            let (key, raw) = entry?;
            out.extend(self.decoded(&self.clusters, "clusters", &key, &raw)?);
        }
        Ok(out)
    }

    fn kv_get(&self, space: Space, key: &str) -> Result<Option<String>, StoreError> {
        let tree = self.space(space);
        match tree.get(key.as_bytes())? {
            Some(raw) => self.decoded(tree, space.tree(), key.as_bytes(), &raw),
            None => Ok(None),
        }
    }

    fn kv_put(&self, space: Space, key: &str, value: &str) -> Result<(), StoreError> {
        self.space(space).insert(key.as_bytes(), encode(&value)?)?;
        self.sync()
    }

    fn kv_list(&self, space: Space) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.space(space).iter() {
            let (key, raw) = entry?;
            let value = self.decoded(self.space(space), space.tree(), &key, &raw)?;
            if let Some(value) = value {
                out.push((String::from_utf8_lossy(&key).into_owned(), value));
            }
        }
        Ok(out)
    }

    fn kv_remove(&self, space: Space, key: &str) -> Result<bool, StoreError> {
        let was = self.space(space).remove(key.as_bytes())?.is_some();
        self.sync()?;
        Ok(was)
    }

    fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        self.quarantined_records()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.sync()
    }
}
