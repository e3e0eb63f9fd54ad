//! [`SledStore::import_finished`]: history restored from elsewhere.

use sled::Batch;

use super::codec::{NEXT_JOB_ID, be, encode};
use super::sled_store::{SledStore, from_tx, read_counter};
use super::transition;
use super::{Job, JobStore, StoreError};

impl SledStore {
    /// Writes already finished jobs (history restored from elsewhere) as they are, and flushes
    /// once at the end; returns how many were written.
    ///
    /// Refused with [`StoreError::Conflict`], writing no job, if a job is not terminal, is
    /// numbered 0 or twice in the batch, or if the store holds a different job under the same
    /// number (in that last case the id counter has already moved past the batch, leaving a gap
    /// in future numbers). A job identical to the stored one is skipped, so an import can be
    /// repeated. Future job numbers continue after the highest imported one. Imported jobs get
    /// no dedupe entry and no index entries (they are finished). Meant for a quiet store (restore,
    /// benchmarks); it is safe next to concurrent enqueues but not atomic as a whole.
    pub fn import_finished(
        &self,
        jobs: impl IntoIterator<Item = Job>,
    ) -> Result<usize, StoreError> {
        let jobs: Vec<Job> = jobs.into_iter().collect();
        let max = transition::check_import(&jobs)?;
        if jobs.is_empty() {
            return Ok(0);
        }
        // Reserve the numbers first: from here on no enqueue can take one of them, and any
        // enqueue that took one earlier has committed its job, which the check below sees.
        self.meta
            .transaction(|meta| {
                let next = read_counter(meta, NEXT_JOB_ID)?;
                if next <= max {
                    meta.insert(NEXT_JOB_ID, &be(max.saturating_add(1)))?;
                }
                Ok(())
            })
            .map_err(from_tx)?;
        let mut batch = Batch::default();
        let mut written = 0;
        for job in &jobs {
            let existing = self.get(job.id)?;
            if transition::check_import_over(existing.as_ref(), job)? {
                batch.insert(&be(job.id), encode(job)?);
                written += 1;
            }
        }
        self.jobs.apply_batch(batch)?;
        self.sync()?;
        Ok(written)
    }
}
