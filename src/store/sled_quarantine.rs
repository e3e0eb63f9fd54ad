//! [`SledStore`]'s quarantine ([`super::quarantine`]): `decoded` is how listings and lookups
//! read a record; one that does not decode is moved, with its index entries, into the
//! `quarantine` tree (key `tree \x1f key`) in one transaction, and reads as absent.

use serde::de::DeserializeOwned;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, Transactional as _};

use super::StoreError;
use super::codec::{self, decode, encode};
use super::quarantine::{Quarantined, decode_or_set_aside};
use super::sled_store::{SledStore, from_tx};

impl SledStore {
    /// `raw` (at `key` of `tree`, named `name`) decoded, or `None` once it is quarantined.
    pub(super) fn decoded<T: DeserializeOwned>(
        &self,
        tree: &Tree,
        name: &str,
        key: &[u8],
        raw: &[u8],
    ) -> Result<Option<T>, StoreError> {
        decode_or_set_aside(name, key, raw, |record| self.quarantine(tree, key, record))
    }

    fn quarantine(&self, tree: &Tree, key: &[u8], record: &Quarantined) -> Result<(), StoreError> {
        let qkey = record.store_key();
        let value = encode(record)?;
        // A job leaves the queue and the active set with its record.
        let mut trees = vec![&self.quarantine, tree];
        if record.tree == "jobs" {
            trees.extend([&self.queue, &self.active]);
        }
        trees
            .as_slice()
            .transaction(|t| {
                t[0].insert(qkey.as_bytes(), value.clone())?;
                for other in &t[1..] {
                    other.remove(key)?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(from_tx)?;
        self.sync()
    }

    /// Everything set aside, oldest key first.
    pub(super) fn quarantined_records(&self) -> Result<Vec<Quarantined>, StoreError> {
        let mut out = Vec::new();
        for item in self.quarantine.iter() {
            let (key, raw) = item?;
            out.push(decode("quarantine", &codec::show_key(&key), &raw)?);
        }
        Ok(out)
    }
}
