//! The SSH implementation of [`RemoteExec`] (russh).
//!
//! One TCP connection and SSH session per host, kept for the whole job. Scripts run in
//! persistent remote shells on it: channels running a fixed dispatcher under `sh -c` (or
//! `sudo -n -- sh -c` for a privileged script of a non-root user), which take one framed script
//! after another on stdin and answer with framed results, so a script costs a fork of `sh` on
//! the host rather than a new SSH session. The script and its environment travel on stdin,
//! never on a command line. Host keys are checked against a configured known_hosts file, or pinned on
//! first contact in a [`HostKeyStore`].
//!
//! # Layout
//! - this file: [`SshConfig`], [`SshConnector`] (handshake, host key, login) and [`SshSession`];
//! - `script`: the dispatcher's command line and the payload (quoting, env names, sudo
//!   detection);
//! - `exec`: a persistent remote shell and its framing;
//! - `hostkey`: fingerprints, known_hosts, pinning, the russh handler that checks the host key
//!   during the handshake;
//! - `key`: loading the client key.

mod exec;
mod hostkey;
mod key;
mod script;
mod setup;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};
use russh::{Disconnect, Preferred};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::Instrument;

pub use hostkey::{fingerprint, fingerprint_of_line};
pub use setup::connector_factory;

use super::remote::{
    Connected, Connector, HostKeyStore, Output, RemoteError, RemoteExec, Script, Target,
};
use hostkey::{Accepted, HandlerError, HostKeyCheck, Trust};

/// How to reach hosts over SSH. `Debug` never shows the passphrase.
#[derive(Clone)]
pub struct SshConfig {
    /// The client's private key (OpenSSH format; ed25519 or RSA).
    pub key_path: PathBuf,
    /// The key's passphrase, already resolved from its secret source. Never logged or shown.
    pub passphrase: Option<String>,
    /// OpenSSH known_hosts file to trust exclusively; `None`: pin keys on first contact in the
    /// connector's [`HostKeyStore`].
    pub known_hosts: Option<PathBuf>,
    /// Limit for TCP connect + handshake + login.
    pub connect_timeout: Duration,
    /// Interval of SSH keep-alives on an idle connection (zero: none). Three unanswered ones
    /// close the connection.
    pub keepalive: Duration,
}

impl std::fmt::Debug for SshConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConfig")
            .field("key_path", &self.key_path)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("known_hosts", &self.known_hosts)
            .field("connect_timeout", &self.connect_timeout)
            .field("keepalive", &self.keepalive)
            .finish()
    }
}

/// Opens [`SshSession`]s. Made once per job (or process): it loads the client key once.
pub struct SshConnector {
    cfg: SshConfig,
    key: Arc<PrivateKey>,
    trust: Trust,
}

impl std::fmt::Debug for SshConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnector")
            .field("cfg", &self.cfg)
            .field("key", &fingerprint(self.key.public_key()))
            .finish_non_exhaustive()
    }
}

impl SshConnector {
    /// Loads the client key (decrypting it with the passphrase if it is encrypted).
    ///
    /// # Errors
    /// [`RemoteError::Key`] naming the key path if it is missing, unreadable, of an unsupported
    /// type, encrypted without a passphrase, or the passphrase is wrong.
    pub fn new(cfg: SshConfig, pins: Arc<dyn HostKeyStore>) -> Result<Self, RemoteError> {
        let key = key::load(&cfg.key_path, cfg.passphrase.as_deref())?;
        let trust = match &cfg.known_hosts {
            Some(path) => Trust::KnownHosts(path.clone()),
            None => Trust::Pins(pins),
        };
        Ok(SshConnector {
            key: Arc::new(key),
            trust,
            cfg,
        })
    }

    /// Connects to `target`, checks its host key and logs in with the client key.
    ///
    /// # Errors
    /// [`RemoteError::Connect`] (refused, unreachable, handshake failed),
    /// [`RemoteError::Timeout`] (`connecting`, after `connect_timeout`), [`RemoteError::Auth`],
    /// [`RemoteError::HostKeyChanged`], [`RemoteError::HostKeyUnknown`] or
    /// [`RemoteError::Store`].
    pub async fn connect(&self, target: &Target) -> Result<SshSession, RemoteError> {
        let span = tracing::info_span!("ssh_connect", host = %target);
        let attempt = tokio::time::timeout(self.cfg.connect_timeout, self.connect_inner(target));
        match attempt.instrument(span).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(host = %target, "connecting timed out");
                Err(RemoteError::Timeout {
                    host: target.to_string(),
                    what: "connecting".into(),
                    secs: whole_secs(self.cfg.connect_timeout),
                })
            }
        }
    }

    async fn connect_inner(&self, target: &Target) -> Result<SshSession, RemoteError> {
        let host = target.to_string();
        let connect_err = |reason: String| RemoteError::Connect {
            host: host.clone(),
            reason,
        };
        let trusted = hostkey::trusted_keys(&self.trust, target)?;
        let config = client::Config {
            keepalive_interval: (!self.cfg.keepalive.is_zero()).then_some(self.cfg.keepalive),
            keepalive_max: 3,
            nodelay: true,
            preferred: Preferred {
                key: Cow::Owned(hostkey::preferred_algorithms(&trusted)),
                ..Preferred::DEFAULT
            },
            ..client::Config::default()
        };

        let tcp = TcpStream::connect(SocketAddr::new(target.addr, target.port))
            .await
            .map_err(|e| connect_err(e.to_string()))?;
        // Small request/response packets: Nagle would add delayed-ACK stalls to every script.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay failed");
        }

        let accepted = Arc::new(Mutex::new(None));
        let handler = HostKeyCheck {
            trust: self.trust.clone(),
            target: target.clone(),
            accepted: accepted.clone(),
        };
        let mut handle = client::connect_stream(Arc::new(config), tcp, handler)
            .await
            .map_err(|e| match e {
                HandlerError::HostKey(e) => e,
                HandlerError::Ssh(e) => connect_err(format!("SSH handshake failed: {e}")),
            })?;

        let result = self.login(&mut handle, target, &accepted).await;
        match result {
            Ok(first_contact) => {
                if let Some(fp) = &first_contact {
                    tracing::info!(host = %target, fingerprint = %fp, "pinned the host key on first contact");
                }
                tracing::debug!(host = %target, user = %target.user, "connected");
                Ok(SshSession {
                    target: target.clone(),
                    handle,
                    first_contact,
                    closed: AtomicBool::new(false),
                    idle: Mutex::new(Vec::new()),
                    nonce: AtomicU64::new(initial_nonce()),
                })
            }
            Err(e) => {
                let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
                Err(e)
            }
        }
    }

    /// Authenticates, then pins a first-contact key (only a host that let us in is pinned).
    async fn login(
        &self,
        handle: &mut Handle<HostKeyCheck>,
        target: &Target,
        accepted: &Mutex<Option<Accepted>>,
    ) -> Result<Option<String>, RemoteError> {
        let ssh_err = |e: russh::Error| RemoteError::Connect {
            host: target.to_string(),
            reason: format!("login failed: {e}"),
        };
        let hash = if self.key.algorithm().is_rsa() {
            // rsa-sha2-512/256 as the server announces; `None` (SHA-1) only for old servers.
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(ssh_err)?
                .flatten()
        } else {
            None
        };
        let key = PrivateKeyWithHashAlg::new(self.key.clone(), hash);
        let auth = handle
            .authenticate_publickey(target.user.clone(), key)
            .await
            .map_err(ssh_err)?;
        if !auth.success() {
            tracing::warn!(host = %target, user = %target.user, "the SSH key was refused");
            return Err(RemoteError::Auth {
                host: target.to_string(),
                user: target.user.clone(),
            });
        }
        let accepted = accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| RemoteError::Connect {
                host: target.to_string(),
                reason: "the server's host key was never checked".into(),
            })?;
        hostkey::pin(&self.trust, target, &accepted)
    }
}

#[async_trait]
impl Connector for SshConnector {
    async fn connect(&self, target: &Target) -> Result<Connected, RemoteError> {
        let session = SshConnector::connect(self, target).await?;
        Ok(Connected {
            first_contact: session.first_contact(),
            exec: Arc::new(session),
        })
    }
}

/// An open SSH connection to one host. A [`RemoteExec::run`] takes an idle remote shell of the
/// right privilege, or opens a new one (a channel) when none is idle, and gives it back when
/// the script ended normally; so runs may overlap (one shell each), up to the server's
/// `MaxSessions` (OpenSSH default 10; idle shells are closed to make room when a channel is
/// refused). A shell whose script timed out, failed or was abandoned is closed, never reused.
/// Dropping the session closes its shells and the connection.
pub struct SshSession {
    target: Target,
    handle: Handle<HostKeyCheck>,
    first_contact: Option<String>,
    closed: AtomicBool,
    /// Idle shells, with whether they run through sudo.
    idle: Mutex<Vec<(bool, exec::Shell)>>,
    nonce: AtomicU64,
}

/// Idle shells kept per privilege; more concurrent runs open more and close the extra ones.
const IDLE_SHELLS: usize = 2;

/// A start for the request nonces that differs between sessions (they only check that a reply
/// belongs to its request; the framing relies on byte counts, not on the nonce).
fn initial_nonce() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    t.rotate_left(17) ^ u64::from(std::process::id())
}

impl std::fmt::Debug for SshSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSession")
            .field("target", &self.target)
            .field("first_contact", &self.first_contact)
            .finish_non_exhaustive()
    }
}

impl SshSession {
    /// The `SHA256:...` fingerprint of the host's key if this connection pinned it for the
    /// first time (show it in the room so a human can compare it), else `None`.
    pub fn first_contact(&self) -> Option<String> {
        self.first_contact.clone()
    }

    /// `true` once [`RemoteExec::close`] was called or the connection died.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed) || self.handle.is_closed()
    }

    fn idle_shells(&self) -> std::sync::MutexGuard<'_, Vec<(bool, exec::Shell)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_idle(&self, sudo: bool) -> Option<exec::Shell> {
        let mut idle = self.idle_shells();
        let i = idle
            .iter()
            .rposition(|(s, sh)| *s == sudo && sh.reusable())?;
        Some(idle.swap_remove(i).1)
    }

    fn give_back(&self, sudo: bool, shell: exec::Shell) {
        if shell.reusable() && !self.is_closed() {
            let mut idle = self.idle_shells();
            if idle.iter().filter(|(s, _)| *s == sudo).count() < IDLE_SHELLS {
                idle.push((sudo, shell));
                return;
            }
        }
        drop(shell); // stopped in the background
    }

    /// A new shell running `command`; when the server refuses another channel, closes the
    /// idle shells and tries once more.
    async fn open_shell(&self, command: &'static str) -> Result<exec::Shell, String> {
        let channel = match self.handle.channel_open_session().await {
            Ok(c) => c,
            Err(first) => {
                let evicted: Vec<_> = self.idle_shells().drain(..).collect();
                if evicted.is_empty() || self.is_closed() {
                    return Err(format!("cannot open a channel: {first}"));
                }
                for (_, shell) in evicted {
                    shell.stop().await;
                }
                self.handle
                    .channel_open_session()
                    .await
                    .map_err(|e| format!("cannot open a channel: {e}"))?
            }
        };
        exec::Shell::start(channel, command)
            .await
            .map_err(|exec::ExecError::Channel(r)| r)
    }
}

#[async_trait]
impl RemoteExec for SshSession {
    fn target(&self) -> &Target {
        &self.target
    }

    async fn run(&self, script: &Script) -> Result<Output, RemoteError> {
        let t = &self.target;
        let channel_err = |reason: String| RemoteError::Channel {
            host: t.to_string(),
            reason: format!("step {}: {reason}", script.step),
        };
        let payload = script::payload(script).map_err(|e| RemoteError::Script {
            host: t.to_string(),
            step: script.step.clone(),
            reason: e.to_string(),
        })?;
        if self.is_closed() {
            return Err(channel_err("the connection is closed".into()));
        }
        let command = script::command_line(&t.user, script.privileged);
        let sudo = command == script::SUDO_SH;
        // Names only: values may be secrets.
        let env_names: Vec<&str> = script.env.iter().map(|(n, _)| n.as_str()).collect();
        let shell_cmd = if sudo {
            "sudo -n -- sh -c <dispatcher>"
        } else {
            "sh -c <dispatcher>"
        };
        tracing::debug!(host = %t, step = %script.step, shell = shell_cmd, ?env_names, "running");

        let started = Instant::now();
        let deadline = started + script.timeout;
        let timeout = || {
            tracing::warn!(host = %t, step = %script.step, "timed out; shell closed");
            RemoteError::Timeout {
                host: t.to_string(),
                what: format!("step {}", script.step),
                secs: whole_secs(script.timeout),
            }
        };
        let mut shell = match self.take_idle(sudo) {
            Some(shell) => shell,
            None => match tokio::time::timeout_at(deadline, self.open_shell(command)).await {
                Ok(Ok(shell)) => shell,
                Ok(Err(reason)) => return Err(channel_err(reason)),
                Err(_) => return Err(timeout()),
            },
        };
        let nonce = self.nonce.fetch_add(1, Ordering::Relaxed);
        // If this future is dropped here, dropping `shell` stops it (and its script).
        let output = match tokio::time::timeout_at(deadline, shell.run(nonce, &payload)).await {
            Ok(Ok(o)) => o,
            Err(_) => {
                shell.stop().await;
                return Err(timeout());
            }
            Ok(Err(exec::ExecError::Channel(reason))) => {
                shell.stop().await;
                return Err(channel_err(reason));
            }
        };
        self.give_back(sudo, shell);
        tracing::debug!(
            host = %t,
            step = %script.step,
            status = ?output.status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "finished"
        );
        if script::sudo_wants_password(sudo, output.status, &output.stderr) {
            return Err(RemoteError::SudoPassword {
                host: t.to_string(),
                user: t.user.clone(),
            });
        }
        Ok(output)
    }

    async fn close(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            let idle: Vec<_> = self.idle_shells().drain(..).collect();
            for (_, shell) in idle {
                shell.stop().await;
            }
            let _ = self
                .handle
                .disconnect(Disconnect::ByApplication, "", "en")
                .await;
            tracing::debug!(host = %self.target, "disconnected");
        }
    }
}

/// Whole seconds for error messages, rounded up (a 300 ms limit reads `1 s`, not `0 s`).
fn whole_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
