//! [`SledStore`]'s audit trail: entries under their sequence number in `audit`, linked by
//! [`audit_chain`]; the head and the anchor in `meta`. Appending is a transaction step so the
//! enqueue can write its entry with the job.

use sled::transaction::{Transactional as _, TransactionalTree};

use super::audit_chain::{self, Verdict};
use super::codec::{
    self, AUDIT_ANCHOR, AUDIT_HEAD, NEXT_AUDIT_SEQ, Record, be, decode, decode_u64, encode,
};
use super::sled_store::{SledStore, TxResult, abort, from_tx, read_counter};
use super::{AuditEntry, StoreError};

pub(super) fn text(raw: Option<&[u8]>) -> String {
    raw.map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_else(|| audit_chain::GENESIS.to_string())
}

/// Appends `entry` with the next sequence number, linked to the head; returns the number.
pub(super) fn append(
    audit: &TransactionalTree,
    meta: &TransactionalTree,
    entry: &AuditEntry,
) -> TxResult<u64> {
    let seq = read_counter(meta, NEXT_AUDIT_SEQ)?;
    let mut entry = AuditEntry {
        seq,
        chain: String::new(),
        ..entry.clone()
    };
    entry.chain = audit_chain::link(&text(meta.get(AUDIT_HEAD)?.as_deref()), &entry);
    audit.insert(&be(seq), encode(&entry).map_err(abort)?)?;
    meta.insert(AUDIT_HEAD, entry.chain.as_bytes())?;
    meta.insert(NEXT_AUDIT_SEQ, &be(seq.saturating_add(1)))?;
    Ok(seq)
}

impl SledStore {
    /// Every entry in order; one that does not decode ends the check there.
    pub(super) fn verify_audit(&self) -> Result<Verdict, StoreError> {
        let anchor = text(self.meta.get(AUDIT_ANCHOR)?.as_deref());
        let head = text(self.meta.get(AUDIT_HEAD)?.as_deref());
        let items = self.audit.iter().map(|item| {
            let (key, raw) = item?;
            Ok((key.to_vec(), raw.to_vec()))
        });
        verify_stored(&anchor, &head, items)
    }

    /// Removes entries older than `before_ms` from the start of the trail; the last removed
    /// one's `chain` becomes the anchor, in the same transaction.
    pub(super) fn prune_audit_before(&self, before_ms: u64) -> Result<usize, StoreError> {
        let items = self.audit.iter().map(|item| {
            let (key, raw) = item?;
            Ok((key.to_vec(), raw.to_vec()))
        });
        let Some(Expired {
            keys: doomed,
            anchor,
        }) = expired(items, before_ms)?
        else {
            return Ok(0);
        };
        (&self.audit, &self.meta)
            .transaction(|(audit, meta)| {
                for key in &doomed {
                    audit.remove(key.as_slice())?;
                }
                meta.insert(AUDIT_ANCHOR, anchor.as_bytes())?;
                Ok(())
            })
            .map_err(from_tx)?;
        self.sync()?;
        Ok(doomed.len())
    }

    /// Schema 2 → 3: links the entries written before the chain existed, in order.
    pub(super) fn link_audit(&self) -> Result<(), StoreError> {
        let mut prev = text(self.meta.get(AUDIT_ANCHOR)?.as_deref());
        let mut batch = sled::Batch::default();
        for item in self.audit.iter() {
            let (key, raw) = item?;
            let seq = decode_u64("audit", &codec::show_key(&key), &key)?;
            let mut entry: AuditEntry = decode("audit", &seq.to_string(), &raw)?;
            entry.chain = audit_chain::link(&prev, &entry);
            batch.insert(&key, encode(&entry)?);
            prev = entry.chain;
        }
        (&self.audit, &self.meta)
            .transaction(|(audit, meta)| {
                audit.apply_batch(&batch)?;
                meta.insert(AUDIT_HEAD, prev.as_bytes())?;
                Ok(())
            })
            .map_err(from_tx)?;
        self.sync()
    }
}

/// [`audit_chain::verify`] over stored entries (key: big-endian sequence number, value: JSON);
/// the first that does not decode or is stored under another number breaks the chain there.
pub(super) fn verify_stored(
    anchor: &str,
    head: &str,
    items: impl IntoIterator<Item = Result<Record, StoreError>>,
) -> Result<Verdict, StoreError> {
    let mut entries = Vec::new();
    for item in items {
        let (key, raw) = item?;
        let seq = decode_u64("audit", &codec::show_key(&key), &key)?;
        match decode::<AuditEntry>("audit", &seq.to_string(), &raw) {
            Ok(e) if e.seq == seq => entries.push(e),
            Ok(e) => {
                return Ok(Verdict::Broken {
                    seq,
                    why: format!("it is stored under #{seq} but says #{}", e.seq),
                });
            }
            Err(e) => {
                return Ok(Verdict::Broken {
                    seq,
                    why: format!("it does not decode ({e})"),
                });
            }
        }
    }
    Ok(audit_chain::verify(anchor, head, entries))
}

/// Audit entries retention removes: their keys, in sequence order, and the `chain` of the
/// last of them (the new anchor).
pub(super) struct Expired {
    /// Keys of the entries.
    pub keys: Vec<Vec<u8>>,
    /// `chain` of the last.
    pub anchor: String,
}

/// The stored entries written before `before_ms`; `None` when there are none.
pub(super) fn expired(
    items: impl IntoIterator<Item = Result<Record, StoreError>>,
    before_ms: u64,
) -> Result<Option<Expired>, StoreError> {
    let mut doomed = Vec::new();
    let mut anchor = None;
    for item in items {
        let (key, raw) = item?;
        let seq = decode_u64("audit", &codec::show_key(&key), &key)?;
        let entry: AuditEntry = decode("audit", &seq.to_string(), &raw)?;
        if entry.at_ms >= before_ms {
            break;
        }
        doomed.push(key);
        anchor = Some(entry.chain);
    }
    Ok(anchor.map(|anchor| Expired {
        keys: doomed,
        anchor,
    }))
}
