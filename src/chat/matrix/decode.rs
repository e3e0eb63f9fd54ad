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
    Command(Box<Incoming>),
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
    #[serde(rename = "m.new_content", default)]
    new_content: Option<NewContent>,
}

#[derive(Deserialize)]
struct Relation {
    #[serde(default)]
    rel_type: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
}

/// The content an edit (`m.replace`) gives the message it edits.
#[derive(Deserialize)]
struct NewContent {
    #[serde(default)]
    msgtype: Option<String>,
    #[serde(default)]
    body: Option<String>,
}

/// What the event `json` (from room `room`; `own` is the bot's user id) is to the bot: a command
/// (a text message, not a notice, from someone else, starting with `!` or `/`; an edit that
/// makes a message such a command comes marked [`Incoming::edit_of`], never to be run), the
/// bot's own join, or nothing.
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
    let edited = c
        .relates_to
        .as_ref()
        .filter(|r| r.rel_type.as_deref() == Some("m.replace"))
        .map(|r| r.event_id.clone().unwrap_or_default());
    if event.kind != "m.room.message" || event.sender == own {
        return None;
    }
    // An edit counts by what it makes the message: a command it is told it will not run.
    let (msgtype, body) = match (&edited, &c.new_content) {
        (Some(_), Some(n)) => (n.msgtype.as_deref(), n.body.as_deref()),
        (Some(_), None) => return None,
        (None, _) => (c.msgtype.as_deref(), c.body.as_deref()),
    };
    if msgtype != Some("m.text") {
        return None;
    }
    let text = body?.trim();
    if !text.starts_with(['!', '/']) {
        return None;
    }
    Some(Item::Command(Box::new(Incoming {
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
        edit_of: edited,
        handled: None,
    })))
}
