//! The sync loop. The position (`next_batch`) is the bot's own, kept in
//! `<data_dir>/matrix/sync-token` and written only after every command of a batch has been
//! handled by the dispatcher, so a crash re-delivers at most the batch it was in (the
//! dispatcher's dedupe by event id turns a repeated job command into "already handled"), and
//! nothing is lost. The first start skips history: the commands of the initial sync are old.

use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::config::{SyncSettings, SyncToken};
use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, RoomMemberships};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::MatrixError;
use super::decode::{self, Item};
use super::latency::Arrivals;
use super::rooms::{self, Access};
use super::{files, gap};
use crate::chat::backoff::{self, Backoff};
use crate::chat::{Handled, Incoming};

const TOKEN_FILE: &str = "sync-token";
/// Timeline events per room in one sync after the bot was down (Synapse's default is 10); what
/// does not fit is read back with `/messages` (`gap.rs`). The first sync takes 1: it is history.
const TIMELINE_LIMIT: u32 = 100;
/// First wait after a failed sync; doubles up to `retry_max`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What the loop needs besides the client.
pub(super) struct SyncCtx {
    pub dir: PathBuf,
    pub access: Access,
    pub timeout: Duration,
    pub retry_max: Duration,
    pub arrivals: Arrivals,
}

/// Syncs until `shutdown`, delivering each sync's commands to `inbox` together (rooms are
/// answered side by side) and moving the position once all of them are handled.
pub(super) async fn run(
    client: Client,
    ctx: SyncCtx,
    inbox: mpsc::Sender<Incoming>,
    shutdown: CancellationToken,
) -> Result<(), MatrixError> {
    let own = client
        .user_id()
        .map(|u| u.to_string())
        .ok_or_else(|| MatrixError::Login("the client has no session".into()))?;
    // Invites that were pending when the bot stopped (or that it could not answer then).
    for room in client.invited_rooms() {
        rooms::on_invite(&client, room.room_id(), &ctx.access).await;
    }
    let mut since = read_token(&ctx.dir)?;
    let mut backoff = Backoff::new(FIRST_BACKOFF, ctx.retry_max);
    loop {
        let first = since.is_none();
        let settings = SyncSettings::new()
            .token(SyncToken::from_optional_token(since.clone()))
            .filter(timeline_filter(if first { 1 } else { TIMELINE_LIMIT }))
            .timeout(if first { Duration::ZERO } else { ctx.timeout });
        let response = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            r = client.sync_once(settings) => r,
        };
        let arrived = std::time::Instant::now();
        let response = match response {
            Ok(r) => {
                backoff.reset();
                r
            }
            Err(e) => {
                if matches!(
                    e.client_api_error_kind(),
                    Some(ErrorKind::UnknownToken { .. })
                ) {
                    return Err(MatrixError::Login(
                        "the homeserver no longer accepts the bot's session (logged out?); \
                         remove <data_dir>/matrix/session.json to log in again"
                            .into(),
                    ));
                }
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "Matrix sync failed; retrying");
                if !backoff::pause(delay, &shutdown).await {
                    return Ok(());
                }
                continue;
            }
        };
        for room_id in response.rooms.invited.keys() {
            rooms::on_invite(&client, room_id, &ctx.access).await;
        }
        if let Some(since) = since.as_deref().filter(|_| !first) {
            let commands = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                c = commands_of(&client, &response, since, &own) => c,
            };
            let commands = match commands {
                Ok(c) => c,
                Err(e) => {
                    // Nothing of this sync was delivered: it is repeated from the same position.
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "reading the messages of a gap failed; retrying the sync");
                    if !backoff::pause(delay, &shutdown).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            // All of the batch goes to intake at once (rooms are answered side by side), then
            // the position moves only once every one of them is handled.
            let mut waits = Vec::new();
            for msg in commands {
                let event = msg.event_id.clone();
                ctx.arrivals.arrived(&event, arrived);
                match deliver(msg, &inbox, &shutdown).await {
                    Some(done) => waits.push((event, done)),
                    // Stopping: the position stays before this batch, so it comes again.
                    None => return Ok(()),
                }
            }
            for (event, done) in waits {
                let handled = tokio::select! {
                    _ = shutdown.cancelled() => false,
                    r = done => r.is_ok(),
                };
                ctx.arrivals.take(&event);
                if !handled {
                    return Ok(());
                }
            }
        } else {
            tracing::info!("first Matrix sync done; earlier messages are history and not run");
        }
        write_token(&ctx.dir, &response.next_batch)?;
        since = Some(response.next_batch);
    }
}

/// The commands of one sync, room by room, oldest first. A room whose timeline is limited (more
/// arrived since `since` than one sync returns) has its gap read first; a room the bot has just
/// joined starts at its join (what came before is history).
async fn commands_of(
    client: &Client,
    response: &SyncResponse,
    since: &str,
    own: &str,
) -> Result<Vec<Incoming>, matrix_sdk::Error> {
    let mut all = Vec::new();
    for (room_id, update) in &response.rooms.joined {
        let room = room_id.as_str();
        let timeline = &update.timeline;
        let mut events: Vec<&TimelineEvent> = timeline.events.iter().collect();
        let joined_now = events
            .iter()
            .any(|ev| matches!(classify(ev, room, own), Some(Item::OwnJoin)));
        let gap;
        if timeline.limited
            && !joined_now
            && let (Some(from), Some(joined)) = (&timeline.prev_batch, client.get_room(room_id))
        {
            gap = gap::read(&joined, from, since).await?;
            tracing::info!(
                room,
                events = gap.events.len(),
                "read back the messages the sync left out"
            );
            if !gap.complete {
                tracing::warn!(
                    room,
                    read = gap.events.len(),
                    "more messages arrived while the bot was away than it reads back; the oldest were not read"
                );
            }
            events.splice(0..0, gap.events.iter());
        }
        // A room of two (the bot and one person) is that person's private chat with the bot.
        // (The members the store knows, not the sync summary, which Synapse sends only with
        // lazy-loaded members.)
        let private = match client.get_room(room_id) {
            Some(r) => r
                .members_no_sync(RoomMemberships::JOIN)
                .await
                .is_ok_and(|m| m.len() == 2),
            None => false,
        };
        let mut commands = Vec::new();
        for ev in events {
            match classify(ev, room, own) {
                Some(Item::Command(msg)) => commands.push(Incoming { private, ..*msg }),
                Some(Item::OwnJoin) => commands.clear(),
                None => {}
            }
        }
        all.append(&mut commands);
    }
    Ok(all)
}

/// A sync filter keeping at most `limit` timeline events per room.
fn timeline_filter(limit: u32) -> Filter {
    let mut def = FilterDefinition::default();
    def.room.timeline.limit = Some(limit.into());
    Filter::FilterDefinition(def)
}

/// Hands `msg` to intake; returns the signal that it is handled, or `None`: the bot is stopping.
async fn deliver(
    mut msg: Incoming,
    inbox: &mpsc::Sender<Incoming>,
    shutdown: &CancellationToken,
) -> Option<tokio::sync::oneshot::Receiver<()>> {
    let (handled, done) = Handled::new();
    msg.handled = Some(handled);
    tokio::select! {
        _ = shutdown.cancelled() => None,
        sent = inbox.send(msg) => sent.is_ok().then_some(done),
    }
}

/// What `ev` is to the bot ([`decode::classify`] of its JSON).
fn classify(ev: &TimelineEvent, room: &str, own: &str) -> Option<Item> {
    decode::classify(ev.raw().json().get(), room, own)
}

fn token_path(dir: &Path) -> PathBuf {
    dir.join(TOKEN_FILE)
}

fn read_token(dir: &Path) -> Result<Option<String>, MatrixError> {
    let path = token_path(dir);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(MatrixError::Io(path.display().to_string(), e)),
    }
}

/// Replaces the stored position atomically.
fn write_token(dir: &Path, token: &str) -> Result<(), MatrixError> {
    files::replace(dir, TOKEN_FILE, token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::HELP_NOTE;
    use super::*;
    use matrix_sdk::ruma::serde::Raw;

    fn event(json: serde_json::Value) -> TimelineEvent {
        let raw: Raw<matrix_sdk::ruma::events::AnySyncTimelineEvent> =
            Raw::new(&json).unwrap().cast_unchecked();
        TimelineEvent::from_plaintext(raw)
    }

    fn msg(sender: &str, content: serde_json::Value) -> TimelineEvent {
        event(serde_json::json!({
            "type": "m.room.message", "sender": sender, "event_id": "$e",
            "origin_server_ts": 1, "content": content,
        }))
    }

    fn command(ev: &TimelineEvent, room: &str, own: &str) -> Option<Incoming> {
        match classify(ev, room, own) {
            Some(Item::Command(m)) => Some(*m),
            _ => None,
        }
    }

    #[test]
    fn own_join_is_recognised_but_not_a_profile_change() {
        let member = |prev: Option<&str>| {
            let mut e = serde_json::json!({"type": "m.room.member", "sender": "@bot:lab",
                "state_key": "@bot:lab", "event_id": "$j", "origin_server_ts": 1,
                "content": {"membership": "join"}});
            if let Some(p) = prev {
                e["unsigned"] = serde_json::json!({"prev_content": {"membership": p}});
            }
            event(e)
        };
        assert!(matches!(
            classify(&member(None), "!r", "@bot:lab"),
            Some(Item::OwnJoin)
        ));
        assert!(matches!(
            classify(&member(Some("invite")), "!r", "@bot:lab"),
            Some(Item::OwnJoin)
        ));
        assert!(classify(&member(Some("join")), "!r", "@bot:lab").is_none());
        assert!(classify(&member(None), "!r", "@other:lab").is_none());
    }

    #[test]
    fn only_commands_from_others_pass() {
        let own = "@bot:lab";
        let text = |b: &str| serde_json::json!({"msgtype": "m.text", "body": b});
        let m = command(&msg("@op:lab", text("  !help ")), "!r", own).unwrap();
        assert_eq!((m.text.as_str(), m.sender.as_str()), ("!help", "@op:lab"));
        assert_eq!(m.help_note, Some(HELP_NOTE));
        assert!(command(&msg("@op:lab", text("/whoami")), "!r", own).is_some());
        assert!(command(&msg("@op:lab", text("hello")), "!r", own).is_none());
        assert!(command(&msg(own, text("!help")), "!r", own).is_none());
        let notice = serde_json::json!({"msgtype": "m.notice", "body": "!help"});
        assert!(command(&msg("@op:lab", notice), "!r", own).is_none());
        let edit = serde_json::json!({"msgtype": "m.text", "body": "* !selftest",
            "m.new_content": {"msgtype": "m.text", "body": "!selftest"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"}});
        let e = command(&msg("@op:lab", edit), "!r", own).unwrap();
        assert_eq!(
            e.edit_of.as_deref(),
            Some("$old"),
            "an edit is marked as one"
        );
        assert!(m.edit_of.is_none());
        let chatter = serde_json::json!({"msgtype": "m.text", "body": "* hi",
            "m.new_content": {"msgtype": "m.text", "body": "hi"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"}});
        assert!(command(&msg("@op:lab", chatter), "!r", own).is_none());
        let utd = event(
            serde_json::json!({"type": "m.room.encrypted", "sender": "@op:lab",
            "event_id": "$x", "origin_server_ts": 1, "content": {"algorithm": "m.megolm.v1.aes-sha2"}}),
        );
        assert!(command(&utd, "!r", own).is_none());
    }

    #[test]
    fn token_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_token(dir.path()).unwrap(), None);
        write_token(dir.path(), "s72_1").unwrap();
        assert_eq!(read_token(dir.path()).unwrap().as_deref(), Some("s72_1"));
    }
}
