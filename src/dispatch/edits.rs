//! Edited commands: never run, and the person who edited one is told so once per message
//! (a second edit of the same message gets no second notice).

use super::Dispatcher;
use crate::chat::Incoming;
use std::collections::{HashSet, VecDeque};

/// Most edited messages remembered; past it the oldest is forgotten (its next edit is told
/// again, which is harmless).
const REMEMBERED: usize = 1000;

/// The messages whose edit was answered already, oldest first.
#[derive(Default)]
pub(super) struct Told {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Told {
    /// Whether `original` is told now for the first time (and, if so, it counts as told).
    fn first(&mut self, original: &str) -> bool {
        if !self.ids.insert(original.to_string()) {
            return false;
        }
        self.order.push_back(original.to_string());
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

impl Dispatcher {
    /// Answers an edit that makes message `original` a command: it is not run.
    pub(super) async fn edited(&self, msg: &Incoming, original: &str) {
        let first = self
            .edits_told
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first(original);
        if !first {
            return;
        }
        let text = format!(
            "edits are not run: to run {}, send it as a new message",
            crate::command::redact_text(&msg.text)
        );
        let sent = self
            .chat
            .reply_notifying(&msg.platform, &msg.room, original, &msg.sender, &text)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, platform = %msg.platform, "cannot send a reply");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_is_told_once_and_memory_is_bounded() {
        let mut t = Told::default();
        assert!(t.first("$a"));
        assert!(!t.first("$a"));
        for i in 0..REMEMBERED {
            assert!(t.first(&format!("$m{i}")));
        }
        assert_eq!(t.ids.len(), REMEMBERED);
        assert!(t.first("$a"), "the oldest was forgotten");
    }
}
