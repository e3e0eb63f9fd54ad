//! [`EtcdStore`]'s record access: decoding with the quarantine, jobs by index, and the reads
//! and writes inside a transaction that several of its changes share.

use serde::de::DeserializeOwned;

use super::stm::{self, Tx, read_many, scan};
use super::{EtcdStore, keys};
use crate::store::claims::{Claim, ClaimKey};
use crate::store::codec::{self, be, decode_u64, encode};
use crate::store::quarantine::decode_or_set_aside;
use crate::store::transition::IndexOp;
use crate::store::{Job, JobId, Space, StoreError};

impl EtcdStore {
    /// `raw` at etcd key `full` of `tree` decoded, or `None` once set aside in the quarantine.
    pub(super) fn decoded<T: DeserializeOwned>(
        &self,
        tree: &str,
        full: &[u8],
        raw: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let key = self.layout.strip(tree, full).to_vec();
        decode_or_set_aside(tree, &key, raw, |record| {
            let value = encode(record)?;
            self.atomically(|tx| {
                tx.put(self.layout.quarantine(&record.store_key()), value.clone());
                tx.delete(full.to_vec());
                if tree == keys::JOBS {
                    tx.delete(self.layout.key(keys::QUEUE, &key));
                    tx.delete(self.layout.key(keys::ACTIVE, &key));
                }
                Ok(())
            })
        })
    }

    /// The jobs whose ids are the keys of index `tree`, keeping those `keep` accepts (an
    /// update may commit between reading the index and reading the jobs).
    pub(super) fn jobs_in(
        &self,
        tree: &str,
        keep: fn(&Job) -> bool,
    ) -> Result<Vec<Job>, StoreError> {
        let index = scan(&self.conn, &self.layout.tree(tree), false, None)?;
        let mut ids = Vec::with_capacity(index.len());
        for (full, _) in &index {
            let key = self.layout.strip(tree, full);
            ids.push(decode_u64(tree, &codec::show_key(key), key)?);
        }
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(stm::READS_PER_TXN) {
            let keys: Vec<Vec<u8>> = chunk.iter().map(|id| self.layout.job(*id)).collect();
            for (full, found) in keys.iter().zip(read_many(&self.conn, &keys)?) {
                let Some((_, raw)) = found else { continue };
                if let Some(job) = self.decoded::<Job>(keys::JOBS, full, &raw)?
                    && keep(&job)
                {
                    out.push(job);
                }
            }
        }
        Ok(out)
    }

    /// The next counter value `name` hands out inside `tx` (1 in a new store), and moves the
    /// counter past it.
    pub(super) fn take_number(&self, tx: &mut Tx<'_>, name: &[u8]) -> Result<u64, StoreError> {
        let n = self.next_number(tx, name)?;
        tx.put(self.layout.meta(name), be(n.saturating_add(1)).to_vec());
        Ok(n)
    }

    /// The next counter value `name` would hand out inside `tx`, leaving the counter as it is.
    pub(super) fn next_number(&self, tx: &mut Tx<'_>, name: &[u8]) -> Result<u64, StoreError> {
        match tx.get(&self.layout.meta(name))? {
            Some(raw) => decode_u64("meta", &codec::show_key(name), &raw),
            None => Ok(1),
        }
    }

    /// A job read inside `tx`.
    pub(super) fn job_in(&self, tx: &mut Tx<'_>, id: JobId) -> Result<Option<Job>, StoreError> {
        match tx.get(&self.layout.job(id))? {
            Some(raw) => Ok(Some(codec::decode(keys::JOBS, &id.to_string(), &raw)?)),
            None => Ok(None),
        }
    }

    /// The current claims of `keys` inside `tx`.
    pub(super) fn claims_in(
        &self,
        tx: &mut Tx<'_>,
        keys: &[ClaimKey],
    ) -> Result<Vec<(ClaimKey, Option<Claim>)>, StoreError> {
        let full: Vec<Vec<u8>> = keys.iter().map(|k| self.layout.claim(k)).collect();
        let values = tx.get_many(&full)?;
        keys.iter()
            .zip(values)
            .map(|(k, v)| {
                let claim = match v {
                    Some(raw) => Some(codec::decode(keys::CLAIMS, &k.encode(), &raw)?),
                    None => None,
                };
                Ok((k.clone(), claim))
            })
            .collect()
    }

    /// Writes (or, for `None`, removes) claims inside `tx`.
    pub(super) fn write_claims(
        &self,
        tx: &mut Tx<'_>,
        writes: &[(ClaimKey, Option<Claim>)],
    ) -> Result<(), StoreError> {
        for (k, claim) in writes {
            match claim {
                Some(c) => tx.put(self.layout.claim(k), encode(c)?),
                None => tx.delete(self.layout.claim(k)),
            }
        }
        Ok(())
    }

    pub(super) fn index(&self, tx: &mut Tx<'_>, key: Vec<u8>, op: IndexOp) {
        match op {
            IndexOp::Keep => {}
            IndexOp::Insert => tx.put(key, Vec::new()),
            IndexOp::Remove => tx.delete(key),
        }
    }

    /// A value of `space` as stored: sealed for secret spaces.
    pub(super) fn stored_value(
        &self,
        space: Space,
        key: &str,
        value: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let plain = encode(&value)?;
        if space.is_secret() {
            return Ok(self.key.seal(&self.layout.kv(space, key), &plain)?);
        }
        Ok(plain)
    }

    /// A stored value of `space` decoded (opened first for secret spaces).
    pub(super) fn kv_value(
        &self,
        space: Space,
        full: &[u8],
        raw: &[u8],
    ) -> Result<Option<String>, StoreError> {
        if space.is_secret() {
            let plain = self.key.open(full, raw)?;
            return self.decoded(space.tree(), full, &plain);
        }
        self.decoded(space.tree(), full, raw)
    }
}
