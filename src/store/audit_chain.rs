//! The audit trail as a hash chain: each entry carries `chain` = SHA-256 of the previous
//! entry's `chain` and the entry's own canonical JSON, so an edited, removed or inserted entry
//! breaks every link after it. Retention removes the oldest entries and keeps the `chain` of
//! the last removed one as the anchor the rest hangs from. Every store links and verifies
//! with these functions; `labkube audit verify` prints the head, which an admin can note
//! elsewhere to detect a rewrite of the whole chain.

use sha2::{Digest, Sha256};

use super::audit::{AuditEntry, AuditOutcome};
use super::job::{JobId, NewJob};

/// The anchor of a trail nothing was ever pruned from.
pub const GENESIS: &str = "";

/// `chain` for `entry` after an entry whose `chain` is `prev`.
pub fn link(prev: &str, entry: &AuditEntry) -> String {
    let bare = AuditEntry {
        chain: String::new(),
        ..entry.clone()
    };
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update([0x1e]);
    // Serialising our own plain struct cannot fail; were it ever to, the link still covers
    // the sequence number, so the entry stays bound to its place.
    h.update(serde_json::to_vec(&bare).unwrap_or_else(|_| bare.seq.to_be_bytes().to_vec()));
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every link holds.
    Intact {
        /// Entries checked.
        entries: u64,
        /// Sequence numbers of the first and last entry (`None` for an empty trail).
        span: Option<(u64, u64)>,
        /// `chain` of the last entry (the anchor when there is none).
        head: String,
    },
    /// The first entry whose link does not hold.
    Broken {
        /// Its sequence number.
        seq: u64,
        /// What is wrong.
        why: String,
    },
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Intact {
                entries,
                span: Some((a, b)),
                head,
            } => write!(
                f,
                "audit trail intact: {entries} entries (#{a} to #{b}); head {head}"
            ),
            Verdict::Intact { head, .. } => {
                write!(f, "audit trail intact: no entries; anchor {head:?}")
            }
            Verdict::Broken { seq, why } => write!(
                f,
                "audit trail BROKEN at entry #{seq}: {why}; entries from there on cannot be trusted"
            ),
        }
    }
}

/// Checks `entries` (in sequence order) against `anchor`, and that `head` (the store's record
/// of the last `chain`) is the last entry's, so a removed tail is found too.
pub fn verify(anchor: &str, head: &str, entries: impl IntoIterator<Item = AuditEntry>) -> Verdict {
    let mut prev = anchor.to_string();
    let mut count = 0;
    let mut span = None;
    let mut last_seq: Option<u64> = None;
    for e in entries {
        if let Some(last) = last_seq
            && e.seq != last + 1
        {
            return Verdict::Broken {
                seq: e.seq,
                why: format!("it follows entry #{last}: an entry is missing"),
            };
        }
        let want = link(&prev, &e);
        if e.chain != want {
            return Verdict::Broken {
                seq: e.seq,
                why: "its hash does not match its content and the entry before it (edited, inserted or reordered)".into(),
            };
        }
        span = Some((span.map_or(e.seq, |(a, _)| a), e.seq));
        last_seq = Some(e.seq);
        prev = e.chain;
        count += 1;
    }
    if prev != head {
        return Verdict::Broken {
            seq: last_seq.map_or(0, |s| s + 1),
            why:
                "the trail ends before the store's recorded head: entries were removed from its end"
                    .into(),
        };
    }
    Verdict::Intact {
        entries: count,
        span,
        head: prev,
    }
}

impl AuditEntry {
    /// The entry that records job `id` being queued for `new` (written by the store in the
    /// enqueue's own transaction).
    pub fn queued(new: &NewJob, id: JobId, at_ms: u64) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at_ms,
            who: new.requested_by.clone(),
            room: new.origin.room.clone(),
            command: new.command_text.clone(),
            outcome: AuditOutcome::Queued { job: id },
            chain: String::new(),
        }
    }
}
