//! Telegram's per-chat limits on edits: at most one message change a second in a private chat
//! and about 20 a minute in a group. Edits wait in a lane per chat and go out one gap apart;
//! a newer edit of a message still waiting replaces the older one (only the latest text
//! matters), and a message sent to the chat pushes the lane's next edit back by a gap. Sends are
//! never held: a reply to a command goes out at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use teloxide::payloads::EditMessageTextSetters;
use teloxide::prelude::Requester;
use teloxide::requests::Request;
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ParseMode};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api::{Api, TelegramError};

/// One edit to make.
pub struct Edit {
    /// The message.
    pub message: MessageId,
    /// Its new HTML text.
    pub html: String,
    /// Its buttons (an empty keyboard removes them).
    pub keyboard: InlineKeyboardMarkup,
}

#[derive(Default)]
struct Lane {
    /// The earliest the next edit may go out.
    next_at: Option<Instant>,
    /// Waiting edits, oldest first, at most one per message.
    waiting: Vec<Edit>,
    /// A task is draining this lane.
    draining: bool,
}

/// The per-chat edit lanes.
pub struct Pacer {
    api: Arc<Api>,
    private_gap: Duration,
    group_gap: Duration,
    lanes: Mutex<HashMap<ChatId, Lane>>,
    stop: CancellationToken,
}

impl Pacer {
    /// Lanes whose edits are `private_gap` (private chats) or `group_gap` (groups) apart.
    pub fn new(
        api: Arc<Api>,
        private_gap: Duration,
        group_gap: Duration,
        stop: CancellationToken,
    ) -> Arc<Pacer> {
        Arc::new(Pacer {
            api,
            private_gap,
            group_gap,
            lanes: Mutex::new(HashMap::new()),
            stop,
        })
    }

    fn lanes(&self) -> MutexGuard<'_, HashMap<ChatId, Lane>> {
        // Every critical section is a few assignments; a poisoned map is still consistent.
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The gap between two changes in `chat`: groups and channels have negative ids.
    fn gap(&self, chat: ChatId) -> Duration {
        if chat.0 < 0 {
            self.group_gap
        } else {
            self.private_gap
        }
    }

    /// Notes that a message was just sent to `chat`: its next edit waits a gap.
    pub fn sent(&self, chat: ChatId) {
        let at = Instant::now() + self.gap(chat);
        let mut lanes = self.lanes();
        let lane = lanes.entry(chat).or_default();
        lane.next_at = Some(lane.next_at.map_or(at, |t| t.max(at)));
    }

    /// Queues an edit; it goes out when the chat's lane allows.
    pub fn edit(self: &Arc<Self>, chat: ChatId, edit: Edit) {
        let mut lanes = self.lanes();
        let lane = lanes.entry(chat).or_default();
        match lane.waiting.iter_mut().find(|e| e.message == edit.message) {
            Some(older) => *older = edit,
            None => lane.waiting.push(edit),
        }
        if !lane.draining {
            lane.draining = true;
            let me = self.clone();
            tokio::spawn(async move { me.drain(chat).await });
        }
    }

    /// Sends the lane's edits one gap apart until it is empty or the bot stops.
    async fn drain(self: Arc<Self>, chat: ChatId) {
        loop {
            // Re-read after every wait: a message sent meanwhile may have pushed it back.
            let at = self.lanes().get(&chat).and_then(|l| l.next_at);
            if let Some(at) = at.filter(|at| *at > Instant::now()) {
                tokio::select! {
                    _ = self.stop.cancelled() => return,
                    _ = tokio::time::sleep_until(at) => {}
                }
                continue;
            }
            let edit = {
                let mut lanes = self.lanes();
                let lane = lanes.entry(chat).or_default();
                if lane.waiting.is_empty() {
                    lane.draining = false;
                    return;
                }
                lane.next_at = Some(Instant::now() + self.gap(chat));
                lane.waiting.remove(0)
            };
            if let Err(e) = self.send(chat, &edit).await {
                tracing::warn!(chat = chat.0, message = edit.message.0, error = %e, "cannot edit a Telegram message");
            }
            // The gap counts from when the edit was done (a 429 wait may have passed).
            let mut lanes = self.lanes();
            let lane = lanes.entry(chat).or_default();
            let after = Instant::now() + self.gap(chat);
            lane.next_at = Some(lane.next_at.map_or(after, |t| t.max(after)));
        }
    }

    async fn send(&self, chat: ChatId, edit: &Edit) -> Result<(), TelegramError> {
        let bot = self.api.bot();
        let result = self
            .api
            .call("editMessageText", || {
                bot.edit_message_text(chat, edit.message, edit.html.clone())
                    .parse_mode(ParseMode::Html)
                    .reply_markup(edit.keyboard.clone())
                    .send()
            })
            .await;
        match result {
            // Telegram refuses an edit that changes nothing; that is not a failure here.
            Err(TelegramError::Api { message, .. }) if message.contains("not modified") => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
