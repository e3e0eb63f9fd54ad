//! Long polling: updates become [`Incoming`] messages; the offset past an update is written to
//! the store only once the dispatcher has handled it, so a restart (or a SIGKILL) neither
//! replays a handled command nor loses one it never saw. The dispatcher's dedupe (platform,
//! room, event id) is the second guard.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::Requester;
use teloxide::requests::Request;
use teloxide::types::{CallbackQuery, ChatMemberUpdated, Update, UpdateKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::api::{Api, TelegramError};
use super::pending::{Advance, HANDLED_WAIT, Pending};
use super::presses::{self, Presses};
use super::{PLATFORM, decode, keyboard};
use crate::chat::backoff::{self, Backoff};
use crate::chat::{Handled, Incoming};
use crate::store::JobStore;

/// How often updates are fetched again while an earlier one is still being handled.
const BUSY_POLL: Duration = Duration::from_millis(250);
/// Updates delivered and not yet handled, at most; past it, no more are fetched until the
/// oldest is handled.
const MAX_PENDING: usize = 1000;
/// Longest pause between polls while Telegram cannot be reached.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where the offset is kept, and who the bot is.
pub struct Poller {
    /// The client.
    pub api: Arc<Api>,
    /// The store holding the offset.
    pub store: Arc<dyn JobStore>,
    /// The bot's numeric id (the offset's key).
    pub bot_id: u64,
    /// The bot's user name, for `/cmd@name`.
    pub username: String,
    /// Chats listed in `[[rooms]]`: the bot leaves any other group it is added to.
    pub rooms: std::collections::HashSet<String>,
    /// Presses waiting for their answer, shared with the replier.
    pub presses: Arc<Presses>,
}

impl Poller {
    /// The next update id to fetch, as kept.
    pub fn offset(&self) -> Result<Option<i32>, TelegramError> {
        Ok(self
            .store
            .offset(PLATFORM, &self.bot_id.to_string())?
            .and_then(|v| v.parse().ok()))
    }

    fn keep(&self, offset: i32) -> Result<(), TelegramError> {
        Ok(self
            .store
            .put_offset(PLATFORM, &self.bot_id.to_string(), &offset.to_string())?)
    }

    /// Polls until `shutdown` (or until the inbox closes). Updates go to intake as they come;
    /// the offset Telegram is given (which confirms every update before it) moves only past
    /// updates that are handled, so while one is still being answered (flood control, say),
    /// later ones are fetched again without being confirmed, and the new among them delivered:
    /// one room's slow answer does not hold up another room.
    pub async fn run(
        self,
        inbox: mpsc::Sender<Incoming>,
        shutdown: CancellationToken,
    ) -> Result<(), TelegramError> {
        let mut offset = self.offset()?;
        let mut pending = Pending::default();
        let mut backoff = Backoff::new(Duration::from_millis(500), MAX_BACKOFF);
        loop {
            match pending.advance() {
                Advance::To(next) => {
                    self.keep(next)?;
                    offset = Some(next);
                }
                Advance::Stopping => return Ok(()),
                Advance::Nothing => {}
            }
            if pending.is_waiting() {
                // Something is still being answered: look again shortly (the poll below
                // returns at once, with the unconfirmed updates and any new ones).
                let busy = pending.len() >= MAX_PENDING;
                let wait = if busy { HANDLED_WAIT } else { BUSY_POLL };
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = pending.wait_first(wait) => {}
                }
                if busy {
                    continue;
                }
            }
            let batch = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                b = self.api.updates(offset) => b,
            };
            let updates = match batch {
                Ok(u) => {
                    backoff.reset();
                    u
                }
                Err(TelegramError::Stopping { .. }) => return Ok(()),
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot fetch Telegram updates");
                    if !backoff::pause(delay, &shutdown).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            for update in updates {
                let id = i32::try_from(update.id.0).unwrap_or(i32::MAX);
                // A server that ignores the offset must not make the bot act twice, and an
                // update still being handled is not delivered again.
                if offset.is_some_and(|o| id < o) || pending.seen(id) {
                    continue;
                }
                let Some(mut msg) = self.incoming(update) else {
                    pending.push(id, None);
                    continue;
                };
                let (handled, rx) = Handled::new();
                msg.handled = Some(handled);
                // A press nothing replied to by the time it is handled (a stranger's) is
                // answered silently then, before the offset moves past it.
                let rx = if presses::is_press(&msg.event_id) {
                    self.answer_when_handled(msg.event_id.clone(), rx)
                } else {
                    rx
                };
                let sent = tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    r = inbox.send(msg) => r,
                };
                if sent.is_err() {
                    return Ok(());
                }
                pending.push(id, Some(rx));
            }
        }
    }

    /// The message an update carries for the dispatcher, if any.
    fn incoming(&self, update: Update) -> Option<Incoming> {
        match update.kind {
            UpdateKind::Message(m) => decode::message(&m, &self.username),
            UpdateKind::CallbackQuery(q) => self.press(q),
            UpdateKind::MyChatMember(m) => {
                self.added(m);
                None
            }
            _ => None,
        }
    }

    /// The bot was added to a chat: it stays only in chats listed in `[[rooms]]` (a stranger's
    /// group gets no answers anyway; leaving says so and keeps the bot out of its traffic).
    fn added(&self, m: ChatMemberUpdated) {
        let room = m.chat.id.0.to_string();
        if !m.new_chat_member.is_present() || m.chat.is_private() || self.rooms.contains(&room) {
            return;
        }
        tracing::info!(chat = %room, by = m.from.id.0, "added to a chat not listed in [[rooms]]; leaving it");
        let api = self.api.clone();
        tokio::spawn(async move {
            let bot = api.bot();
            if let Err(e) = api
                .call("leaveChat", || bot.leave_chat(m.chat.id).send())
                .await
            {
                tracing::warn!(error = %e, "cannot leave a chat");
            }
        });
    }

    /// A button press, passed on as the command the button runs, from the person who pressed
    /// it; its answer waits for the reply to it (`presses`). A press of a button whose command
    /// is gone is answered at once.
    fn press(&self, q: CallbackQuery) -> Option<Incoming> {
        let command = q.data.as_deref().and_then(keyboard::command_of);
        let incoming = decode::press(&q, &self.username);
        if command.is_some()
            && let Some(m) = &incoming
        {
            self.presses.hold(&m.event_id, &q.id.0);
            return incoming;
        }
        let api = self.api.clone();
        let (id, known) = (q.id.clone(), command.is_some());
        tokio::spawn(async move {
            let bot = api.bot();
            let answer = api
                .call("answerCallbackQuery", || {
                    let r = bot.answer_callback_query(id.clone());
                    if known {
                        r.send()
                    } else {
                        teloxide::payloads::AnswerCallbackQuerySetters::text(
                            r,
                            "this button does nothing any more",
                        )
                        .send()
                    }
                })
                .await;
            if let Err(e) = answer {
                tracing::warn!(error = %e, "cannot answer a Telegram button press");
            }
        });
        incoming
    }

    /// Waits for press `event` to be handled (`handled`), answers it silently if nothing
    /// replied to it, then signals the returned receiver.
    fn answer_when_handled(
        &self,
        event: String,
        handled: tokio::sync::oneshot::Receiver<()>,
    ) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (api, presses) = (self.api.clone(), self.presses.clone());
        tokio::spawn(async move {
            // Dropped unhandled (the bot is stopping): Telegram delivers the press again.
            if handled.await.is_err() {
                return;
            }
            if let Some(query) = presses.take(&event) {
                let bot = api.bot();
                let id = teloxide::types::CallbackQueryId(query);
                let answer = api
                    .call("answerCallbackQuery", || {
                        bot.answer_callback_query(id.clone()).send()
                    })
                    .await;
                if let Err(e) = answer {
                    tracing::warn!(error = %e, "cannot answer a Telegram button press");
                }
            }
            let _ = tx.send(());
        });
        rx
    }
}
