//! A person on the Telegram emulator, through its user-side API: sends messages and commands,
//! edits them, presses buttons, and reads what the bot posted in one chat.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{BotMessage, TestUser};
use crate::tgapi::{Http, TOKEN};

/// A user in one chat.
pub struct TgUser {
    http: Http,
    /// The user (`from`).
    pub from: Value,
    /// The chat they type in.
    pub chat: Value,
}

/// A document the bot sent (`sendDocument`).
#[derive(Clone, Debug)]
pub struct TgDocument {
    /// Its message id.
    pub id: String,
    /// The message it replies to.
    pub reply_to: Option<String>,
    /// The file's name.
    pub name: String,
    /// The caption.
    pub caption: String,
    /// The file's content.
    pub content: String,
}

/// What the bot shows: the HTML with tags dropped and entities decoded.
pub fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl TgUser {
    /// User `id` in `chat` on the emulator at `url`.
    pub fn new(url: &str, id: i64, name: &str, is_bot: bool, chat: Value) -> TgUser {
        TgUser {
            http: Http::new(url),
            from: json!({ "id": id, "is_bot": is_bot, "first_name": name }),
            chat,
        }
    }

    /// The chat id.
    pub fn chat_id(&self) -> i64 {
        self.chat["id"].as_i64().unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.http.post(path, body).await
    }

    /// Every bot message in this chat as the emulator stores it now.
    pub async fn records(&self) -> Vec<Value> {
        let all = self
            .post("/getUpdatesHistory", json!({ "token": TOKEN }))
            .await;
        let chat = self.chat_id().to_string();
        all.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["message"]["chat_id"].to_string().trim_matches('"') == chat)
            .cloned()
            .collect()
    }

    /// Every document the bot sent to this chat, with its content, oldest first.
    pub async fn documents(&self) -> Vec<TgDocument> {
        let mut out = Vec::new();
        for r in self.records().await {
            let d = &r["message"]["document"];
            let Some(file_id) = d["file_id"].as_str() else {
                continue;
            };
            let bytes = self
                .http
                .get_bytes(&format!("/_compat/file/{file_id}"))
                .await;
            out.push(TgDocument {
                id: r["messageId"].to_string(),
                reply_to: r["message"]["reply_parameters"]["message_id"]
                    .as_i64()
                    .map(|i| i.to_string()),
                name: d["file_name"].as_str().unwrap_or("").to_string(),
                caption: r["message"]["text"].as_str().unwrap_or("").to_string(),
                content: String::from_utf8(bytes).expect("a text file"),
            });
        }
        out
    }

    /// The buttons under bot message `id`: (label, callback data).
    pub async fn buttons(&self, id: &str) -> Vec<(String, String)> {
        let recs = self.records().await;
        let Some(r) = recs
            .iter()
            .find(|r| r["messageId"].as_i64().map(|i| i.to_string()).as_deref() == Some(id))
        else {
            return Vec::new();
        };
        let rows = r["message"]["reply_markup"]["inline_keyboard"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rows.iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or("").to_string(),
                    b["callback_data"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Presses the button with `data` under bot message `id`.
    pub async fn press(&self, id: &str, data: &str) {
        let body = json!({
            "botToken": TOKEN,
            "from": self.from,
            "message": { "message_id": id.parse::<i64>().unwrap(), "chat": self.chat },
            "data": data,
        });
        self.post("/sendCallback", body).await;
    }

    /// Sends `text` as if typed `secs_ago` seconds ago (held by Telegram while the bot was
    /// down); returns its message id.
    pub async fn send_sent_ago(&self, text: &str, secs_ago: u64) -> String {
        self.send_dated(text, now() - secs_ago).await
    }

    async fn send_dated(&self, text: &str, date: u64) -> String {
        let mut body = json!({
            "botToken": TOKEN,
            "from": self.from,
            "chat": self.chat,
            "date": date,
            "text": text,
        });
        let path = if text.starts_with('/') {
            let len = text.split_whitespace().next().unwrap_or("").len();
            body["entities"] = json!([{ "offset": 0, "length": len, "type": "bot_command" }]);
            "/sendCommand"
        } else {
            "/sendMessage"
        };
        let r = self.post(path, body).await;
        r["message_id"].to_string()
    }

    /// Adds the bot to this (group) chat.
    pub async fn add_bot(&self) {
        let body = json!({ "botToken": TOKEN, "from": self.from, "chat": self.chat });
        self.post("/_compat/addBot", body).await;
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[async_trait]
impl TestUser for TgUser {
    async fn send(&self, text: &str) -> String {
        self.send_dated(text, now()).await
    }

    async fn edit(&self, id: &str, text: &str) {
        let body = json!({
            "botToken": TOKEN,
            "from": self.from,
            "chat": self.chat,
            "message_id": id.parse::<i64>().unwrap(),
            "text": text,
        });
        self.post("/_compat/editMessage", body).await;
    }

    async fn bot_messages(&self) -> Vec<BotMessage> {
        self.records()
            .await
            .iter()
            .map(|r| BotMessage {
                id: r["messageId"].to_string(),
                text: visible(r["message"]["text"].as_str().unwrap_or("")),
                original: visible(r["original"].as_str().unwrap_or("")),
                edits: r["edits"].as_u64().unwrap_or(0) as usize,
                reply_to: r["message"]["reply_parameters"]["message_id"]
                    .as_i64()
                    .map(|i| i.to_string()),
            })
            .collect()
    }
}
