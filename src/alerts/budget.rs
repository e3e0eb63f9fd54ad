//! The cap on alert messages per room per minute (`[alerts] room_per_minute`): past it, new
//! incidents are folded into one message per room and minute, edited as more come, instead of
//! being dropped. Nothing here does I/O.

use std::collections::{HashMap, VecDeque};

use crate::alerts::incident::Room;
use crate::progress::MessageRef;

/// The window the cap counts in.
pub const WINDOW_MS: u64 = 60_000;
/// Lines listed in one folded message (the rest are counted).
const LINES_MAX: usize = 40;

/// What to do with a new incident's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send it on its own.
    Send,
    /// Fold it: show `text` in the room's folded message (`None`: send a new one).
    Fold {
        /// The folded message's whole text.
        text: String,
        /// The folded message of this minute, if sent already.
        message: Option<MessageRef>,
    },
}

#[derive(Debug, Default)]
struct RoomBudget {
    /// When the last messages went out (Unix ms), oldest first.
    sent: VecDeque<u64>,
    /// This minute's folded message.
    fold: Option<Fold>,
}

#[derive(Debug)]
struct Fold {
    started_ms: u64,
    lines: Vec<String>,
    count: usize,
    message: Option<MessageRef>,
}

/// Every room's budget.
#[derive(Debug)]
pub struct Budget {
    per_minute: usize,
    rooms: HashMap<(String, String), RoomBudget>,
}

impl Budget {
    /// A cap of `per_minute` messages per room.
    pub fn new(per_minute: u32) -> Budget {
        Budget {
            per_minute: per_minute as usize,
            rooms: HashMap::new(),
        }
    }

    /// Decides for a new incident told in `room` at `now_ms` with `line`; a [`Decision::Send`]
    /// is counted at once.
    pub fn decide(&mut self, room: &Room, line: &str, now_ms: u64) -> Decision {
        let b = self
            .rooms
            .entry((room.platform.clone(), room.room.clone()))
            .or_default();
        while b
            .sent
            .front()
            .is_some_and(|&t| now_ms.saturating_sub(t) >= WINDOW_MS)
        {
            b.sent.pop_front();
        }
        if b.sent.len() < self.per_minute {
            b.sent.push_back(now_ms);
            return Decision::Send;
        }
        let fresh = b
            .fold
            .as_ref()
            .is_none_or(|f| now_ms.saturating_sub(f.started_ms) >= WINDOW_MS);
        if fresh {
            b.fold = Some(Fold {
                started_ms: now_ms,
                lines: Vec::new(),
                count: 0,
                message: None,
            });
        }
        let Some(fold) = b.fold.as_mut() else {
            return Decision::Send;
        };
        fold.count += 1;
        if fold.lines.len() < LINES_MAX {
            fold.lines.push(line.to_string());
        }
        let more = match fold.count - fold.lines.len() {
            0 => String::new(),
            n => format!("\n... and {n} more"),
        };
        let text = format!(
            "{} more incident(s) this minute, past the cap of {} alert messages per minute; \
             /alerts lists every open one:\n{}{more}",
            fold.count,
            self.per_minute,
            fold.lines.join("\n")
        );
        Decision::Fold {
            text,
            message: fold.message.clone(),
        }
    }

    /// The folded message of `room`'s minute was sent as `message`.
    pub fn folded_into(&mut self, room: &Room, message: MessageRef) {
        let key = (room.platform.clone(), room.room.clone());
        if let Some(fold) = self.rooms.get_mut(&key).and_then(|b| b.fold.as_mut()) {
            fold.message = Some(message);
        }
    }
}
