//! [`FaultyStore`]: a [`MemoryStore`] that fails, panics or loses its disk sync on the calls a
//! test names, to drive the worker's and the dispatcher's failure paths through the
//! [`JobStore`] seam. Failures are reported the way [`SledStore`](labkube::store::SledStore)
//! reports them: an I/O error ([`StoreError::Io`]) or, for a commit whose flush failed,
//! [`Enqueued::Unconfirmed`].

use std::sync::{Mutex, MutexGuard};

use labkube::store::audit_chain::Verdict;
use labkube::store::claims::{Claim, ClaimKey};
use labkube::store::quarantine::Quarantined;
use labkube::store::{
    AuditEntry, ClusterRecord, Enqueued, Job, JobChange, JobId, JobStore, LogLine, NewJob, Space,
    StoreError,
};

use crate::memory_store::MemoryStore;

/// The store calls a fault can be attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// [`JobStore::enqueue`].
    Enqueue,
    /// [`JobStore::get`].
    Get,
    /// [`JobStore::update`].
    Update,
    /// [`JobStore::queued`].
    Queued,
    /// [`JobStore::active`].
    Active,
}

/// What a faulty call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Returns an I/O error and changes nothing.
    Fail,
    /// Panics before touching the store.
    Panic,
    /// For [`Op::Enqueue`]: commits the job, then reports that the disk sync failed.
    Unsynced,
}

#[derive(Debug)]
struct Rule {
    op: Op,
    fault: Fault,
    /// Calls of `op` still to pass before the rule applies.
    skip: usize,
    /// Calls still to fault; `None`: every call.
    left: Option<usize>,
}

/// A [`MemoryStore`] with injected faults. Calls no rule names pass straight through.
#[derive(Debug, Default)]
pub struct FaultyStore {
    store: MemoryStore,
    rules: Mutex<Vec<Rule>>,
}

impl FaultyStore {
    /// An empty store with no faults.
    pub fn new() -> FaultyStore {
        FaultyStore::default()
    }

    /// Makes the next `times` calls of `op` do `fault`.
    pub fn inject(&self, op: Op, fault: Fault, times: usize) {
        self.inject_after(op, fault, 0, Some(times));
    }

    /// Makes every later call of `op` do `fault`.
    pub fn inject_always(&self, op: Op, fault: Fault) {
        self.inject_after(op, fault, 0, None);
    }

    /// Lets `skip` calls of `op` pass, then makes the next `times` (`None`: all) do `fault`.
    /// The first rule of `op` that applies to a call takes it.
    pub fn inject_after(&self, op: Op, fault: Fault, skip: usize, times: Option<usize>) {
        self.rules().push(Rule {
            op,
            fault,
            skip,
            left: times,
        });
    }

    /// Removes every fault: the store works again.
    pub fn heal(&self) {
        self.rules().clear();
    }

    /// The store underneath, for a test's own reads and writes (never faulty).
    pub fn store(&self) -> &MemoryStore {
        &self.store
    }

    fn rules(&self) -> MutexGuard<'_, Vec<Rule>> {
        // Rules are only pushed, decremented or cleared: a poisoned lock holds a usable list.
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fault for this call of `op`, if any; a panic is raised here, with no lock held.
    fn fault(&self, op: Op) -> Result<Option<Fault>, StoreError> {
        let fault = {
            let mut rules = self.rules();
            let mut hit = None;
            for r in rules.iter_mut().filter(|r| r.op == op) {
                if r.skip > 0 {
                    r.skip -= 1;
                } else if r.left.is_none_or(|n| n > 0) {
                    if let Some(n) = &mut r.left {
                        *n -= 1;
                    }
                    hit = Some(r.fault);
                    break;
                }
            }
            hit
        };
        match fault {
            Some(Fault::Panic) => panic!("injected panic in the job store ({op:?})"),
            Some(Fault::Fail) => Err(StoreError::Io(sled::Error::Io(std::io::Error::other(
                format!("injected I/O failure ({op:?})"),
            )))),
            other => Ok(other),
        }
    }
}

impl JobStore for FaultyStore {
    fn enqueue(&self, new: NewJob, dedupe_key: &str) -> Result<Enqueued, StoreError> {
        let fault = self.fault(Op::Enqueue)?;
        match self.store.enqueue(new, dedupe_key)? {
            Enqueued::New(job) if fault == Some(Fault::Unsynced) => Ok(Enqueued::Unconfirmed(job)),
            other => Ok(other),
        }
    }

    fn get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        self.fault(Op::Get)?;
        self.store.get(id)
    }

    fn update(&self, id: JobId, change: JobChange<'_>) -> Result<Job, StoreError> {
        self.fault(Op::Update)?;
        self.store.update(id, change)
    }

    fn queued(&self) -> Result<Vec<Job>, StoreError> {
        self.fault(Op::Queued)?;
        self.store.queued()
    }

    fn active(&self) -> Result<Vec<Job>, StoreError> {
        self.fault(Op::Active)?;
        self.store.active()
    }

    fn recent(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.store.recent(limit)
    }

    fn append_log(&self, id: JobId, text: &str) -> Result<(), StoreError> {
        self.store.append_log(id, text)
    }

    fn log_tail(&self, id: JobId, n: usize) -> Result<Vec<LogLine>, StoreError> {
        self.store.log_tail(id, n)
    }

    fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        self.store.append_audit(entry)
    }

    fn recent_audit(&self, n: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.recent_audit(n)
    }

    fn audit_verify(&self) -> Result<Verdict, StoreError> {
        self.store.audit_verify()
    }

    fn prune_audit(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.store.prune_audit(before_ms)
    }

    fn cluster(&self, name: &str) -> Result<Option<ClusterRecord>, StoreError> {
        self.store.cluster(name)
    }

    fn put_cluster(&self, record: ClusterRecord) -> Result<(), StoreError> {
        self.store.put_cluster(record)
    }

    fn register_cluster(&self, record: ClusterRecord, job: JobId) -> Result<(), StoreError> {
        self.store.register_cluster(record, job)
    }

    fn reclaim(&self, id: JobId) -> Result<(), StoreError> {
        self.store.reclaim(id)
    }

    fn claims(&self) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
        self.store.claims()
    }

    fn remove_cluster(&self, name: &str) -> Result<bool, StoreError> {
        self.store.remove_cluster(name)
    }

    fn clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        self.store.clusters()
    }

    fn kv_get(&self, space: Space, key: &str) -> Result<Option<String>, StoreError> {
        self.store.kv_get(space, key)
    }

    fn kv_put(&self, space: Space, key: &str, value: &str) -> Result<(), StoreError> {
        self.store.kv_put(space, key, value)
    }

    fn kv_list(&self, space: Space) -> Result<Vec<(String, String)>, StoreError> {
        self.store.kv_list(space)
    }

    fn kv_remove(&self, space: Space, key: &str) -> Result<bool, StoreError> {
        self.store.kv_remove(space, key)
    }

    fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        self.store.quarantined()
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.store.flush()
    }
}
