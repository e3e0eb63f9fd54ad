//! Routes sends and edits to the adapter of the message's platform, timing each one and
//! counting failures per platform (`labkube_chat_send_seconds`,
//! `labkube_chat_send_failures_total`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{Attachment, Button, ChatError, Replier};
use crate::metrics::Metrics;
use crate::progress::MessageRef;

/// A [`Replier`] over every registered adapter.
#[derive(Clone, Default)]
pub struct Router {
    by_platform: HashMap<String, Arc<dyn Replier>>,
    metrics: Metrics,
}

impl Router {
    /// A router with no adapters, counting into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Router {
            by_platform: HashMap::new(),
            metrics,
        }
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

    /// Runs one send or edit through `platform`'s adapter, timed and counted.
    async fn timed<'a, T, F>(
        &'a self,
        platform: &str,
        call: impl FnOnce(&'a Arc<dyn Replier>) -> F,
    ) -> Result<T, ChatError>
    where
        F: Future<Output = Result<T, ChatError>>,
    {
        let replier = self.get(platform)?;
        let clock = Instant::now();
        let result = call(replier).await;
        self.metrics
            .chat_sent(platform, clock.elapsed(), result.is_ok());
        result
    }
}

#[async_trait]
impl Replier for Router {
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        self.timed(platform, |r| r.send(platform, room, text)).await
    }

    async fn edit(&self, message: &MessageRef, text: &str) -> Result<(), ChatError> {
        self.timed(&message.platform, |r| r.edit(message, text))
            .await
    }

    async fn send_alert(
        &self,
        platform: &str,
        room: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.timed(platform, |r| r.send_alert(platform, room, text))
            .await
    }

    async fn reply(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.timed(platform, |r| r.reply(platform, room, to, text))
            .await
    }

    async fn reply_notifying(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.timed(platform, |r| {
            r.reply_notifying(platform, room, to, user, text)
        })
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
        self.timed(platform, |r| {
            r.reply_with_file(platform, room, to, user, text, file)
        })
        .await
    }

    async fn send_private(
        &self,
        platform: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<String, ChatError> {
        self.timed(platform, |r| r.send_private(platform, user, text, file))
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
        self.timed(platform, |r| {
            r.reply_with_buttons(platform, room, to, text, buttons)
        })
        .await
    }

    async fn edit_with_buttons(
        &self,
        message: &MessageRef,
        text: &str,
        buttons: &[Button],
    ) -> Result<(), ChatError> {
        self.timed(&message.platform, |r| {
            r.edit_with_buttons(message, text, buttons)
        })
        .await
    }
}
