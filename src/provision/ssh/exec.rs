//! A persistent remote shell: one channel running a fixed dispatcher that reads framed scripts
//! on its stdin and answers with framed results, so a script costs a fork of `sh` on the host
//! instead of a new SSH session.
//!
//! Request: `<nonce> <nlines>\n` then the payload (exactly `nlines` lines, each ending in `\n`).
//! The dispatcher reads those lines with `IFS= read -r` into a variable (the script never
//! touches the disk), then runs it as `( eval ... ) </dev/null >out 2>err` in the background
//! and waits for it (so a TERM to the dispatcher is passed on to the script). The subshell
//! first unsets the dispatcher's own variables and functions, and clears the positional
//! parameters, so the script starts like `sh -s` would (but `$$` and `$PPID` are those of the
//! dispatcher shell). `out` and `err` are created mode 0600 in a `mktemp -d` directory (0700)
//! before each script and removed after it. The reply is
//! `<nonce> <status> <outbytes> <errbytes>\n` followed by the first `min(outbytes, limit)`
//! bytes of stdout and `min(errbytes, limit)` bytes of stderr, sent with `head -c` from
//! descriptors opened before the files are removed (so the files are gone before the reply,
//! and bytes written later by a process the script left behind cannot shift the framing).
//! The byte counts make the framing exact whatever the output holds.

use russh::client::Msg;
use std::time::Duration;

use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};

use crate::provision::remote::Output;

/// Most bytes kept of each of stdout and stderr; the rest is counted and dropped (on the host,
/// the dispatcher sends no more than this), so a script that dumps a log cannot exhaust the
/// bot's memory.
pub(super) const OUTPUT_LIMIT: usize = 8 << 20;

/// Longest reply header accepted (nonce, status and two sizes fit easily).
const HEADER_MAX: usize = 128;

/// Why a run did not produce an [`Output`] (deadlines are the caller's). Either way the shell must be dropped (or
/// [`Shell::stop`]ped), never reused.
#[derive(Debug)]
pub(super) enum ExecError {
    /// The channel failed or the shell broke the protocol.
    Channel(String),
}

/// One remote dispatcher shell on its own channel. Dropping it stops it in the background.
pub(super) struct Shell {
    read: ChannelReadHalf,
    write: Option<ChannelWriteHalf<Msg>>,
    /// Bytes received on stdout and not consumed yet.
    buf: Vec<u8>,
    /// The dispatcher's own stderr (sudo's messages when it refuses to start it).
    own_stderr: Capped,
    status: Option<u32>,
    /// The server closed the channel or the connection went away.
    ended: bool,
    /// No request sent yet.
    fresh: bool,
}

impl Shell {
    /// Starts `command` (the dispatcher, run by `sh -c` or `sudo -n -- sh -c`) on `channel`.
    pub(super) async fn start(channel: Channel<Msg>, command: &str) -> Result<Shell, ExecError> {
        let (read, write) = channel.split();
        if let Err(e) = write.exec(true, command).await {
            stop(write).await;
            return Err(ExecError::Channel(format!("exec request failed: {e}")));
        }
        Ok(Shell {
            read,
            write: Some(write),
            buf: Vec::new(),
            own_stderr: Capped::default(),
            status: None,
            ended: false,
            fresh: true,
        })
    }

    /// `true` while the shell can take another script.
    pub(super) fn reusable(&self) -> bool {
        !self.ended && self.write.is_some()
    }

    /// Sends one payload (`export` lines and body, every line ending in `\n`) and waits for its
    /// result. A shell that ends before its first reply yields the channel's own status and
    /// stderr (so `sudo` refusing to start is seen as before).
    pub(super) async fn run(&mut self, nonce: u64, payload: &[u8]) -> Result<Output, ExecError> {
        let fresh = std::mem::replace(&mut self.fresh, false);
        let lines = payload.iter().filter(|&&b| b == b'\n').count();
        let mut request = format!("{nonce:016x} {lines}\n").into_bytes();
        request.extend_from_slice(payload);
        if !payload.is_empty() && payload.last() != Some(&b'\n') {
            request.push(b'\n');
        }
        let Some(write) = self.write.as_ref() else {
            return Err(ExecError::Channel("the remote shell is gone".into()));
        };
        if let Err(e) = write.data(&request[..]).await {
            // A shell that already ended (sudo refused) reports why below.
            tracing::debug!(error = %e, "writing the script stopped early");
        }

        // Header.
        let header = loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.drain(..=pos).collect::<Vec<u8>>();
                break line;
            }
            if self.buf.len() > HEADER_MAX {
                return Err(ExecError::Channel(
                    "garbled reply from the remote shell".into(),
                ));
            }
            if !self.receive().await? {
                return self.ended_early(fresh);
            }
        };
        let (status, out_len, err_len) = parse_header(&header, nonce)
            .ok_or_else(|| ExecError::Channel("garbled reply from the remote shell".into()))?;
        let out_sent = out_len.min(OUTPUT_LIMIT as u64) as usize;
        let err_sent = err_len.min(OUTPUT_LIMIT as u64) as usize;
        let want = out_sent + err_sent;
        while self.buf.len() < want {
            if !self.receive().await? {
                return Err(ExecError::Channel(
                    "the remote shell ended in the middle of a reply".into(),
                ));
            }
        }
        let rest = self.buf.split_off(want);
        let body = std::mem::replace(&mut self.buf, rest);
        let (out, err) = body.split_at(out_sent);
        Ok(Output {
            status: Some(status),
            stdout: Capped::exact(out, out_len as usize - out_sent),
            stderr: Capped::exact(err, err_len as usize - err_sent),
        })
    }

    fn ended_early(&mut self, fresh: bool) -> Result<Output, ExecError> {
        if fresh && self.status.is_some() {
            return Ok(Output {
                status: self.status,
                stdout: String::from_utf8_lossy(&self.buf).into_owned(),
                stderr: std::mem::take(&mut self.own_stderr).finish(),
            });
        }
        let stderr = std::mem::take(&mut self.own_stderr).finish();
        Err(ExecError::Channel(if stderr.trim().is_empty() {
            "the remote shell ended before the script finished".into()
        } else {
            format!(
                "the remote shell ended before the script finished: {}",
                stderr.trim()
            )
        }))
    }

    /// Waits for the next message; `false` once the channel or the connection ended.
    async fn receive(&mut self) -> Result<bool, ExecError> {
        if self.ended {
            return Ok(false);
        }
        loop {
            match self.read.wait().await {
                Some(ChannelMsg::Data { data }) => {
                    self.buf.extend_from_slice(&data);
                    return Ok(true);
                }
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => self.own_stderr.push(&data),
                Some(ChannelMsg::ExitStatus { exit_status }) => self.status = Some(exit_status),
                Some(ChannelMsg::Failure) => {
                    self.ended = true;
                    return Err(ExecError::Channel(
                        "the server refused to run the command".into(),
                    ));
                }
                Some(ChannelMsg::Close) | None => {
                    self.ended = true;
                    return Ok(false);
                }
                Some(_) => {}
            }
        }
    }

    /// Stops the shell (and the script it runs) now; bounded.
    pub(super) async fn stop(mut self) {
        if let Some(write) = self.write.take() {
            stop(write).await;
        }
    }
}

/// Stops the shell in the background if it is dropped while still open (a cancelled job, or
/// the session going away), so the host does not keep the channel, shell and script.
impl Drop for Shell {
    fn drop(&mut self) {
        if let (Some(write), Ok(rt)) = (self.write.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(stop(write));
        }
    }
}

/// `<nonce> <status> <outbytes> <errbytes>\n` with our nonce.
fn parse_header(line: &[u8], nonce: u64) -> Option<(u32, u64, u64)> {
    let line = std::str::from_utf8(line).ok()?.strip_suffix('\n')?;
    let mut f = line.split(' ');
    let (n, s, a, b) = (f.next()?, f.next()?, f.next()?, f.next()?);
    if f.next().is_some() || n != format!("{nonce:016x}") {
        return None;
    }
    Some((s.parse().ok()?, a.parse().ok()?, b.parse().ok()?))
}

/// Asks the remote process to stop (TERM; OpenSSH honours it for non-root logins only; the
/// dispatcher passes it on to the running script), then closes the channel. Bounded, so a dead
/// connection cannot hold the caller.
async fn stop(write: ChannelWriteHalf<Msg>) {
    let stop = async {
        let _ = write.signal(Sig::TERM).await;
        let _ = write.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), stop).await;
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

    /// The text of `kept` bytes plus the note for `dropped` more.
    fn exact(kept: &[u8], dropped: usize) -> String {
        let mut c = Capped::default();
        c.push(kept);
        c.dropped += dropped;
        c.finish()
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
        assert_eq!(
            Capped::exact(b"xy", 3),
            "xy\n[labkube: 3 more bytes dropped]\n"
        );
    }

    #[test]
    fn the_dispatcher_caps_output_at_the_limit() {
        assert!(super::super::script::SH.contains(&format!("L={OUTPUT_LIMIT};")));
    }

    #[test]
    fn headers() {
        let n = 0xab;
        assert_eq!(
            parse_header(b"00000000000000ab 3 10 0\n", n),
            Some((3, 10, 0))
        );
        assert_eq!(parse_header(b"00000000000000ac 3 10 0\n", n), None);
        assert_eq!(parse_header(b"00000000000000ab 3 10\n", n), None);
        assert_eq!(parse_header(b"00000000000000ab 3 10 0 1\n", n), None);
        assert_eq!(parse_header(b"00000000000000ab x 10 0\n", n), None);
    }
}
