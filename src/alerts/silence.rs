//! Silences: `/silence` keeps a release, a node or a whole cluster quiet until a time. Kept in
//! the store (they survive restarts), numbered, and dropped once expired.

use serde::{Deserialize, Serialize};

use crate::alerts::incident::{Room, Subject, span};
use crate::store::{JobStore, StoreError, rfc3339};

/// One silence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Its number (`/unsilence N`).
    pub number: u64,
    /// The cluster.
    pub cluster: String,
    /// What is quiet; [`Subject::Cluster`]: everything on the cluster.
    pub subject: Subject,
    /// Until when (Unix ms).
    pub until_ms: u64,
    /// Why, as given.
    pub reason: String,
    /// Who set it, as the room knows them.
    pub by: String,
    /// The room it was set in.
    pub room: Room,
}

impl Silence {
    /// Whether it keeps `subject` of `cluster` quiet at `now_ms`.
    pub fn covers(&self, cluster: &str, subject: &Subject, now_ms: u64) -> bool {
        self.cluster == cluster
            && now_ms < self.until_ms
            && (self.subject == Subject::Cluster || self.subject == *subject)
    }

    /// What it keeps quiet: `orion in demo on lab-1`, `everything on cluster lab-1`.
    pub fn target(&self) -> String {
        match &self.subject {
            Subject::Cluster => format!("everything on cluster {}", self.cluster),
            other => other.describe(&self.cluster),
        }
    }

    /// `silence #3: orion in demo on lab-1 until 2026-12-07T14:05:00Z (2 h left), set by
    /// ada: upgrading the broker`.
    pub fn line(&self, now_ms: u64) -> String {
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", self.reason)
        };
        format!(
            "silence #{}: {} until {} ({} left), set by {}{reason}",
            self.number,
            self.target(),
            rfc3339(self.until_ms),
            span(self.until_ms.saturating_sub(now_ms)),
            self.by
        )
    }
}

/// The silences in force at `now_ms`, by number; expired ones leave the store.
pub fn in_force(store: &dyn JobStore, now_ms: u64) -> Result<Vec<Silence>, StoreError> {
    let mut out = Vec::new();
    for (number, json) in store.silence_records()? {
        match serde_json::from_str::<Silence>(&json) {
            Ok(s) if s.until_ms > now_ms => out.push(s),
            Ok(_) => {
                store.remove_silence(number)?;
            }
            Err(e) => {
                tracing::warn!(silence = number, error = %e, "a silence in the store is unreadable; it is dropped");
                store.remove_silence(number)?;
            }
        }
    }
    out.sort_by_key(|s| s.number);
    Ok(out)
}

/// Numbers and stores a new silence; returns it.
pub fn set(store: &dyn JobStore, mut silence: Silence) -> Result<Silence, StoreError> {
    silence.number = store.next_silence_number()?;
    let json = serde_json::to_string(&silence).map_err(StoreError::Encode)?;
    store.put_silence(silence.number, &json)?;
    Ok(silence)
}

/// Ends silence `number`.
pub fn end(store: &dyn JobStore, number: u64) -> Result<bool, StoreError> {
    store.remove_silence(number)
}
