//! A person on Matrix: a second matrix-sdk client (in-memory store, so it decrypts encrypted
//! rooms too) that syncs in the background and records every message of its room.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::media::{MediaFormat, MediaRequestParameters};
use matrix_sdk::ruma::events::room::message::{
    FileMessageEventContent, OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedRoomId, RoomId};
use matrix_sdk::{Client, Room};
use serde_json::Value;

use super::{BotMessage, TestUser};

/// One recorded message: room, sender, event id, content as JSON.
type Seen = (String, String, String, Value);

/// A logged-in test client.
pub struct MatrixUser {
    pub client: Client,
    pub room: OwnedRoomId,
    bot: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    sync: tokio::task::JoinHandle<()>,
}

/// Logs `user` in (a fresh device, in-memory store).
pub async fn login(url: &str, user: &str, password: &str) -> Client {
    let client = Client::builder().homeserver_url(url).build().await.unwrap();
    client
        .matrix_auth()
        .login_username(user, password)
        .send()
        .await
        .unwrap();
    client
}

impl MatrixUser {
    /// Records `room` for `client` from now on, syncing in the background (a failed sync, e.g.
    /// while the homeserver restarts, is retried).
    pub fn watch(client: Client, room: &RoomId, bot: &str) -> Arc<MatrixUser> {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let rec = seen.clone();
        client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
            let rec = rec.clone();
            async move {
                let content = serde_json::to_value(&ev.content).unwrap_or_default();
                rec.lock().unwrap().push((
                    room.room_id().to_string(),
                    ev.sender.to_string(),
                    ev.event_id.to_string(),
                    content,
                ));
            }
        });
        let c = client.clone();
        // Its own loop over sync_once: matrix-sdk's `sync` waits a second between two syncs
        // less than a second apart, which would add up to a second to every round trip.
        let sync = tokio::spawn(async move {
            let mut since: Option<String> = None;
            loop {
                let mut settings = SyncSettings::default().timeout(Duration::from_secs(5));
                if let Some(t) = &since {
                    settings = settings.token(t.clone());
                }
                match c.sync_once(settings).await {
                    Ok(r) => since = Some(r.next_batch),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        Arc::new(MatrixUser {
            client,
            room: room.to_owned(),
            bot: bot.to_string(),
            seen,
            sync,
        })
    }

    /// Every file (`m.file`) the bot sent to the room: its event id, its content as sent, and
    /// the file itself, downloaded (and decrypted in an encrypted room) as a client would.
    pub async fn bot_files(&self) -> Vec<(String, Value, Vec<u8>)> {
        self.bot_files_in(&self.room).await
    }

    /// [`MatrixUser::bot_files`] in another room the user is in (a direct room).
    pub async fn bot_files_in(&self, in_room: &RoomId) -> Vec<(String, Value, Vec<u8>)> {
        let seen = self.seen.lock().unwrap().clone();
        let mut out = Vec::new();
        for (room, sender, id, content) in seen {
            if room != in_room.as_str() || sender != self.bot || content["msgtype"] != "m.file" {
                continue;
            }
            let file: FileMessageEventContent =
                serde_json::from_value(content.clone()).expect("an m.file content");
            let request = MediaRequestParameters {
                source: file.source.clone(),
                format: MediaFormat::File,
            };
            let bytes = self
                .client
                .media()
                .get_media_content(&request, false)
                .await
                .expect("the file downloads");
            out.push((id, content, bytes));
        }
        out
    }

    /// Every message the bot sent to `in_room`, content as sent.
    pub fn bot_contents_in(&self, in_room: &RoomId) -> Vec<Value> {
        let seen = self.seen.lock().unwrap().clone();
        seen.into_iter()
            .filter(|(room, sender, _, _)| room == in_room.as_str() && *sender == self.bot)
            .map(|(_, _, _, content)| content)
            .collect()
    }

    fn joined_room(&self) -> Room {
        self.client
            .get_room(&self.room)
            .expect("the test user is in its room")
    }
}

impl Drop for MatrixUser {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

#[async_trait]
impl TestUser for MatrixUser {
    async fn send(&self, text: &str) -> String {
        let r = self
            .joined_room()
            .send(RoomMessageEventContent::text_plain(text))
            .await
            .unwrap();
        r.response.event_id.to_string()
    }

    async fn edit(&self, id: &str, text: &str) {
        let content = serde_json::json!({
            "msgtype": "m.text",
            "body": format!("* {text}"),
            "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": id},
        });
        self.joined_room()
            .send_raw("m.room.message", content)
            .await
            .unwrap();
    }

    async fn bot_messages(&self) -> Vec<BotMessage> {
        let seen = self.seen.lock().unwrap().clone();
        let mut out: Vec<BotMessage> = Vec::new();
        for (room, sender, id, content) in seen {
            if room != self.room.as_str() || sender != self.bot {
                continue;
            }
            let rel = &content["m.relates_to"];
            if rel["rel_type"] == "m.replace" {
                if let Some(m) = out.iter_mut().find(|m| rel["event_id"] == m.id.as_str()) {
                    m.text = content["m.new_content"]["body"]
                        .as_str()
                        .unwrap_or("")
                        .into();
                    m.edits += 1;
                }
                continue;
            }
            let text: String = content["body"].as_str().unwrap_or("").into();
            out.push(BotMessage {
                id,
                original: text.clone(),
                text,
                edits: 0,
                reply_to: rel["m.in_reply_to"]["event_id"].as_str().map(String::from),
            });
        }
        out
    }
}
