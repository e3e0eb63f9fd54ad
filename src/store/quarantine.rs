//! Records that do not decode (written by a bug, a newer release's record in an older tree, a
//! damaged disk) are moved aside rather than failing every listing and the worker: the raw
//! bytes are kept in the `quarantine` tree with the reason, logged, and listed by
//! `labkube jobs`, so nothing is lost and an admin can see what was set aside.

use serde::{Deserialize, Serialize};

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
