//! The terminal as a chat room: each line on standard input is a message from the local user
//! (an admin) in the room `console`; the bot's messages are printed, and an edit of a message
//! is printed again prefixed with `~ ` (the job's status line, reprinted).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Attachment, ChatAdapter, ChatError, Incoming, Replier};
use crate::progress::MessageRef;

/// Adapter name.
pub const PLATFORM: &str = "console";
/// The console's one room.
pub const ROOM: &str = "console";
/// Longest input line taken; the rest of a longer line is dropped with a notice.
const MAX_LINE: usize = 16 * 1024;

type Writer = Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>;

/// Input and output of the console (standard input and output, or pipes in tests).
pub struct ConsoleIo {
    /// Where lines are read from.
    pub input: Box<dyn AsyncRead + Send + Unpin>,
    /// Where messages are printed.
    pub output: Box<dyn AsyncWrite + Send + Unpin>,
}

impl ConsoleIo {
    /// The process's standard input and output.
    pub fn stdio() -> Self {
        ConsoleIo {
            input: Box::new(tokio::io::stdin()),
            output: Box::new(tokio::io::stdout()),
        }
    }
}

/// The console adapter.
pub struct ConsoleAdapter {
    user: String,
    input: Box<dyn AsyncRead + Send + Unpin>,
    printer: Arc<Printer>,
}

/// The console's [`Replier`]: prints messages, numbers them for edits.
struct Printer {
    out: Writer,
    next_id: AtomicU64,
    /// Where files for the local user alone are written.
    private_dir: std::path::PathBuf,
}

impl ConsoleAdapter {
    /// A console where `user` types; files for them alone (kubeconfigs) go to `private_dir`.
    pub fn new(user: String, io: ConsoleIo, private_dir: std::path::PathBuf) -> Self {
        let printer = Printer {
            private_dir,
            out: Arc::new(Mutex::new(io.output)),
            next_id: AtomicU64::new(1),
        };
        ConsoleAdapter {
            user,
            input: io.input,
            printer: Arc::new(printer),
        }
    }

    /// The local user's name.
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl Printer {
    async fn print(&self, text: &str) -> Result<(), ChatError> {
        let mut out = self.out.lock().await;
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        out.write_all(text.as_bytes()).await?;
        out.flush().await?;
        Ok(())
    }
}

#[async_trait]
impl Replier for Printer {
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        self.print(text).await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Ok(MessageRef {
            platform: platform.into(),
            room: room.into(),
            id: id.to_string(),
        })
    }

    async fn edit(&self, _message: &MessageRef, text: &str) -> Result<(), ChatError> {
        self.print(&format!("~ {text}")).await
    }

    /// The file is written where only the bot's user (the one at the terminal) can read it
    /// (0600, in a 0700 folder), replacing an older one of that name; the reply names it.
    async fn send_private(
        &self,
        platform: &str,
        _user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<String, ChatError> {
        let dir = self.private_dir.clone();
        let (name, body) = (file.name.clone(), file.body.clone());
        let path = tokio::task::spawn_blocking(move || write_private(&dir, &name, &body))
            .await
            .map_err(std::io::Error::other)??;
        let _ = (platform, text);
        Ok(format!(
            "the file {} (readable by you only)",
            path.display()
        ))
    }

    /// A terminal holds any length: the file is printed after the message, between rules
    /// naming it.
    async fn reply_with_file(
        &self,
        platform: &str,
        room: &str,
        _to: &str,
        _user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<MessageRef, ChatError> {
        let sent = self.send(platform, room, text).await?;
        let body = file.body.trim_end_matches('\n');
        self.print(&format!(
            "----- {} ({}) -----\n{body}\n----- end of {} -----",
            file.name, file.caption, file.name
        ))
        .await?;
        Ok(sent)
    }
}

/// Writes `body` to `dir/name` (the folder made 0700 if missing), 0600, atomically.
fn write_private(
    dir: &std::path::Path,
    name: &str,
    body: &str,
) -> Result<std::path::PathBuf, std::io::Error> {
    use std::io::Write as _;
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let path = dir.join(name);
    // tempfile creates it 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(body.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

#[async_trait]
impl ChatAdapter for ConsoleAdapter {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn replier(&self) -> Arc<dyn Replier> {
        self.printer.clone()
    }

    async fn run(
        self: Box<Self>,
        inbox: mpsc::Sender<Incoming>,
        shutdown: CancellationToken,
    ) -> Result<(), ChatError> {
        let ConsoleAdapter {
            user,
            input,
            printer,
        } = *self;
        printer
            .print(&format!(
                "labkube console: you are {user} (admin) in room {ROOM}. Type /help for commands; end input (Ctrl-D) to quit."
            ))
            .await?;
        // Event ids must never repeat across runs, or dedupe would swallow new commands.
        let session = crate::store::now_ms();
        let mut reader = BufReader::new(input);
        let mut n = 0u64;
        loop {
            let line = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                line = read_line(&mut reader) => line?,
            };
            let Some((line, truncated)) = line else {
                return Ok(());
            };
            n += 1;
            if truncated {
                printer
                    .print(&format!(
                        "(input line longer than {MAX_LINE} bytes; the rest was dropped)"
                    ))
                    .await?;
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            if !text.starts_with(['/', '!']) {
                printer
                    .print("commands start with / or ! (try /help)")
                    .await?;
                continue;
            }
            let msg = Incoming {
                platform: PLATFORM.into(),
                room: ROOM.into(),
                sender: user.clone(),
                event_id: format!("{session}-{n}"),
                text: text.to_string(),
                bot_username: None,
                help_note: None,
                sent_at_ms: None,
                private: true,
                edit_of: None,
                handled: None,
            };
            if inbox.send(msg).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes (dropping the rest of a longer one). `None` at
/// end of input. Invalid UTF-8 is replaced, not fatal.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> Result<Option<(String, bool)>, ChatError> {
    let mut buf = Vec::new();
    let n = (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    let mut truncated = false;
    if !buf.ends_with(b"\n") && buf.len() >= MAX_LINE {
        truncated = true;
        let mut rest = Vec::new();
        loop {
            rest.clear();
            let m = (&mut *reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut rest)
                .await?;
            if m == 0 || rest.ends_with(b"\n") {
                break;
            }
        }
    }
    Ok(Some((
        String::from_utf8_lossy(&buf).into_owned(),
        truncated,
    )))
}
