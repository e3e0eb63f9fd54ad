//! Sending, replying and editing. Each call is one `send_raw`, which matrix-sdk encrypts in
//! encrypted rooms; its transaction id is fixed for the call, so the client's bounded retries
//! (network failures, `M_LIMIT_EXCEEDED` after `retry_after_ms`) never post a message twice.

use async_trait::async_trait;
use matrix_sdk::Client;
use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::room::reply::{EnforceThread, Reply};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::room::message::{AddMentions, TextMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, RoomId};
use serde_json::Value;

use super::latency::{self, Arrivals};
use super::{MatrixError, format};
use crate::chat::{Attachment, ChatError, Replier};
use crate::progress::MessageRef;

/// The Matrix [`Replier`].
pub(super) struct MatrixReplier {
    pub client: Client,
    /// When commands arrived, for the first reply's timing.
    pub arrivals: Arrivals,
}

impl MatrixReplier {
    fn room(&self, room: &str) -> Result<matrix_sdk::Room, MatrixError> {
        let room_id = <&RoomId>::try_from(room).map_err(|_| MatrixError::NoRoom(room.into()))?;
        self.client
            .get_room(room_id)
            .ok_or_else(|| MatrixError::NoRoom(room.into()))
    }

    async fn post(
        &self,
        platform: &str,
        room: &str,
        content: Value,
    ) -> Result<MessageRef, ChatError> {
        let r = self.room(room)?;
        let sent = r
            .send_raw("m.room.message", content)
            .await
            .map_err(|e| MatrixError::Send(e.to_string()))?;
        Ok(MessageRef {
            platform: platform.into(),
            room: room.into(),
            id: sent.response.event_id.to_string(),
        })
    }
}

impl MatrixReplier {
    /// Posts a reply to `to`, logging how long after the command's arrival it went out.
    async fn timed(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        content: Value,
    ) -> Result<MessageRef, ChatError> {
        let arrived = self.arrivals.take(to);
        let sending = std::time::Instant::now();
        let sent = self.post(platform, room, content).await;
        if let (Some(arrived), Ok(_)) = (arrived, &sent) {
            latency::log(to, arrived, sending);
        }
        sent
    }
}

#[async_trait]
impl Replier for MatrixReplier {
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        self.post(platform, room, format::notice(text)).await
    }

    async fn send_alert(
        &self,
        platform: &str,
        room: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.post(platform, room, format::alert(text)).await
    }

    async fn edit(&self, message: &MessageRef, text: &str) -> Result<(), ChatError> {
        self.post(
            &message.platform,
            &message.room,
            format::replace(text, &message.id),
        )
        .await
        .map(|_| ())
    }

    async fn reply(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.timed(platform, room, to, format::reply(text, to, None))
            .await
    }

    /// The notifying reply, then the file as an `m.file` replying to the command, uploaded
    /// (encrypted in encrypted rooms) by matrix-sdk; the file mentions nobody.
    async fn reply_with_file(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<MessageRef, ChatError> {
        let sent = self.reply_notifying(platform, room, to, user, text).await?;
        let r = self.room(room)?;
        let reply = OwnedEventId::try_from(to).ok().map(|event_id| Reply {
            event_id,
            enforce_thread: EnforceThread::Unthreaded,
            add_mentions: AddMentions::No,
        });
        let config = AttachmentConfig::new()
            .caption(Some(TextMessageEventContent::plain(&file.caption)))
            .mentions(Some(Mentions::new()))
            .reply(reply);
        r.send_attachment(
            &file.name,
            &mime::TEXT_PLAIN_UTF_8,
            file.body.clone().into_bytes(),
            config,
        )
        .await
        .map_err(|e| MatrixError::Send(e.to_string()))?;
        Ok(sent)
    }

    async fn reply_notifying(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.timed(platform, room, to, format::reply(text, to, Some(user)))
            .await
    }
}
