//! [`SledStore`]'s quarantine ([`super::quarantine`]): `decoded` is how listings and lookups
//! read a record; one that does not decode is moved, with its index entries, into the
//! `quarantine` tree (key `tree \x1f key`) in one transaction, and reads as absent.

use serde::de::DeserializeOwned;
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, Transactional as _};

use super::codec::{self, decode, encode};
use super::quarantine::Quarantined;
use super::sled_store::{SledStore, from_tx};
use super::{StoreError, now_ms};

impl SledStore {
    /// `raw` (at `key` of `tree`, named `name`) decoded, or `None` once it is quarantined.
    pub(super) fn decoded<T: DeserializeOwned>(
        &self,
        tree: &Tree,
        name: &str,
        key: &[u8],
        raw: &[u8],
    ) -> Result<Option<T>, StoreError> {
        // Job keys are big-endian numbers: shown as the job number.
        let shown = match <[u8; 8]>::try_from(key) {
            Ok(id) if name == "jobs" => u64::from_be_bytes(id).to_string(),
            _ => codec::show_key(key),
        };
        match decode(name, &shown, raw) {
            Ok(v) => Ok(Some(v)),
            Err(e @ StoreError::Decode { .. }) => {
                self.quarantine(tree, (name, &shown), key, raw, &e)?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn quarantine(
        &self,
        tree: &Tree,
        (name, shown): (&str, &str),
        key: &[u8],
        raw: &[u8],
        why: &StoreError,
    ) -> Result<(), StoreError> {
        let record = Quarantined {
            tree: name.to_string(),
            key: shown.to_string(),
            reason: why.to_string(),
            at_ms: now_ms(),
            raw_hex: raw.iter().map(|b| format!("{b:02x}")).collect(),
        };
        let qkey = format!("{name}\u{1f}{}", record.key);
        let value = encode(&record)?;
        // A job leaves the queue and the active set with its record.
        let mut trees = vec![&self.quarantine, tree];
        if name == "jobs" {
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
        self.sync()?;
        tracing::error!(record = %record, "a store record does not decode; it was set aside in the quarantine tree (labkube jobs lists it)");
        Ok(())
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
