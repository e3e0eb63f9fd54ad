//! Group commit of enqueues. Every commit to etcd waits for a majority of members to write
//! it to disk; one process's writers take turns (the writer lock of [`super::stm`]), so with
//! eight rooms queueing at once the eighth waited for seven commits. Instead, an enqueue joins
//! a queue of pending enqueues, and whichever writer holds the lock takes up to
//! [`MAX_BATCH`] of them, oldest first, and runs them in order in one transaction: each sees
//! the ones before it (the next job number, the audit chain's head), one that is refused (a
//! claim taken, a corrupt record) is rolled back alone and answered with its own error, and
//! the rest commit together — one disk write for all. If the commit itself fails (etcd
//! unavailable, this replica deposed), each pending enqueue runs again alone for its own
//! answer; the dedupe key makes a repeat of one that did land answer as a duplicate. A waiting
//! enqueue picks its answer up without taking the lock: the standard mutex is not fair, and a
//! writer that keeps losing it would wait for many batches that had answered it long before.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use super::stm::{Tx, atomically_held};
use super::{EtcdStore, NEXT_JOB_ID, codec};
use crate::store::{Enqueued, NewJob, StoreError, now_ms};

/// Most enqueues committed in one transaction: about a dozen operations each, under etcd's
/// default limit of 128 per transaction (`--max-txn-ops`).
pub(super) const MAX_BATCH: usize = 8;

/// One pending enqueue and, once a batch ran it, its answer.
pub(super) struct Slot {
    new: NewJob,
    dedupe_key: String,
    created_ms: u64,
    answer: Mutex<Option<Result<Enqueued, StoreError>>>,
    /// Signalled when `answer` is set.
    answered: Condvar,
}

impl Slot {
    fn answer_with(&self, answer: Result<Enqueued, StoreError>) {
        *lock(&self.answer) = Some(answer);
        self.answered.notify_one();
    }
}

/// How long an enqueue waits for another writer's batch before it looks at the writer lock
/// again (that writer may be doing something else than enqueues).
const LOOK_AGAIN: Duration = Duration::from_millis(1);

/// The pending enqueues, oldest first.
#[derive(Default)]
pub(super) struct Pending(Mutex<VecDeque<Arc<Slot>>>);

/// Locks `m`; every critical section here is one push, drain or take, which a panic cannot
/// leave half done.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EtcdStore {
    /// Queues `new` and returns once a batch (this writer's or another's) has answered it.
    pub(super) fn enqueue_batched(
        &self,
        new: NewJob,
        dedupe_key: &str,
    ) -> Result<Enqueued, StoreError> {
        let slot = Arc::new(Slot {
            new,
            dedupe_key: dedupe_key.to_string(),
            created_ms: now_ms(),
            answer: Mutex::new(None),
            answered: Condvar::new(),
        });
        lock(&self.pending.0).push_back(slot.clone());
        // Bounded: each round either takes the writer lock and answers this slot (below), or
        // waits at most `LOOK_AGAIN` for another writer's batch to answer it.
        loop {
            let held = match self.writers.try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            let Some(_serial) = held else {
                // Another writer holds the lock: its batch may answer this slot. The answer
                // is picked up without the lock, which the standard mutex does not hand out
                // in turn.
                let answer = lock(&slot.answer);
                let (mut answer, _) = slot
                    .answered
                    .wait_timeout_while(answer, LOOK_AGAIN, |a| a.is_none())
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(answer) = answer.take() {
                    return answer;
                }
                continue;
            };
            // A slot taken from the queue is answered before its taker lets the lock go, so
            // while this one is unanswered it is still queued, and each round takes the
            // oldest: this ends within the queue's length in rounds.
            loop {
                if let Some(answer) = lock(&slot.answer).take() {
                    return answer;
                }
                let batch: Vec<Arc<Slot>> = {
                    let mut queue = lock(&self.pending.0);
                    let n = queue.len().min(MAX_BATCH);
                    queue.drain(..n).collect()
                };
                if batch.is_empty() {
                    // Not reached (see above); answered alone rather than waited for.
                    return self.enqueue_alone(&slot);
                }
                self.run_batch(&batch);
            }
        }
    }

    /// Runs `batch` as one transaction and answers each slot.
    fn run_batch(&self, batch: &[Arc<Slot>]) {
        let fence = self.fence_now();
        let together = atomically_held(&self.conn, fence.as_ref(), &self.marker, |tx| {
            let mut first = self.first_reads();
            first.extend(batch.iter().map(|s| self.layout.dedupe(&s.dedupe_key)));
            tx.get_many(&first)?;
            // The keys of the jobs this batch may create, in one more round trip instead of
            // one per enqueue (each checks its number is free).
            let next = self.next_number(tx, NEXT_JOB_ID)?;
            let ids = (0..batch.len() as u64).map(|k| self.layout.job(next.saturating_add(k)));
            tx.get_many(&ids.collect::<Vec<_>>())?;
            let mut answers = Vec::with_capacity(batch.len());
            for slot in batch {
                let saved = tx.savepoint();
                let answer = self.enqueue_in(tx, &slot.new, &slot.dedupe_key, slot.created_ms);
                if answer.is_err() {
                    tx.rollback(saved);
                }
                answers.push(answer);
            }
            Ok(answers)
        });
        match together {
            Ok(answers) => {
                for (slot, answer) in batch.iter().zip(answers) {
                    slot.answer_with(answer);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, enqueues = batch.len(), "a batch of enqueues did not commit; each runs alone");
                for slot in batch {
                    slot.answer_with(self.enqueue_alone(slot));
                }
            }
        }
    }

    /// One enqueue in its own transaction (the writer lock held).
    fn enqueue_alone(&self, slot: &Slot) -> Result<Enqueued, StoreError> {
        let fence = self.fence_now();
        atomically_held(&self.conn, fence.as_ref(), &self.marker, |tx| {
            let mut first = self.first_reads();
            first.push(self.layout.dedupe(&slot.dedupe_key));
            tx.get_many(&first)?;
            self.enqueue_in(tx, &slot.new, &slot.dedupe_key, slot.created_ms)
        })
    }

    /// What every enqueue reads before it knows its job's number (the dedupe key aside).
    fn first_reads(&self) -> Vec<Vec<u8>> {
        vec![
            self.layout.meta(NEXT_JOB_ID),
            self.layout.meta(codec::AUDIT_HEAD),
            self.layout.meta(codec::NEXT_AUDIT_SEQ),
        ]
    }

    /// Enqueues `new` in `tx`: a duplicate of the job `dedupe_key` names already, or a new
    /// job with its queue, active and dedupe entries, claims and audit entry.
    fn enqueue_in(
        &self,
        tx: &mut Tx<'_>,
        new: &NewJob,
        dedupe_key: &str,
        created_ms: u64,
    ) -> Result<Enqueued, StoreError> {
        let dedupe = self.layout.dedupe(dedupe_key);
        if let Some(raw) = tx.get(&dedupe)? {
            let id = codec::decode_u64("dedupe", dedupe_key, &raw)?;
            let Some(job) = self.job_in(tx, id)? else {
                let msg = format!("names job #{id}, which does not exist");
                return Err(codec::corrupt("dedupe", dedupe_key, &msg));
            };
            return Ok(Enqueued::Duplicate(job));
        }
        let id = self.take_number(tx, NEXT_JOB_ID)?;
        if tx.get(&self.layout.job(id))?.is_some() {
            let msg = format!("is {id}, but job #{id} exists already");
            return Err(codec::corrupt("meta", "next_job_id", &msg));
        }
        if let Some(req) = crate::store::claims::request(&new.kind) {
            let current = self.claims_in(tx, &req.keys)?;
            let writes = crate::store::claims::take(&req, &new.origin, id, &current)
                .map_err(StoreError::Claimed)?;
            let writes: Vec<_> = writes.into_iter().map(|(k, c)| (k, Some(c))).collect();
            self.write_claims(tx, &writes)?;
        }
        let job = crate::store::transition::new_job(id, new.clone(), created_ms);
        tx.put(self.layout.job(id), codec::encode(&job)?);
        tx.put(self.layout.queue(id), Vec::new());
        tx.put(self.layout.active(id), Vec::new());
        tx.put(dedupe, codec::be(id).to_vec());
        let entry = crate::store::AuditEntry::queued(new, id, created_ms);
        self.append_audit_in(tx, &entry)?;
        Ok(Enqueued::New(job))
    }
}
