//! [`EtcdStore`]'s audit trail, claims and history import: the same rules as the sled store's
//! (`sled_audit`, `sled_claims`, `sled_import`), each change one etcd transaction.

use super::EtcdStore;
use super::keys;
use super::stm::{Tx, scan};
use crate::store::audit_chain::{self, Verdict};
use crate::store::claims::{self, Claim, ClaimKey};
use crate::store::codec::{
    self, AUDIT_ANCHOR, AUDIT_HEAD, NEXT_AUDIT_SEQ, NEXT_JOB_ID, Record, be, decode_u64, encode,
};
use crate::store::sled_audit::{Expired, expired, text, verify_stored};
use crate::store::transition;
use crate::store::{AuditEntry, ClusterRecord, Job, JobId, StoreError};

/// Most records one import transaction writes (etcd's `--max-txn-ops` is 128 by default).
const IMPORT_BATCH: usize = 100;

impl EtcdStore {
    /// Appends `entry` inside `tx` with the next sequence number, linked to the head.
    pub(super) fn append_audit_in(
        &self,
        tx: &mut Tx<'_>,
        entry: &AuditEntry,
    ) -> Result<u64, StoreError> {
        let head_key = self.layout.meta(AUDIT_HEAD);
        let head = tx.get(&head_key)?;
        let seq = self.take_number(tx, NEXT_AUDIT_SEQ)?;
        let mut entry = AuditEntry {
            seq,
            chain: String::new(),
            ..entry.clone()
        };
        entry.chain = audit_chain::link(&text(head.as_deref()), &entry);
        tx.put(self.layout.audit(seq), encode(&entry)?);
        tx.put(head_key, entry.chain.clone().into_bytes());
        Ok(seq)
    }

    /// The anchor and the head, read together.
    fn audit_ends(&self) -> Result<(String, String), StoreError> {
        let keys = [self.layout.meta(AUDIT_ANCHOR), self.layout.meta(AUDIT_HEAD)];
        let mut ends = super::stm::read_many(&self.conn, &keys)?.into_iter();
        let mut next = || text(ends.next().flatten().map(|(_, v)| v).as_deref());
        let anchor = next();
        Ok((anchor, next()))
    }

    /// The stored entries in order, keys without the prefix.
    fn audit_items(&self) -> Result<Vec<Result<Record, StoreError>>, StoreError> {
        let items = scan(&self.conn, &self.layout.tree(keys::AUDIT), false, None)?;
        Ok(items
            .into_iter()
            .map(|(full, raw)| Ok((self.layout.strip(keys::AUDIT, &full).to_vec(), raw)))
            .collect())
    }

    pub(super) fn verify_audit(&self) -> Result<Verdict, StoreError> {
        // The ends first: entries appended between the two reads are then beyond the head
        // read, never missing from it.
        let (anchor, head) = self.audit_ends()?;
        let items = self.audit_items()?;
        let verdict = verify_stored(&anchor, &head, items)?;
        // Appended meanwhile: the trail read is longer than the head says. Read again once.
        if matches!(verdict, Verdict::Broken { .. }) {
            let (anchor, head) = self.audit_ends()?;
            return verify_stored(&anchor, &head, self.audit_items()?);
        }
        Ok(verdict)
    }

    /// Removes the entries older than `before_ms` (one range, in one transaction with the new
    /// anchor).
    pub(super) fn prune_audit_before(&self, before_ms: u64) -> Result<usize, StoreError> {
        let Some(Expired {
            keys: doomed,
            anchor,
        }) = expired(self.audit_items()?, before_ms)?
        else {
            return Ok(0);
        };
        let (Some(first), Some(last)) = (doomed.first(), doomed.last()) else {
            return Ok(0);
        };
        let start = self.layout.key(keys::AUDIT, first);
        let mut end = self.layout.key(keys::AUDIT, last);
        end.push(0);
        let anchor_key = self.layout.meta(AUDIT_ANCHOR);
        self.atomically(|tx| {
            tx.delete_range(start.clone(), end.clone());
            tx.put(anchor_key.clone(), anchor.clone().into_bytes());
            Ok(())
        })?;
        Ok(doomed.len())
    }

    /// Every claim (a key that does not decode is an error naming it).
    pub(super) fn all_claims(&self) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
        let mut out = Vec::new();
        for (full, raw) in scan(&self.conn, &self.layout.tree(keys::CLAIMS), false, None)? {
            let k = String::from_utf8_lossy(self.layout.strip(keys::CLAIMS, &full)).into_owned();
            let parsed = ClaimKey::decode(&k)
                .ok_or_else(|| codec::corrupt(keys::CLAIMS, &k, "is not a claim key"))?;
            out.push((parsed, codec::decode(keys::CLAIMS, &k, &raw)?));
        }
        Ok(out)
    }

    /// The keys of `cluster`'s claims, read again inside `tx` (so the commit requires them
    /// unchanged since the scan).
    fn claims_of(
        &self,
        tx: &mut Tx<'_>,
        cluster: &str,
    ) -> Result<Vec<(ClaimKey, Claim)>, StoreError> {
        let keys: Vec<ClaimKey> = self
            .all_claims()?
            .into_iter()
            .filter(|(_, c)| c.cluster == cluster)
            .map(|(k, _)| k)
            .collect();
        Ok(self
            .claims_in(tx, &keys)?
            .into_iter()
            .filter_map(|(k, c)| c.filter(|c| c.cluster == cluster).map(|c| (k, c)))
            .collect())
    }

    pub(super) fn register_claimed(
        &self,
        record: ClusterRecord,
        job: JobId,
    ) -> Result<(), StoreError> {
        let name = ClaimKey::Name(record.name.clone());
        let value = encode(&record)?;
        self.atomically(|tx| {
            let held = self.claims_of(tx, &record.name)?;
            let current = self.claims_in(tx, std::slice::from_ref(&name))?;
            let name_claim = current.first().and_then(|(_, c)| c.as_ref());
            let writes = claims::register(&record, job, name_claim, &held)?;
            tx.put(self.layout.cluster(&record.name), value.clone());
            self.write_claims(tx, &writes)
        })
    }

    pub(super) fn remove_cluster_claimed(&self, name: &str) -> Result<bool, StoreError> {
        let key = self.layout.cluster(name);
        self.atomically(|tx| {
            let held = self.claims_of(tx, name)?;
            let was = tx.get(&key)?.is_some();
            tx.delete(key.clone());
            for (k, _) in &held {
                tx.delete(self.layout.claim(k));
            }
            Ok(was)
        })
    }

    /// Same contract as [`SledStore::import_finished`](crate::store::SledStore::import_finished),
    /// written [`IMPORT_BATCH`] jobs per etcd transaction.
    pub fn import_finished(
        &self,
        jobs: impl IntoIterator<Item = Job>,
    ) -> Result<usize, StoreError> {
        let jobs: Vec<Job> = jobs.into_iter().collect();
        let max = transition::check_import(&jobs)?;
        if jobs.is_empty() {
            return Ok(0);
        }
        // Reserve the numbers first, as the sled store does.
        let counter = self.layout.meta(NEXT_JOB_ID);
        self.atomically(|tx| {
            let next = match tx.get(&counter)? {
                Some(raw) => decode_u64("meta", "next_job_id", &raw)?,
                None => 1,
            };
            if next <= max {
                tx.put(counter.clone(), be(max.saturating_add(1)).to_vec());
            }
            Ok(())
        })?;
        let mut written = 0;
        for batch in jobs.chunks(IMPORT_BATCH) {
            written += self.atomically(|tx| {
                let keys: Vec<Vec<u8>> = batch.iter().map(|j| self.layout.job(j.id)).collect();
                let stored = tx.get_many(&keys)?;
                let mut n = 0;
                for ((job, key), raw) in batch.iter().zip(keys).zip(stored) {
                    let existing: Option<Job> = match raw {
                        Some(raw) => Some(codec::decode(keys::JOBS, &job.id.to_string(), &raw)?),
                        None => None,
                    };
                    if transition::check_import_over(existing.as_ref(), job)? {
                        tx.put(key, encode(job)?);
                        n += 1;
                    }
                }
                Ok(n)
            })?;
        }
        Ok(written)
    }
}
