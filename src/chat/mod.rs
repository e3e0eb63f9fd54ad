//! Chat front ends. Each platform is an adapter behind [`ChatAdapter`]: it turns platform
//! events into [`Incoming`] messages and sends/edits messages through a [`Replier`]. Nothing
//! outside this module names a platform; the rest of the bot sees adapter names as opaque
//! strings.

// The network adapters' reconnect pacing.
#[cfg(any(feature = "matrix", feature = "telegram"))]
mod backoff;
mod console;
mod live;
#[cfg(feature = "matrix")]
mod matrix;
mod render;
mod router;
#[cfg(feature = "telegram")]
mod telegram;

#[cfg(feature = "matrix")]
pub use matrix::decode as matrix_decode;
#[cfg(feature = "telegram")]
pub use telegram::decode as telegram_decode;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use console::{ConsoleAdapter, ConsoleIo};
pub use live::LiveProgress;
#[cfg(feature = "matrix")]
pub use matrix::{MatrixAdapter, MatrixError};
pub use render::{host_table, render_finished, render_live, rollout_table, secs};
pub use router::Router;
#[cfg(feature = "telegram")]
pub use telegram::{TelegramAdapter, TelegramError};

use crate::progress::MessageRef;

/// The Matrix adapter's name.
pub const MATRIX: &str = "matrix";

/// The Telegram adapter's name.
pub const TELEGRAM: &str = "telegram";

/// Names of every adapter labkube has (for config validation; a build may leave the Matrix and
/// Telegram adapters out, see [`NOT_BUILT`]).
pub const PLATFORMS: &[&str] = &[console::PLATFORM, MATRIX, TELEGRAM];

/// The adapters this build left out (cargo features `matrix`, `telegram`), each with why a
/// config that enables it is refused.
pub const NOT_BUILT: &[(&str, &str)] = &[
    #[cfg(not(feature = "matrix"))]
    (
        MATRIX,
        "this labkube was built without the Matrix adapter (cargo's --no-default-features); \
         build it with the default features",
    ),
    #[cfg(not(feature = "telegram"))]
    (
        TELEGRAM,
        "this labkube was built without the Telegram adapter (cargo's --no-default-features); \
         build it with the default features",
    ),
];

/// The console adapter's name, for wiring the local admin.
pub const CONSOLE: &str = console::PLATFORM;

/// The console's one room.
pub const CONSOLE_ROOM: &str = console::ROOM;

/// A chat message addressed to the bot, as every adapter delivers it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incoming {
    /// Adapter name.
    pub platform: String,
    /// Room id.
    pub room: String,
    /// Sender's user id.
    pub sender: String,
    /// The platform's id of this message (dedupe key for jobs).
    pub event_id: String,
    /// The text as typed.
    pub text: String,
    /// The bot's own user name on this platform, for `/cmd@botname`.
    pub bot_username: Option<String>,
    /// A line the adapter wants shown under `/help` on its platform (e.g. which prefix to type
    /// where the client takes `/` for itself).
    pub help_note: Option<&'static str>,
    /// When the platform says the message was sent (ms since the epoch); `None` where the
    /// platform does not say or the message is new by nature (the console, a button press).
    pub sent_at_ms: Option<u64>,
    /// A one-to-one chat between the sender and the bot (a Telegram private chat, a Matrix
    /// room of two, the console): the only place a stranger gets an (onboarding) answer.
    pub private: bool,
    /// An edit of the message with this id that makes it a command: never run (the platform
    /// delivers edits as new events; running them would run a command twice or run what was
    /// never sent as one), only answered once that edits are not run. `None`: a new message.
    pub edit_of: Option<String>,
    /// Signalled once the message is completely handled (replies sent, any job stored), so an
    /// adapter can advance its position on the platform only past handled messages. Dropped
    /// unsignalled if the bot stops first: the adapter then delivers the message again.
    pub handled: Option<Handled>,
}

impl Incoming {
    /// The sender, as the allow-lists know people.
    pub fn principal(&self) -> crate::auth::Principal {
        crate::auth::Principal {
            platform: self.platform.clone(),
            user: self.sender.clone(),
        }
    }

    /// The room, as the allow-lists know rooms.
    pub fn room_ref(&self) -> crate::auth::RoomRef {
        crate::auth::RoomRef {
            platform: self.platform.clone(),
            room: self.room.clone(),
        }
    }

    /// Tells the adapter the message is handled (see [`Incoming::handled`]).
    pub fn mark_handled(&self) {
        if let Some(h) = &self.handled {
            h.done();
        }
    }
}

/// The adapter's side of an [`Incoming`] message's "handled" signal.
#[derive(Clone)]
pub struct Handled(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>);

impl Handled {
    /// A signal, and the receiver that resolves when it is given (or errs when it never will).
    pub fn new() -> (Handled, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (
            Handled(std::sync::Arc::new(std::sync::Mutex::new(Some(tx)))),
            rx,
        )
    }

    fn done(&self) {
        let sender = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = sender {
            // The adapter may have stopped waiting; nothing to do then.
            let _ = tx.send(());
        }
    }
}

impl std::fmt::Debug for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handled")
    }
}

impl PartialEq for Handled {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Handled {}

/// A button under a bot message that, pressed, runs `command` as the person who pressed it
/// (authorised like any typed command). Platforms without buttons show the text alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Button {
    /// The label.
    pub label: String,
    /// The command it runs, e.g. `/cancel 7`.
    pub command: String,
}

impl Button {
    /// The "Cancel" button of a queued or running job.
    pub fn cancel(job: crate::store::JobId) -> Button {
        Button {
            label: "Cancel".into(),
            command: format!("/cancel {job}"),
        }
    }
}

/// A text file sent with an answer that does not fit one message (the whole of `/ge logs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The file's name, e.g. `orion-0.orion.txt`.
    pub name: String,
    /// A line saying what the file holds, shown with it where the platform has captions.
    pub caption: String,
    /// The file's content (UTF-8 text).
    pub body: String,
}

/// Chat failures.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Writing to or reading from the terminal failed.
    #[error("console I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// No adapter is registered for this platform.
    #[error("no chat adapter for platform {0}")]
    NoAdapter(String),
    /// The message to edit is unknown to the adapter.
    #[error("message {0} cannot be edited")]
    UnknownMessage(String),
    /// Nothing can reach the user privately yet; the text says what they can do about it.
    #[error("{0}")]
    NoPrivateChannel(String),
    /// The Telegram adapter failed.
    #[cfg(feature = "telegram")]
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    /// The Matrix adapter failed.
    #[cfg(feature = "matrix")]
    #[error(transparent)]
    Matrix(#[from] MatrixError),
}

/// The network chat adapters the config enables (the console is started on its own), each
/// connected (logged in) and ready to run. Adapters that keep their position in the
/// platform's update stream in the bot's store get `store`.
pub async fn adapters(
    config: &crate::config::Config,
    store: std::sync::Arc<dyn crate::store::JobStore>,
) -> Result<Vec<Box<dyn ChatAdapter>>, ChatError> {
    #[cfg_attr(not(any(feature = "matrix", feature = "telegram")), allow(unused_mut))]
    let mut out: Vec<Box<dyn ChatAdapter>> = Vec::new();
    #[cfg(feature = "matrix")]
    if let Some(m) = &config.matrix {
        out.push(Box::new(MatrixAdapter::connect(config, m).await?));
    }
    #[cfg(feature = "telegram")]
    if config.telegram.is_some() {
        out.push(Box::new(
            TelegramAdapter::connect(config, store.clone()).await?,
        ));
    }
    // A section of an adapter this build left out was refused with the config.
    let _ = (config, store);
    Ok(out)
}

/// Sends and edits messages in rooms of one platform (or, through [`Router`], of any).
#[async_trait]
pub trait Replier: Send + Sync {
    /// Sends `text` to `room` on `platform`; returns a reference for later edits.
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError>;
    /// Replaces the text of a message sent earlier.
    async fn edit(&self, message: &MessageRef, text: &str) -> Result<(), ChatError>;
    /// Sends `text` as a reply to the message `to` (a platform message id, as in
    /// [`Incoming::event_id`]). Platforms without replies just send it.
    async fn reply(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        let _ = to;
        self.send(platform, room, text).await
    }
    /// Sends `text` to `room` so that its members are notified: an alert opening. Platforms
    /// whose messages notify already (Telegram, the console) just send it; Matrix sends an
    /// `m.text`, which the default rule `.m.rule.message` notifies, where every other bot
    /// message is a quiet `m.notice`. Its edits stay quiet.
    async fn send_alert(
        &self,
        platform: &str,
        room: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        self.send(platform, room, text).await
    }
    /// Like [`Replier::reply`], and the reply notifies `user`, who sent `to`: what a person
    /// waits for (a job's outcome, the answer to a command, a refusal, a confirmation request),
    /// unlike the live progress message and its edits, which stay quiet. Platforms whose
    /// replies notify already (Telegram, the console) just reply; Matrix mentions `user` in an
    /// `m.text`, since its default push rules silence every `m.notice`.
    async fn reply_notifying(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
    ) -> Result<MessageRef, ChatError> {
        let _ = user;
        self.reply(platform, room, to, text).await
    }
    /// Like [`Replier::reply_notifying`], followed by `file` as a reply to `to` (quiet where
    /// the platform allows): `text` is what fits one message and `file` the whole. Every
    /// platform labkube speaks sends files (the console prints them); this default, for
    /// repliers that record or forward text only, sends `text` alone.
    async fn reply_with_file(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<MessageRef, ChatError> {
        let _ = file;
        self.reply_notifying(platform, room, to, user, text).await
    }
    /// Sends `text` and `file` to `user` alone: their private chat with the bot, an encrypted
    /// direct room, a file only they can read. Returns where it went, in words for the reply in
    /// the room ("your private chat with the bot"); [`ChatError::NoPrivateChannel`] when
    /// nothing can reach them privately yet (nothing was sent then). This default, for
    /// repliers without a private channel, refuses.
    async fn send_private(
        &self,
        platform: &str,
        user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<String, ChatError> {
        let _ = (user, text, file);
        Err(ChatError::NoPrivateChannel(format!(
            "labkube has no private channel on {platform}"
        )))
    }
    /// Like [`Replier::reply`], with buttons under the message. Platforms without buttons
    /// ignore them.
    async fn reply_with_buttons(
        &self,
        platform: &str,
        room: &str,
        to: &str,
        text: &str,
        buttons: &[Button],
    ) -> Result<MessageRef, ChatError> {
        let _ = buttons;
        self.reply(platform, room, to, text).await
    }
    /// Like [`Replier::edit`], and the message's buttons become `buttons` (none: removed).
    async fn edit_with_buttons(
        &self,
        message: &MessageRef,
        text: &str,
        buttons: &[Button],
    ) -> Result<(), ChatError> {
        let _ = buttons;
        self.edit(message, text).await
    }
}

/// A chat platform connection.
#[async_trait]
pub trait ChatAdapter: Send {
    /// Adapter name (`console`, `matrix`, `telegram`).
    fn platform(&self) -> &'static str;
    /// The replier for this platform.
    fn replier(&self) -> std::sync::Arc<dyn Replier>;
    /// Delivers incoming messages to `inbox` until `shutdown` or the end of input. Returns when
    /// it will deliver no more.
    async fn run(
        self: Box<Self>,
        inbox: mpsc::Sender<Incoming>,
        shutdown: CancellationToken,
    ) -> Result<(), ChatError>;
}
