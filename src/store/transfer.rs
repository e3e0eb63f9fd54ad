//! Moving a store: every record of one store, as stored, to a JSON-lines backup
//! (`labkube store export`) or into another store (`labkube store migrate`). Both stores keep
//! the same records under the same keys (see `etcd/keys.rs`), so a record is copied as it is;
//! only the sealing of secrets differs (etcd seals kubeconfigs, sled's directory is private),
//! and [`RawRecord`]s carry them open. Bookkeeping that belongs to one etcd store (commit
//! markers, the election) is not a record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// One stored record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// Its tree (`jobs`, `audit`, `kubeconfigs`, ...).
    pub tree: String,
    /// Its key, as stored.
    pub key: Vec<u8>,
    /// Its value, as stored (secrets open).
    pub value: Vec<u8>,
}

/// A store whose records can be read and written as they are.
pub trait RawStore {
    /// Every record, by tree then key.
    fn raw_records(&self) -> Result<Vec<RawRecord>, StoreError>;

    /// Writes `records` as they are (replacing any under the same keys), durably.
    fn put_raw(&self, records: &[RawRecord]) -> Result<(), StoreError>;
}

/// One line of an export: printable whatever the bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    tree: String,
    key_hex: String,
    /// The value when it is UTF-8 text (every JSON record); else `value_hex`.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_hex: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `record` as one JSON line (no newline).
pub fn export_line(record: &RawRecord) -> Result<String, StoreError> {
    let (value, value_hex) = match std::str::from_utf8(&record.value) {
        Ok(text) => (Some(text.to_string()), None),
        Err(_) => (None, Some(hex(&record.value))),
    };
    serde_json::to_string(&Line {
        tree: record.tree.clone(),
        key_hex: hex(&record.key),
        value,
        value_hex,
    })
    .map_err(StoreError::Encode)
}

/// Records per tree.
pub fn counts(records: &[RawRecord]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r.tree.clone()).or_insert(0) += 1;
    }
    out
}

/// What a migration did.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    /// Records per tree, the same in both stores afterwards.
    pub counts: BTreeMap<String, usize>,
    /// Records that were already in the target as they are (a repeated migration).
    pub unchanged: usize,
}

/// Copies every record of `from` into `to`, then checks that `to` holds exactly the same
/// records. Repeating it changes nothing. Refused (after the copy) when `to` held other
/// records besides: it was not empty, and is not a copy of `from`.
pub fn migrate(from: &dyn RawStore, to: &dyn RawStore) -> Result<Migrated, StoreError> {
    let source = from.raw_records()?;
    let before: BTreeMap<(String, Vec<u8>), Vec<u8>> = to
        .raw_records()?
        .into_iter()
        .map(|r| ((r.tree, r.key), r.value))
        .collect();
    let fresh: Vec<RawRecord> = source
        .iter()
        .filter(|r| before.get(&(r.tree.clone(), r.key.clone())) != Some(&r.value))
        .cloned()
        .collect();
    let unchanged = source.len() - fresh.len();
    to.put_raw(&fresh)?;
    let after = to.raw_records()?;
    let (want, got) = (counts(&source), counts(&after));
    if want != got || after != source {
        return Err(StoreError::Mismatch(format!(
            "after the copy the target holds {} records ({}), the source {} ({}): the target was not empty and holds records of another store",
            after.len(),
            show(&got),
            source.len(),
            show(&want)
        )));
    }
    Ok(Migrated {
        counts: want,
        unchanged,
    })
}

/// `tree n, tree n, ...`.
pub fn show(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
