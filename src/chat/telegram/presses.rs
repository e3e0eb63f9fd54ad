//! Button presses waiting for their answer. Telegram shows a spinner on a pressed button until
//! the bot answers the callback query, and only that answer (`answerCallbackQuery`) reaches the
//! presser alone. So a press is not answered when it arrives: the dispatcher's reply to it (a
//! refusal, or what the press did) becomes the answer, shown to the presser as an alert, and a
//! press nothing replied to (a stranger's) is answered silently once it is handled. Each press
//! is answered once: whoever takes it answers it.

use std::collections::HashMap;
use std::sync::Mutex;

/// Telegram's limit on a callback answer's text, in characters.
pub const MAX_ANSWER: usize = 200;

/// Presses not answered yet: the callback query id by the press's event id.
#[derive(Default)]
pub struct Presses(Mutex<HashMap<String, String>>);

impl Presses {
    /// Holds the answer to query `query`, the press delivered as `event`.
    pub fn hold(&self, event: &str, query: &str) {
        self.lock().insert(event.to_string(), query.to_string());
    }

    /// The query of the press delivered as `event`, if it is still unanswered; whoever takes it
    /// answers it.
    pub fn take(&self, event: &str) -> Option<String> {
        self.lock().remove(event)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The event id of a press of a button under message `message`: the message id (what a reply
/// to the press answers), `/cb`, the callback query id.
pub fn event_id(message: i32, query: &str) -> String {
    format!("{message}/cb{query}")
}

/// Whether `event` is a press's event id ([`event_id`]).
pub fn is_press(event: &str) -> bool {
    event.contains("/cb")
}

/// `text` cut to [`MAX_ANSWER`] characters, ending in `…` when cut.
pub fn answer_text(text: &str) -> String {
    if text.chars().count() <= MAX_ANSWER {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_ANSWER - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_press_is_taken_once_and_answers_fit() {
        assert_eq!(event_id(12, "7"), "12/cb7");
        assert!(is_press("12/cb7") && !is_press("12"));
        let p = Presses::default();
        p.hold("12/cb7", "7");
        assert_eq!(p.take("12/cb7").as_deref(), Some("7"));
        assert_eq!(p.take("12/cb7"), None);
        assert_eq!(answer_text("short"), "short");
        let long = answer_text(&"x".repeat(500));
        assert_eq!(long.chars().count(), MAX_ANSWER);
        assert!(long.ends_with('…'));
    }
}
