//! Routes sends and edits to the adapter of the message's platform.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Attachment, Button, ChatError, Replier};
use crate::progress::MessageRef;

/// A [`Replier`] over every registered adapter.
#[derive(Clone, Default)]
pub struct Router {
    by_platform: HashMap<String, Arc<dyn Replier>>,
}

impl Router {
    /// A router with no adapters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the replier of `platform`.
    pub fn add(&mut self, platform: &str, replier: Arc<dyn Replier>) {
        self.by_platform.insert(platform.to_string(), replier);
    }

    fn get(&self, platform: &str) -> Result<&Arc<dyn Replier>, ChatError> {
        self.by_platform
            .get(platform)
            .ok_or_else(|| ChatError::NoAdapter(platform.to_string()))
    }
}

#[async_trait]
impl Replier for Router {
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        self.get(platform)?.send(platform, room, text).await
    }

    async fn edit(&self, message: &MessageRef, text: &str) -> Result<(), ChatError> {
        self.get(&message.platform)?.edit(message, text).await
    }

    async fn send_alert(
        &self,
        platform: &str,
        room: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.get(platform)?.send_alert(platform, room, text).await
    }

    async fn reply(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.get(platform)?.reply(platform, room, to, text).await
    }

    async fn reply_notifying(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.get(platform)?
            .reply_notifying(platform, room, to, user, text)
            .await
    }

    async fn reply_with_file(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<MessageRef, ChatError> {
        self.get(platform)?
            .reply_with_file(platform, room, to, user, text, file)
            .await
    }

    async fn send_private(
        &self,
        platform: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<String, ChatError> {
        self.get(platform)?
            .send_private(platform, user, text, file)
            .await
    }

    async fn reply_with_buttons(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        text: &str,
        buttons: &[Button],
    ) -> Result<MessageRef, ChatError> {
        self.get(platform)?
            .reply_with_buttons(platform, room, to, text, buttons)
            .await
    }

    async fn edit_with_buttons(
        &self,
        message: &MessageRef,
        text: &str,
        buttons: &[Button],
    ) -> Result<(), ChatError> {
        self.get(&message.platform)?
            .edit_with_buttons(message, text, buttons)
            .await
    }
}
