//! One script on one channel: exec, stdin, collect stdout/stderr/status, all before a deadline.

use russh::client::Msg;
use std::time::Duration;

use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::time::Instant;

use crate::provision::remote::Output;

/// Most bytes kept of each of stdout and stderr; the rest is counted and dropped, so a script
/// that dumps a log cannot exhaust the bot's memory.
pub(super) const OUTPUT_LIMIT: usize = 8 << 20;

/// Why a channel run did not produce an [`Output`].
#[derive(Debug)]
pub(super) enum ExecError {
    /// The deadline passed; the channel was signalled and closed.
    Timeout,
    /// The channel failed.
    Channel(String),
}

/// Runs `command` on `channel` with `stdin` as its standard input (then end-of-file), and
/// collects its output until the server closes the channel or `deadline` passes. A run that
/// does not finish (deadline, failure, or the caller dropping this future) stops the channel.
pub(super) async fn run(
    channel: Channel<Msg>,
    command: &str,
    stdin: &[u8],
    deadline: Instant,
) -> Result<Output, ExecError> {
    let (mut read, write) = channel.split();
    let mut guard = StopOnDrop(Some(write));
    let outcome = match guard.0.as_ref() {
        Some(write) => {
            tokio::time::timeout_at(deadline, talk(write, &mut read, command, stdin)).await
        }
        None => Ok(Err(ExecError::Channel("the channel is gone".into()))),
    };
    let result = outcome.unwrap_or(Err(ExecError::Timeout));
    match (&result, guard.0.take()) {
        // The server closed the channel: nothing left to stop.
        (Ok(_), _) | (_, None) => {}
        (Err(_), Some(write)) => stop(write).await,
    }
    result
}

async fn talk(
    write: &ChannelWriteHalf<Msg>,
    read: &mut ChannelReadHalf,
    command: &str,
    stdin: &[u8],
) -> Result<Output, ExecError> {
    write
        .exec(true, command)
        .await
        .map_err(|e| ExecError::Channel(format!("exec request failed: {e}")))?;
    // Write and read at once: a script may print a lot before it has read all its input.
    let send = async {
        write.data(stdin).await?;
        write.eof().await
    };
    let (sent, got) = tokio::join!(send, collect(read));
    if let Err(e) = sent {
        // A script that exits early leaves part of its input unread: not an error by itself.
        tracing::debug!(error = %e, "writing the script stopped early");
    }
    got
}

/// Asks the remote process to stop (TERM; OpenSSH honours it for non-root logins only), then
/// closes the channel. Bounded, so a dead connection cannot hold the caller.
async fn stop(write: ChannelWriteHalf<Msg>) {
    let stop = async {
        let _ = write.signal(Sig::TERM).await;
        let _ = write.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), stop).await;
}

/// Stops the channel in the background if the run is dropped before it finished (a cancelled
/// job), so the remote side does not keep a channel and a session slot open.
struct StopOnDrop(Option<ChannelWriteHalf<Msg>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let (Some(write), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(stop(write));
        }
    }
}

async fn collect(read: &mut ChannelReadHalf) -> Result<Output, ExecError> {
    let mut stdout = Capped::default();
    let mut stderr = Capped::default();
    let mut status = None;
    let mut signal = None;
    let mut closed_by_server = false;
    loop {
        match read.wait().await {
            Some(ChannelMsg::Data { data }) => stdout.push(&data),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => stderr.push(&data),
            Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status),
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                ..
            }) => signal = Some((signal_name, core_dumped)),
            Some(ChannelMsg::Failure) => {
                return Err(ExecError::Channel(
                    "the server refused to run the command".into(),
                ));
            }
            Some(ChannelMsg::Close) => {
                closed_by_server = true;
                break;
            }
            None => break,
            Some(_) => {}
        }
    }
    if let Some((sig, core)) = &signal {
        tracing::debug!(signal = ?sig, core_dumped = core, "the remote process died from a signal");
    }
    if status.is_none() && signal.is_none() && !closed_by_server {
        // No status and no close from the server: the connection went away under us.
        return Err(ExecError::Channel(
            "the connection was lost before the script finished".into(),
        ));
    }
    Ok(Output {
        status,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
    })
}

/// A byte buffer that keeps the first [`OUTPUT_LIMIT`] bytes and counts the rest.
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    dropped: usize,
}

impl Capped {
    fn push(&mut self, data: &[u8]) {
        let room = OUTPUT_LIMIT.saturating_sub(self.bytes.len());
        let take = room.min(data.len());
        self.bytes
            .extend_from_slice(data.get(..take).unwrap_or_default());
        self.dropped += data.len() - take;
    }

    fn finish(self) -> String {
        let mut s = String::from_utf8_lossy(&self.bytes).into_owned();
        if self.dropped > 0 {
            s.push_str(&format!(
                "\n[labkube: {} more bytes dropped]\n",
                self.dropped
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_keeps_the_head() {
        let mut c = Capped::default();
        c.push(&vec![b'a'; OUTPUT_LIMIT - 1]);
        c.push(b"bcd");
        let s = c.finish();
        assert!(s.starts_with("aaa"));
        assert!(
            s.contains("ab\n[labkube: 2 more bytes dropped]"),
            "{}",
            &s[s.len() - 40..]
        );
    }
}
