//! Records that do not decode (written by a bug, a newer release's record in an older tree, a
//! damaged disk) are moved aside rather than failing every listing and the worker: the raw
//! bytes are kept in the `quarantine` tree with the reason, logged, and listed by
//! `labkube jobs`, so nothing is lost and an admin can see what was set aside.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codec::{self, decode};
use super::{StoreError, now_ms};

/// A record set aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The tree it was in.
    pub tree: String,
    /// Its key there, printable.
    pub key: String,
    /// Why it was set aside (the decode error).
    pub reason: String,
    /// Unix milliseconds.
    pub at_ms: u64,
    /// The record's bytes, in hex.
    pub raw_hex: String,
}

impl std::fmt::Display for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} set aside at {}: {}",
            self.tree,
            self.key,
            super::rfc3339(self.at_ms),
            self.reason
        )
    }
}

impl Quarantined {
    /// Its key in the `quarantine` tree: `tree \x1f key`.
    pub(super) fn store_key(&self) -> String {
        format!("{}\u{1f}{}", self.tree, self.key)
    }
}

/// `raw` (at `key` of tree `name`) decoded; or, if it does not decode, handed to `set_aside`
/// (which moves it into the store's quarantine, with a job's index entries) and read as
/// `None`. Every store reads its records through this, so they set aside the same records.
pub(super) fn decode_or_set_aside<T: DeserializeOwned>(
    name: &str,
    key: &[u8],
    raw: &[u8],
    set_aside: impl FnOnce(&Quarantined) -> Result<(), StoreError>,
) -> Result<Option<T>, StoreError> {
    // Job keys are big-endian numbers: shown as the job number.
    let shown = match <[u8; 8]>::try_from(key) {
        Ok(id) if name == "jobs" => u64::from_be_bytes(id).to_string(),
        _ => codec::show_key(key),
    };
    match decode(name, &shown, raw) {
        Ok(v) => Ok(Some(v)),
        Err(why @ StoreError::Decode { .. }) => {
            let record = Quarantined {
                tree: name.to_string(),
                key: shown,
                reason: why.to_string(),
                at_ms: now_ms(),
                raw_hex: raw.iter().map(|b| format!("{b:02x}")).collect(),
            };
            set_aside(&record)?;
            tracing::error!(record = %record, "a store record does not decode; it was set aside in the quarantine tree (labkube jobs lists it)");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
