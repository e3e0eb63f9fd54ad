//! The remote-execution seam: run a step script on a host and get its exit status and output.
//! The real implementation is SSH (russh, `ssh.rs`); tests of the phase engine may use a fake.
//! Nothing above this seam knows about SSH.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;

/// A host to reach.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// Address (validated by the grammar).
    pub addr: IpAddr,
    /// SSH port.
    pub port: u16,
    /// Login user; when not `root`, privileged scripts run through `sudo -n`.
    pub user: String,
}

impl std::fmt::Display for Target {
    /// `10.0.0.1` for port 22, else `10.0.0.1:2222` (`[fd00::1]:2222` for IPv6): the prefix of
    /// every log and chat line about this host.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.port, self.addr) {
            (22, a) => write!(f, "{a}"),
            (p, IpAddr::V6(a)) => write!(f, "[{a}]:{p}"),
            (p, a) => write!(f, "{a}:{p}"),
        }
    }
}

impl Target {
    /// This host's key in a [`HostKeyStore`]: `addr:port` (`10.0.0.1:22`; IPv6 unbracketed,
    /// `fd00::1:22`, unambiguous because the port is after the last colon).
    pub fn pin_id(&self) -> String {
        format!("{}:{}", self.addr, self.port)
    }
}

/// One script run.
#[derive(Clone, Debug)]
pub struct Script {
    /// Step name, for errors and logs (e.g. `prepare_host`).
    pub step: String,
    /// The script text (POSIX sh). It is sent on stdin to a shell on the host (a framed request
    /// to the connection's persistent shell), never pasted
    /// into a command line.
    pub body: String,
    /// Environment for the script: names are `[A-Z_][A-Z0-9_]*`; values are shell-quoted by
    /// the implementation (they may contain anything).
    pub env: Vec<(String, String)>,
    /// Run as root (`sudo -n` when the login user is not root).
    pub privileged: bool,
    /// Give up (and close the channel) after this long.
    pub timeout: Duration,
}

/// What a script run produced. A non-zero exit is not an error at this level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Exit status; `None` if the remote process died from a signal or sent no status.
    pub status: Option<u32>,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl Output {
    /// `true` for exit status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Why a host could not be used. `Display` names the host and is safe to show in chat.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// TCP connect or SSH handshake failed (refused, unreachable, protocol error).
    #[error("{host}: cannot connect: {reason}")]
    Connect {
        /// Host as displayed.
        host: String,
        /// Cause.
        reason: String,
    },
    /// Connecting, or a script, took longer than allowed.
    #[error("{host}: {what} timed out after {secs} s")]
    Timeout {
        /// Host as displayed.
        host: String,
        /// `connecting` or `step <name>`.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// The server refused our key for this user.
    #[error("{host}: the SSH key was refused for user {user}")]
    Auth {
        /// Host as displayed.
        host: String,
        /// Login user.
        user: String,
    },
    /// The host presented a different key than the one pinned or in known_hosts.
    #[error(
        "{host}: the host key changed (expected {expected}, got {presented}); refusing to connect. \
         If the host was reinstalled, an admin can allow the new key with /host forget {addr}"
    )]
    HostKeyChanged {
        /// Host as displayed.
        host: String,
        /// Address, for the /host forget hint.
        addr: String,
        /// SHA256 fingerprint we trust.
        expected: String,
        /// SHA256 fingerprint the host presented.
        presented: String,
    },
    /// A known_hosts file is configured and this host is not in it.
    #[error(
        "{host}: not in the configured known_hosts file (its key is {presented}); refusing to connect"
    )]
    HostKeyUnknown {
        /// Host as displayed.
        host: String,
        /// SHA256 fingerprint the host presented.
        presented: String,
    },
    /// `sudo -n` wants a password.
    #[error(
        "{host}: sudo asks user {user} for a password; give {user} passwordless sudo or log in as root"
    )]
    SudoPassword {
        /// Host as displayed.
        host: String,
        /// Login user.
        user: String,
    },
    /// Opening a channel or talking on it failed.
    #[error("{host}: SSH channel failed: {reason}")]
    Channel {
        /// Host as displayed.
        host: String,
        /// Cause.
        reason: String,
    },
    /// The client key could not be loaded (missing, unreadable, wrong passphrase).
    #[error("cannot load the SSH key {path}: {reason}")]
    Key {
        /// Key path.
        path: String,
        /// Cause (never the passphrase).
        reason: String,
    },
    /// The script cannot be sent as given (a bad environment name, a NUL byte in a value).
    /// A bug of the caller, never worth a retry.
    #[error("{host}: step {step} cannot be sent: {reason}")]
    Script {
        /// Host as displayed.
        host: String,
        /// Step name.
        step: String,
        /// What is wrong.
        reason: String,
    },
    /// The host-key store failed.
    #[error("host key store failed: {0}")]
    Store(String),
}

/// A connection to one host, kept for a whole job; each script is a channel on it.
#[async_trait]
pub trait RemoteExec: Send + Sync {
    /// The host.
    fn target(&self) -> &Target;
    /// Runs one script. Transport problems are `Err`; the script's own failure is an `Output`
    /// with a non-zero status. A `sudo` that wants a password is [`RemoteError::SudoPassword`].
    async fn run(&self, script: &Script) -> Result<Output, RemoteError>;
    /// Closes the connection (idempotent).
    async fn close(&self);
}

/// Trusted host keys pinned on first contact (the `host_keys` tree of the store). Keys are
/// OpenSSH public-key lines (`ssh-ed25519 AAAA...`); hosts are `addr:port`.
pub trait HostKeyStore: Send + Sync {
    /// The pinned key of `host`, if any.
    fn pinned(&self, host: &str) -> Result<Option<String>, RemoteError>;
    /// Pins `key` for `host` (first contact).
    fn pin(&self, host: &str, key: &str) -> Result<(), RemoteError>;
}

/// A new connection and what happened while making it.
pub struct Connected {
    /// The connection.
    pub exec: std::sync::Arc<dyn RemoteExec>,
    /// `Some(SHA256:...)` if this connection pinned the host's key for the first time.
    pub first_contact: Option<String>,
}

/// Opens connections (SSH in the product; a fake in engine tests).
#[async_trait]
pub trait Connector: Send + Sync {
    /// Connects to `target`, checking its host key.
    async fn connect(&self, target: &Target) -> Result<Connected, RemoteError>;
}
