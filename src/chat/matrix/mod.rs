//! The Matrix adapter (matrix-sdk): logs in once and stays the same device (`login`), syncs
//! from its own persisted position and turns text messages starting with `!` or `/` into
//! [`Incoming`] commands (`sync`), answers invites (`rooms`), and sends every reply as an
//! `m.notice` with HTML, threaded to the command, with progress as `m.replace` edits (`send`,
//! `format`). Encrypted rooms work through matrix-sdk's crypto store.

mod attach;
pub mod decode;
mod files;
mod format;
mod gap;
mod latency;
mod login;
mod rooms;
mod send;
mod sync;

#[cfg(test)]
mod retry_tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ChatAdapter, ChatError, Incoming, Replier};
use crate::config::{Config, Matrix};

/// Adapter name.
pub const PLATFORM: &str = super::MATRIX;

/// Shown under `/help` on Matrix: Element and most clients take a leading `/` as their own
/// command.
pub(super) const HELP_NOTE: &str = "On Matrix, type commands with ! (for example !help): \
    most clients take a leading / as one of their own commands.";

/// Matrix failures. Messages never contain the password or the access token.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// Logging in or restoring the session failed.
    #[error("Matrix login: {0}")]
    Login(String),
    /// A file under `<data_dir>/matrix` could not be read or written.
    #[error("Matrix store file {0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The bot is not in that room (or the id is not a room id).
    #[error("the bot is not in Matrix room {0}")]
    NoRoom(String),
    /// The homeserver did not take a message after the configured attempts.
    #[error("Matrix send failed: {0}")]
    Send(String),
}

/// The Matrix connection.
pub struct MatrixAdapter {
    client: matrix_sdk::Client,
    settings: Matrix,
    access: rooms::Access,
    dir: PathBuf,
    replier: Arc<send::MatrixReplier>,
    arrivals: latency::Arrivals,
}

impl MatrixAdapter {
    /// Logs in (or restores the stored session) for `config`'s `[matrix]` section.
    pub async fn connect(config: &Config, settings: &Matrix) -> Result<Self, MatrixError> {
        let dir = config.data_dir.join("matrix");
        let client = login::connect(settings, &dir).await?;
        let arrivals = latency::Arrivals::default();
        Ok(MatrixAdapter {
            replier: Arc::new(send::MatrixReplier {
                client: client.clone(),
                arrivals: arrivals.clone(),
            }),
            arrivals,
            client,
            settings: settings.clone(),
            access: rooms::Access::from_config(config, PLATFORM),
            dir,
        })
    }
}

#[async_trait]
impl ChatAdapter for MatrixAdapter {
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
        let ctx = sync::SyncCtx {
            dir: self.dir,
            access: self.access,
            timeout: Duration::from_secs(self.settings.sync_timeout_secs),
            retry_max: Duration::from_secs(self.settings.retry_max_secs),
            arrivals: self.arrivals,
        };
        Ok(sync::run(self.client, ctx, inbox, shutdown).await?)
    }
}
