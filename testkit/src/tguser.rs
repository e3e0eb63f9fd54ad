//! A person in the benchmarks' Telegram lab group, talking through the emulator.

use serde_json::json;

use crate::tgapi::{Http, TOKEN};

/// The lab group the benchmarks' bots allow.
pub const GROUP: i64 = -1009;
/// The admin who types the commands.
pub const ADMIN: i64 = 77;

pub struct User {
    pub http: Http,
}

impl User {
    /// Sends a command; returns (message id, update id).
    pub async fn say(&self, text: &str) -> (i64, i64) {
        let len = text.split_whitespace().next().unwrap().len();
        let r = self
            .http
            .post(
                "/sendCommand",
                json!({
                    "botToken": TOKEN,
                    "from": { "id": ADMIN, "is_bot": false, "first_name": "Ada" },
                    "chat": { "id": GROUP, "type": "supergroup", "title": "lab" },
                    "date": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
                    "text": text,
                    "entities": [{ "offset": 0, "length": len, "type": "bot_command" }],
                }),
            )
            .await;
        (
            r["message_id"].as_i64().unwrap(),
            r["update_id"].as_i64().unwrap(),
        )
    }
}
