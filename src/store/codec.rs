//! Byte layout of [`SledStore`](super::SledStore)'s records: big-endian integer keys (so sled's
//! byte order is numeric order), JSON values, and decode errors that name the tree and key.

use serde::Serialize;
use serde::de::{DeserializeOwned, Error as _};

use super::StoreError;
use super::job::JobId;

/// The trees of the store besides the small records' ([`super::Space`]), by name: the same in
/// sled and in etcd.
pub(crate) const TREES: [&str; 10] = [
    "jobs",
    "queue",
    "active",
    "events",
    "dedupe",
    "audit",
    "clusters",
    "claims",
    "meta",
    "quarantine",
];

/// A stored record: its key and its value, as bytes.
pub(crate) type Record = (Vec<u8>, Vec<u8>);

/// Name of the `next_job_id` counter in the `meta` tree.
pub(crate) const NEXT_JOB_ID: &[u8] = b"next_job_id";
/// Name of the `next_audit_seq` counter in the `meta` tree.
pub(crate) const NEXT_AUDIT_SEQ: &[u8] = b"next_audit_seq";
/// `meta` key of the audit trail's head: the `chain` of its last entry.
pub(crate) const AUDIT_HEAD: &[u8] = b"audit_head";
/// `meta` key of the audit trail's anchor: the `chain` of the last entry retention removed.
pub(crate) const AUDIT_ANCHOR: &[u8] = b"audit_anchor";

/// Big-endian bytes of a number, the key of `jobs`, `queue`, `active` and `audit`.
pub(crate) fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Key of a log line in `events`: job id then sequence number, both big-endian, so one job's
/// lines are contiguous and in order.
pub(crate) fn event_key(id: JobId, seq: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&id.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Printable form of an `events` key: `job/seq`, or hex if it is not 16 bytes.
pub(crate) fn show_event_key(key: &[u8]) -> String {
    match (key.get(..8), key.get(8..)) {
        (Some(id), Some(seq)) if key.len() == 16 => {
            let num = |b: &[u8]| {
                <[u8; 8]>::try_from(b)
                    .map(u64::from_be_bytes)
                    .unwrap_or_default()
            };
            format!("{}/{}", num(id), num(seq))
        }
        _ => key.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Printable form of a key for error messages: UTF-8 if it is, hex otherwise.
pub(crate) fn show_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => key.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A [`StoreError::Decode`] for `tree/key` with our own message.
pub(crate) fn corrupt(tree: &str, key: &str, msg: &str) -> StoreError {
    StoreError::Decode {
        key: format!("{tree}/{key}"),
        source: serde_json::Error::custom(msg),
    }
}

/// Reads an 8-byte big-endian number (a key of an id-keyed tree, or a stored id or counter).
pub(crate) fn decode_u64(tree: &str, key: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| {
            corrupt(
                tree,
                key,
                &format!("expected an 8-byte number, found {} bytes", bytes.len()),
            )
        })
}

/// Decodes a JSON value stored at `tree/key`.
pub(crate) fn decode<T: DeserializeOwned>(
    tree: &str,
    key: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
        key: format!("{tree}/{key}"),
        source,
    })
}

/// Encodes a value as JSON.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::Encode)
}
