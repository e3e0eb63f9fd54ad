//! The Telegram [`Replier`]: messages in HTML parse mode, as replies to the command they answer,
//! split when longer than Telegram allows; edits through the per-chat [`Pacer`].

use std::sync::Arc;

use async_trait::async_trait;
use teloxide::payloads::{SendDocumentSetters, SendMessageSetters};
use teloxide::prelude::Requester;
use teloxide::requests::Request;
use teloxide::types::{ChatId, InputFile, MessageId, ParseMode, ReplyParameters};

use teloxide::payloads::AnswerCallbackQuerySetters;

use super::api::{Api, TelegramError};
use super::pace::{Edit, Pacer};
use super::presses::{self, Presses};
use super::{PLATFORM, format, keyboard};
use crate::chat::{Attachment, Button, ChatError, Replier};
use crate::progress::MessageRef;

/// Characters a document's caption may have (Bot API, `sendDocument`: "0-1024 characters").
const CAPTION_MAX: usize = 1024;

/// Sends and edits Telegram messages.
pub struct TelegramReplier {
    api: Arc<Api>,
    pacer: Arc<Pacer>,
    presses: Arc<Presses>,
}

impl TelegramReplier {
    /// A replier over `api`, editing through `pacer`, answering the button presses `presses`
    /// holds.
    pub fn new(api: Arc<Api>, pacer: Arc<Pacer>, presses: Arc<Presses>) -> Self {
        TelegramReplier {
            api,
            pacer,
            presses,
        }
    }

    /// The reply to `to`: to a button press still waiting for its answer, that answer, shown
    /// to the presser alone as an alert (nothing is posted to the chat); to anything else, a
    /// message.
    async fn answer(
        &self,
        room: &str,
        to: &str,
        text: &str,
        buttons: &[Button],
    ) -> Result<MessageRef, ChatError> {
        let Some(query) = self.presses.take(to) else {
            return Ok(self.post(room, reply_target(to), text, buttons).await?);
        };
        let bot = self.api.bot();
        let shown = presses::answer_text(text);
        self.api
            .call("answerCallbackQuery", || {
                bot.answer_callback_query(teloxide::types::CallbackQueryId(query.clone()))
                    .text(shown.clone())
                    .show_alert(true)
                    .send()
            })
            .await?;
        Ok(MessageRef {
            platform: PLATFORM.into(),
            room: room.into(),
            id: to.to_string(),
        })
    }

    async fn post(
        &self,
        room: &str,
        to: Option<MessageId>,
        text: &str,
        buttons: &[Button],
    ) -> Result<MessageRef, TelegramError> {
        let chat = chat_id(room)?;
        let mut first = None;
        for (i, html) in format::html_messages(text).into_iter().enumerate() {
            let bot = self.api.bot();
            // Buttons go under the first part: that is the message later edits change.
            let keyboard = (i == 0 && !buttons.is_empty()).then(|| keyboard::markup(buttons));
            let reply_to = if i == 0 { to } else { None };
            let sent = self
                .api
                .call("sendMessage", || {
                    let mut r = bot
                        .send_message(chat, html.clone())
                        .parse_mode(ParseMode::Html);
                    if let Some(id) = reply_to {
                        r = r.reply_parameters(
                            ReplyParameters::new(id).allow_sending_without_reply(),
                        );
                    }
                    if let Some(k) = &keyboard {
                        r = r.reply_markup(k.clone());
                    }
                    r.send()
                })
                .await?;
            self.pacer.sent(chat);
            first.get_or_insert(sent.id);
        }
        let id = first.map_or(0, |m| m.0);
        Ok(MessageRef {
            platform: PLATFORM.into(),
            room: room.into(),
            id: id.to_string(),
        })
    }
}

/// A room id as a Telegram chat id.
pub fn chat_id(room: &str) -> Result<ChatId, TelegramError> {
    room.parse()
        .map(ChatId)
        .map_err(|_| TelegramError::BadChat(room.into()))
}

/// The message a reply answers: an [`Incoming::event_id`](crate::chat::Incoming) is the
/// message id, followed for a button press by `/cb<query id>`.
fn reply_target(to: &str) -> Option<MessageId> {
    to.split('/').next()?.parse().ok().map(MessageId)
}

#[async_trait]
impl Replier for TelegramReplier {
    async fn send(&self, _platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        Ok(self.post(room, None, text, &[]).await?)
    }

    async fn edit(&self, message: &MessageRef, text: &str) -> Result<(), ChatError> {
        self.edit_with_buttons(message, text, &[]).await
    }

    async fn reply(
        &self,
        _platform: &str,
        room: &str,
        to: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.answer(room, to, text, &[]).await
    }

    /// The message, then the file as a document (`sendDocument`) replying to the command.
    async fn reply_with_file(
        &self,
        _platform: &str,
        room: &str,
        to: &str,
        _user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<MessageRef, ChatError> {
        let sent = self.answer(room, to, text, &[]).await?;
        let chat = chat_id(room)?;
        let bot = self.api.bot();
        let reply_to = reply_target(to);
        let caption: String = file.caption.chars().take(CAPTION_MAX).collect();
        let bytes = file.body.clone().into_bytes();
        self.api
            .call("sendDocument", || {
                let document = InputFile::memory(bytes.clone()).file_name(file.name.clone());
                let mut r = bot.send_document(chat, document).caption(caption.clone());
                if let Some(id) = reply_to {
                    r = r.reply_parameters(ReplyParameters::new(id).allow_sending_without_reply());
                }
                r.send()
            })
            .await?;
        self.pacer.sent(chat);
        Ok(sent)
    }

    /// A document in the user's private chat with the bot (a Telegram user's id is their
    /// private chat's id); Telegram refuses one the user never opened.
    async fn send_private(
        &self,
        _platform: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<String, ChatError> {
        let chat = chat_id(user)?;
        let bot = self.api.bot();
        let caption: String = text.chars().take(CAPTION_MAX).collect();
        let bytes = file.body.clone().into_bytes();
        let sent = self
            .api
            .call("sendDocument", || {
                let document = InputFile::memory(bytes.clone()).file_name(file.name.clone());
                bot.send_document(chat, document)
                    .caption(caption.clone())
                    .send()
            })
            .await;
        match sent {
            Ok(_) => {
                self.pacer.sent(chat);
                Ok("your private chat with the bot".into())
            }
            Err(TelegramError::Forbidden { .. }) => Err(ChatError::NoPrivateChannel(
                "Telegram lets a bot write to you only after you open a private chat with it: \
                 open the bot's profile, press Start, then ask again here"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn reply_with_buttons(
        &self,
        _platform: &str,
        room: &str,
        to: &str,
        text: &str,
        buttons: &[Button],
    ) -> Result<MessageRef, ChatError> {
        self.answer(room, to, text, buttons).await
    }

    async fn edit_with_buttons(
        &self,
        message: &MessageRef,
        text: &str,
        buttons: &[Button],
    ) -> Result<(), ChatError> {
        let chat = chat_id(&message.room)?;
        let id = message
            .id
            .parse()
            .map(MessageId)
            .map_err(|_| TelegramError::BadMessage(message.id.clone()))?;
        self.pacer.edit(
            chat,
            Edit {
                message: id,
                html: format::html_one(text),
                keyboard: keyboard::markup(buttons),
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_answer_the_message_or_the_pressed_button_s_message() {
        assert_eq!(reply_target("17"), Some(MessageId(17)));
        assert_eq!(reply_target("17/cb99"), Some(MessageId(17)));
        assert_eq!(reply_target("x"), None);
        assert!(chat_id("-1001234").is_ok());
        assert!(chat_id("!room:x").is_err());
    }
}
