//! `[matrix]`: the Matrix account the bot logs in as, and how it treats invites and failures.

use serde::Deserialize;

use super::SecretSource;

/// Which invites the bot accepts. An invite is only ever accepted from a user listed in
/// `[[users]]` for Matrix; the rest are declined whatever this says.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Invites {
    /// Only into rooms listed in `[[rooms]]`; others are declined.
    #[default]
    AllowedRooms,
    /// Into any room; in a room not listed in `[[rooms]]` the bot says the room's id (for the
    /// config) and answers nothing else until an admin lists it.
    AnyRoom,
    /// Never: the bot stays in the rooms it is in, and an admin joins it to new ones.
    Never,
}

/// `[matrix]`. Present: `labkube run` connects to Matrix.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Matrix {
    /// Homeserver base URL, e.g. `https://matrix.lab.example`.
    pub homeserver: String,
    /// The bot's user id (`@labkube:lab.example`) or localpart (`labkube`).
    pub user: String,
    /// Password for the first login; afterwards the stored session is used.
    pub password: Option<SecretSource>,
    /// An access token instead of a password (the device is the token's).
    pub access_token: Option<SecretSource>,
    /// Display name of the bot's device, set at the first login.
    pub device_name: String,
    /// Which invites are accepted.
    pub invites: Invites,
    /// Long-poll timeout of one sync request, s (1-120).
    pub sync_timeout_secs: u64,
    /// Timeout of any other request to the homeserver, s (1-300).
    pub request_timeout_secs: u64,
    /// Attempts of one request (send, edit, join) before giving up; `M_LIMIT_EXCEEDED` waits
    /// for the server's `retry_after_ms` between attempts (1-20).
    pub request_attempts: usize,
    /// Longest wait between two attempts, and between two syncs while the homeserver is
    /// unreachable (backoff from 0.5 s doubles up to this), s (1-600).
    pub retry_max_secs: u64,
}

impl Default for Matrix {
    fn default() -> Self {
        Matrix {
            homeserver: String::new(),
            user: String::new(),
            password: None,
            access_token: None,
            device_name: "labkube".into(),
            invites: Invites::default(),
            sync_timeout_secs: 30,
            request_timeout_secs: 30,
            request_attempts: 5,
            retry_max_secs: 30,
        }
    }
}

impl Matrix {
    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((format!("matrix.{k}"), m));
        let url = self.homeserver.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
            bad(
                "homeserver",
                format!("{url:?} is not a URL such as https://matrix.lab.example"),
            );
        }
        let user = self.user.trim();
        let localpart = user.strip_prefix('@').map_or(user, |u| {
            u.split_once(':')
                .map_or("", |(l, server)| if server.is_empty() { "" } else { l })
        });
        if localpart.is_empty() || localpart.contains([':', ' ', '@']) {
            bad(
                "user",
                format!("{user:?} is not a Matrix user id (@bot:lab.example) or localpart"),
            );
        }
        match (&self.password, &self.access_token) {
            (None, None) => bad(
                "password",
                "give password or access_token, e.g. password = { env = \"LABKUBE_MATRIX_PASSWORD\" }"
                    .into(),
            ),
            (Some(_), Some(_)) => bad(
                "access_token",
                "give password or access_token, not both".into(),
            ),
            (Some(s), None) | (None, Some(s)) => {
                let key = if self.password.is_some() {
                    "password"
                } else {
                    "access_token"
                };
                if let Err(e) = s.resolve() {
                    bad(key, e);
                }
            }
        }
        if self.device_name.trim().is_empty() {
            bad("device_name", "must not be empty".into());
        }
        for (key, v, lo, hi) in [
            ("sync_timeout_secs", self.sync_timeout_secs, 1, 120),
            ("request_timeout_secs", self.request_timeout_secs, 1, 300),
            ("request_attempts", self.request_attempts as u64, 1, 20),
            ("retry_max_secs", self.retry_max_secs, 1, 600),
        ] {
            if !(lo..=hi).contains(&v) {
                bad(key, format!("{v} is out of range; accepted: {lo} to {hi}"));
            }
        }
        out
    }
}
