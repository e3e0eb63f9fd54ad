//! The Telegram adapter (teloxide, Bot API long polling). Private chats and groups; users are
//! known by their numeric id, chats by theirs (negative for groups). Commands may carry the
//! bot's name (`/help@labkube_bot`); other bots' messages are ignored. Replies are HTML, sent
//! as replies to the command; a job's live message carries a Cancel button.
//!
//! `api` (calls, 429, token scrubbing), `poll` (updates and the stored offset), `pending`
//! (updates taken and not yet handled), `send` (the
//! [`Replier`](crate::chat::Replier)), `pace` (per-chat edit limits), `format` (HTML and the
//! length limit), `keyboard` (buttons and presses).

mod api;
pub mod decode;
mod format;
mod keyboard;
mod pace;
mod pending;
mod poll;
mod presses;
mod send;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use teloxide::payloads::DeleteWebhookSetters;
use teloxide::prelude::Requester;
use teloxide::requests::Request;
use teloxide::types::BotCommand;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use api::TelegramError;

use super::{ChatAdapter, ChatError, Incoming, Replier};
use crate::config::Config;
use crate::store::JobStore;

/// Adapter name.
pub const PLATFORM: &str = super::TELEGRAM;

/// A connected Telegram bot.
pub struct TelegramAdapter {
    poller: poll::Poller,
    replier: Arc<send::TelegramReplier>,
    stop: CancellationToken,
}

impl TelegramAdapter {
    /// Checks the token with `getMe`, makes sure no webhook takes the updates, and publishes the
    /// command menu (when configured). The offset is kept in `store`.
    pub async fn connect(
        config: &Config,
        store: Arc<dyn JobStore>,
    ) -> Result<TelegramAdapter, TelegramError> {
        let cfg = config
            .telegram
            .as_ref()
            .ok_or_else(|| TelegramError::Token("no [telegram] section".into()))?;
        let stop = CancellationToken::new();
        let api = Arc::new(api::Api::new(cfg, stop.clone())?);
        let me = api.me().await?;
        let bot = api.bot();
        api.call("deleteWebhook", || {
            bot.delete_webhook().drop_pending_updates(false).send()
        })
        .await?;
        if cfg.publish_commands {
            let commands: Vec<BotCommand> = crate::command::menu()
                .into_iter()
                .map(|e| BotCommand::new(e.word, e.description))
                .collect();
            if let Err(e) = api
                .call("setMyCommands", || {
                    bot.set_my_commands(commands.clone()).send()
                })
                .await
            {
                tracing::warn!(error = %e, "cannot publish the command menu");
            }
        }
        tracing::info!(bot = %me.username(), id = me.id.0, "connected to Telegram");
        let pacer = pace::Pacer::new(
            api.clone(),
            Duration::from_millis(cfg.edit_interval_ms),
            Duration::from_millis(cfg.group_edit_interval_ms),
            stop.clone(),
        );
        let presses = Arc::new(presses::Presses::default());
        let replier = Arc::new(send::TelegramReplier::new(
            api.clone(),
            pacer,
            presses.clone(),
        ));
        let poller = poll::Poller {
            api,
            store,
            bot_id: me.id.0,
            username: me.username().to_string(),
            rooms: config.room_ids(PLATFORM),
            presses,
        };
        Ok(TelegramAdapter {
            poller,
            replier,
            stop,
        })
    }
}

#[async_trait]
impl ChatAdapter for TelegramAdapter {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn replier(&self) -> Arc<dyn Replier> {
        self.replier.clone()
    }

    async fn run(
        self: Box<Self>,
        inbox: mpsc::Sender<Incoming>,
        shutdown: CancellationToken,
    ) -> Result<(), ChatError> {
        let TelegramAdapter { poller, stop, .. } = *self;
        let result = poller.run(inbox, shutdown).await;
        // Pending edits and retries stop with the adapter (messages already sent stay).
        stop.cancel();
        Ok(result?)
    }
}
