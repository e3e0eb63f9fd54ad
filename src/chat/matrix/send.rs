//! Sending, replying and editing. Each call is one `send_raw`, which matrix-sdk encrypts in
//! encrypted rooms; its transaction id is fixed for the call, so the client's bounded retries
//! (network failures, `M_LIMIT_EXCEEDED` after `retry_after_ms`) never post a message twice.

use async_trait::async_trait;
use matrix_sdk::Client;
use matrix_sdk::ruma::{OwnedUserId, RoomId};
use serde_json::Value;

use super::latency::{self, Arrivals};
use super::{MatrixError, PLATFORM, attach, format};
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
        attach::send_file(&self.room(room)?, file, Some(to)).await?;
        Ok(sent)
    }

    /// In an encrypted direct room with the user ([`attach::direct_room`]): a message that
    /// mentions them, then the file.
    async fn send_private(
        &self,
        _platform: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<String, ChatError> {
        let user_id = OwnedUserId::try_from(user).map_err(|_| {
            ChatError::NoPrivateChannel(format!("{user:?} is not a Matrix user id"))
        })?;
        let room = attach::direct_room(&self.client, &user_id).await?;
        let room_id = room.room_id().to_string();
        self.post(PLATFORM, &room_id, format::mention(text, user))
            .await?;
        attach::send_file(&room, file, None).await?;
        Ok("an encrypted direct room with you".into())
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
