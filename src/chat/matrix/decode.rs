//! What a Matrix timeline event is to the bot: a command from a person, the bot's own join,
//! or nothing. Pure functions of the event's JSON, so the sync loop, the tests and fuzzing
//! reach the same code without a client.

use serde::Deserialize;

use super::{HELP_NOTE, PLATFORM};
use crate::chat::Incoming;

/// The parts of a timeline event a command needs.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    sender: String,
    event_id: String,
    #[serde(default)]
    origin_server_ts: Option<u64>,
    #[serde(default)]
    state_key: Option<String>,
    #[serde(default)]
    content: Content,
    #[serde(default)]
    unsigned: Unsigned,
}

#[derive(Default, Deserialize)]
struct Unsigned {
    #[serde(default)]
    prev_content: Option<Content>,
}

/// What an event is to the bot.
pub enum Item {
    /// A command for the dispatcher.
    Command(Incoming),
    /// The bot itself joined the room: what came before is history.
    OwnJoin,
}

#[derive(Default, Deserialize)]
struct Content {
    #[serde(default)]
    membership: Option<String>,
    #[serde(default)]
    msgtype: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(rename = "m.relates_to", default)]
    relates_to: Option<Relation>,
}

#[derive(Deserialize)]
struct Relation {
    #[serde(default)]
    rel_type: Option<String>,
}

/// What the event `json` (from room `room`; `own` is the bot's user id) is to the bot: a command (a text message, not a notice, not an edit, from
/// someone else, starting with `!` or `/`), the bot's own join, or nothing.
pub fn classify(json: &str, room: &str, own: &str) -> Option<Item> {
    let event: Event = match serde_json::from_str(json) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!(error = %e, "skipping an event that is not a message");
            return None;
        }
    };
    if event.kind == "m.room.member" && event.state_key.as_deref() == Some(own) {
        let was = |m: &str| {
            let prev = event.unsigned.prev_content.as_ref();
            prev.and_then(|c| c.membership.as_deref()) == Some(m)
        };
        let joined = event.content.membership.as_deref() == Some("join") && !was("join");
        return joined.then_some(Item::OwnJoin);
    }
    if event.kind == "m.room.encrypted" {
        tracing::warn!(room, event = %event.event_id, "cannot decrypt a message (no room key for the bot's device)");
        return None;
    }
    let c = &event.content;
    let edit = c
        .relates_to
        .as_ref()
        .is_some_and(|r| r.rel_type.as_deref() == Some("m.replace"));
    if event.kind != "m.room.message"
        || event.sender == own
        || c.msgtype.as_deref() != Some("m.text")
        || edit
    {
        return None;
    }
    let text = c.body.as_deref()?.trim();
    if !text.starts_with(['!', '/']) {
        return None;
    }
    Some(Item::Command(Incoming {
        platform: PLATFORM.into(),
        room: room.into(),
        sender: event.sender,
        event_id: event.event_id,
        text: text.into(),
        bot_username: None,
        help_note: Some(HELP_NOTE),
        sent_at_ms: event.origin_server_ts,
        // Set by the caller, which knows the room's members.
        private: false,
        handled: None,
    }))
}
