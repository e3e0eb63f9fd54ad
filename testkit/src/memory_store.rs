//! [`MemoryStore`]: the same contract as [`SledStore`](labkube::store::SledStore), in memory, built on the same rules
//! ([`labkube::store::transition`]). For tests and as the benchmarks' baseline; nothing survives
//! the process.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use labkube::store::audit_chain::{self, Verdict};
use labkube::store::claims::{self, Claim, ClaimKey};
use labkube::store::quarantine::Quarantined;
use labkube::store::transition::{self, IndexOp};
use labkube::store::{
    AuditEntry, ClusterRecord, Enqueued, Job, JobChange, JobId, JobStore, LogLine, NewJob, Space,
    StoreError, now_ms,
};

/// A [`JobStore`] held in memory behind one mutex. `flush` is a no-op.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: BTreeMap<JobId, Job>,
    queue: BTreeSet<JobId>,
    active: BTreeSet<JobId>,
    events: BTreeMap<JobId, Vec<LogLine>>,
    dedupe: BTreeMap<String, JobId>,
    audit: BTreeMap<u64, AuditEntry>,
    clusters: BTreeMap<String, ClusterRecord>,
    claims: BTreeMap<ClaimKey, Claim>,
    kv: BTreeMap<(Space, String), String>,
    /// Highest job id handed out (0: none yet).
    last_job_id: JobId,
    /// Highest audit sequence number handed out (0: none yet).
    last_audit_seq: u64,
    /// `chain` of the last audit entry.
    audit_head: String,
    /// `chain` of the last audit entry retention removed.
    audit_anchor: String,
}

fn apply_index(index: &mut BTreeSet<JobId>, id: JobId, op: IndexOp) {
    match op {
        IndexOp::Keep => {}
        IndexOp::Insert => {
            index.insert(id);
        }
        IndexOp::Remove => {
            index.remove(&id);
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot have left `Inner` half-changed: every method
        // does its fallible work (including the caller's `update` closure, which runs on a
        // copy) before it mutates anything, and each mutation is a plain map insert or
        // remove. So the data behind a poisoned lock is consistent and we keep serving it,
        // as a sled-backed store would after the same panic.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Same contract as
    /// [`SledStore::import_finished`](labkube::store::SledStore::import_finished).
    pub fn import_finished(
        &self,
        jobs: impl IntoIterator<Item = Job>,
    ) -> Result<usize, StoreError> {
        let jobs: Vec<Job> = jobs.into_iter().collect();
        let max = transition::check_import(&jobs)?;
        let mut inner = self.lock();
        let mut fresh = Vec::with_capacity(jobs.len());
        for job in jobs {
            if transition::check_import_over(inner.jobs.get(&job.id), &job)? {
                fresh.push(job);
            }
        }
        inner.last_job_id = inner.last_job_id.max(max);
        let written = fresh.len();
        inner.jobs.extend(fresh.into_iter().map(|j| (j.id, j)));
        Ok(written)
    }
}

impl Inner {
    fn append_audit(&mut self, mut entry: AuditEntry) -> u64 {
        let seq = self.last_audit_seq.saturating_add(1);
        self.last_audit_seq = seq;
        entry.seq = seq;
        entry.chain = String::new();
        entry.chain = audit_chain::link(&self.audit_head, &entry);
        self.audit_head = entry.chain.clone();
        self.audit.insert(seq, entry);
        seq
    }

    fn current_claims(&self, keys: &[ClaimKey]) -> Vec<(ClaimKey, Option<Claim>)> {
        keys.iter()
            .map(|k| (k.clone(), self.claims.get(k).cloned()))
            .collect()
    }

    fn claims_of(&self, cluster: &str) -> Vec<(ClaimKey, Claim)> {
        self.claims
            .iter()
            .filter(|(_, c)| c.cluster == cluster)
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect()
    }

    fn write_claims(&mut self, writes: Vec<(ClaimKey, Option<Claim>)>) {
        for (key, claim) in writes {
            match claim {
                Some(c) => self.claims.insert(key, c),
                None => self.claims.remove(&key),
            };
        }
    }

    fn jobs_in(&self, index: &BTreeSet<JobId>) -> Vec<Job> {
        index
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .cloned()
            .collect()
    }
}

impl JobStore for MemoryStore {
    fn enqueue(&self, new: NewJob, dedupe_key: &str) -> Result<Enqueued, StoreError> {
        let mut inner = self.lock();
        if let Some(job) = inner
            .dedupe
            .get(dedupe_key)
            .and_then(|id| inner.jobs.get(id))
        {
            return Ok(Enqueued::Duplicate(job.clone()));
        }
        let id = inner.last_job_id.saturating_add(1);
        if let Some(req) = claims::request(&new.kind) {
            let current = inner.current_claims(&req.keys);
            let writes =
                claims::take(&req, &new.origin, id, &current).map_err(StoreError::Claimed)?;
            inner.claims.extend(writes);
        }
        let new_copy = new.clone();
        let job = transition::new_job(id, new, now_ms());
        inner.last_job_id = id;
        inner.jobs.insert(id, job.clone());
        inner.queue.insert(id);
        inner.active.insert(id);
        inner.dedupe.insert(dedupe_key.to_owned(), id);
        inner.append_audit(AuditEntry::queued(&new_copy, id, job.created_ms));
        Ok(Enqueued::New(job))
    }

    fn get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        Ok(self.lock().jobs.get(&id).cloned())
    }

    /// As the trait says. `change` runs with the store locked: it must not call back into it.
    fn update(&self, id: JobId, change: JobChange<'_>) -> Result<Job, StoreError> {
        let mut inner = self.lock();
        let current = inner.jobs.get(&id).ok_or(StoreError::NoSuchJob(id))?;
        let t = transition::apply(current, change)?;
        if t.changed {
            apply_index(&mut inner.queue, id, t.queue);
            apply_index(&mut inner.active, id, t.active);
            if t.job.state.is_terminal()
                && let Some(req) = claims::request(&t.job.kind)
            {
                let current = inner.current_claims(&req.keys);
                inner.write_claims(claims::release(id, &current));
            }
            inner.jobs.insert(id, t.job.clone());
        }
        Ok(t.job)
    }

    fn queued(&self) -> Result<Vec<Job>, StoreError> {
        let inner = self.lock();
        Ok(inner.jobs_in(&inner.queue))
    }

    fn active(&self) -> Result<Vec<Job>, StoreError> {
        let inner = self.lock();
        Ok(inner.jobs_in(&inner.active))
    }

    fn recent(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        Ok(self
            .lock()
            .jobs
            .values()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }

    fn append_log(&self, id: JobId, text: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if !inner.jobs.contains_key(&id) {
            return Err(StoreError::NoSuchJob(id));
        }
        let line = LogLine {
            at_ms: now_ms(),
            text: text.to_owned(),
        };
        inner.events.entry(id).or_default().push(line);
        Ok(())
    }

    fn log_tail(&self, id: JobId, n: usize) -> Result<Vec<LogLine>, StoreError> {
        let inner = self.lock();
        let lines = inner.events.get(&id).map(Vec::as_slice).unwrap_or_default();
        Ok(lines[lines.len().saturating_sub(n)..].to_vec())
    }

    fn append_audit(&self, entry: AuditEntry) -> Result<u64, StoreError> {
        Ok(self.lock().append_audit(entry))
    }

    fn audit_verify(&self) -> Result<Verdict, StoreError> {
        let inner = self.lock();
        let entries = inner.audit.values().cloned();
        Ok(audit_chain::verify(
            &inner.audit_anchor,
            &inner.audit_head,
            entries,
        ))
    }

    fn prune_audit(&self, before_ms: u64) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let doomed: Vec<(u64, String)> = inner
            .audit
            .values()
            .take_while(|e| e.at_ms < before_ms)
            .map(|e| (e.seq, e.chain.clone()))
            .collect();
        if let Some((_, chain)) = doomed.last() {
            inner.audit_anchor = chain.clone();
        }
        for (seq, _) in &doomed {
            inner.audit.remove(seq);
        }
        Ok(doomed.len())
    }

    fn recent_audit(&self, n: usize) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self.lock().audit.values().rev().take(n).cloned().collect())
    }

    fn cluster(&self, name: &str) -> Result<Option<ClusterRecord>, StoreError> {
        Ok(self.lock().clusters.get(name).cloned())
    }

    fn put_cluster(&self, record: ClusterRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.claims.extend(claims::of_record(&record));
        inner.clusters.insert(record.name.clone(), record);
        Ok(())
    }

    fn register_cluster(&self, record: ClusterRecord, job: JobId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let name = inner.claims.get(&ClaimKey::Name(record.name.clone()));
        let held = inner.claims_of(&record.name);
        let writes = claims::register(&record, job, name, &held)?;
        inner.write_claims(writes);
        inner.clusters.insert(record.name.clone(), record);
        Ok(())
    }

    fn reclaim(&self, id: JobId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let job = inner
            .jobs
            .get(&id)
            .ok_or(StoreError::NoSuchJob(id))?
            .clone();
        if let Some(req) = claims::request(&job.kind) {
            let current = inner.current_claims(&req.keys);
            let writes =
                claims::take(&req, &job.origin, id, &current).map_err(StoreError::Claimed)?;
            inner.claims.extend(writes);
        }
        Ok(())
    }

    fn claims(&self) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
        Ok(self.lock().claims.clone().into_iter().collect())
    }

    fn remove_cluster(&self, name: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        inner.claims.retain(|_, c| c.cluster != name);
        Ok(inner.clusters.remove(name).is_some())
    }

    fn clusters(&self) -> Result<Vec<ClusterRecord>, StoreError> {
        Ok(self.lock().clusters.values().cloned().collect())
    }

    fn kv_get(&self, space: Space, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().kv.get(&(space, key.to_string())).cloned())
    }

    fn kv_put(&self, space: Space, key: &str, value: &str) -> Result<(), StoreError> {
        self.lock()
            .kv
            .insert((space, key.to_string()), value.to_string());
        Ok(())
    }

    fn kv_list(&self, space: Space) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .lock()
            .kv
            .iter()
            .filter(|((s, _), _)| *s == space)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn kv_remove(&self, space: Space, key: &str) -> Result<bool, StoreError> {
        Ok(self.lock().kv.remove(&(space, key.to_string())).is_some())
    }

    /// Nothing is ever undecodable in memory: records are kept as values, not bytes.
    fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        Ok(Vec::new())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
