//! What a Telegram update carries for the dispatcher: a text message or a button press from a
//! person, as an [`Incoming`]. Pure functions of the update, so the poller, the tests and
//! fuzzing reach the same code; the poller adds what has effects (answering a press,
//! leaving a group).

use teloxide::types::{CallbackQuery, ChatKind, Message, PublicChatKind};

use super::{PLATFORM, keyboard};
use crate::chat::Incoming;

/// A person's text message (not a bot's, not a channel post).
pub fn message(m: &Message, username: &str) -> Option<Incoming> {
    let from = m.from.as_ref()?;
    if from.is_bot
        || matches!(m.chat.kind, ChatKind::Public(ref p) if matches!(p.kind, PublicChatKind::Channel(_)))
    {
        return None;
    }
    let text = m.text()?.to_string();
    Some(Incoming {
        platform: PLATFORM.into(),
        room: m.chat.id.0.to_string(),
        sender: from.id.0.to_string(),
        event_id: m.id.0.to_string(),
        text,
        bot_username: Some(username.to_string()),
        help_note: None,
        // `date` is in whole seconds; one before the epoch is as old as it gets.
        sent_at_ms: Some(u64::try_from(m.date.timestamp_millis()).unwrap_or(0)),
        private: m.chat.is_private(),
        edit_of: None,
        handled: None,
    })
}

/// A person's press of one of the bot's buttons: the command the button stands for, from the
/// presser, answering the message it sits under.
pub fn press(q: &CallbackQuery, username: &str) -> Option<Incoming> {
    let command = q.data.as_deref().and_then(keyboard::command_of);
    let message = q.message.as_ref()?;
    if q.from.is_bot {
        return None;
    }
    Some(Incoming {
        platform: PLATFORM.into(),
        room: message.chat().id.0.to_string(),
        sender: q.from.id.0.to_string(),
        event_id: super::presses::event_id(message.id().0, &q.id.0),
        text: command?,
        bot_username: Some(username.to_string()),
        help_note: None,
        // A press is answered as it happens; the message it sits under may be old.
        sent_at_ms: None,
        private: message.chat().is_private(),
        edit_of: None,
        handled: None,
    })
}
