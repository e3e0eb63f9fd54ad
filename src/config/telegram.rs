//! `[telegram]`: the Telegram bot the labkube daemon runs as, and how it talks to the Bot API.

use serde::Deserialize;

use super::SecretSource;

/// The public Bot API.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// `[telegram]`. Present: `labkube run` connects to Telegram.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Telegram {
    /// The bot token from @BotFather (a secret: env or file).
    pub token: Option<SecretSource>,
    /// Bot API base URL: the public API, or a self-hosted `telegram-bot-api` server (origin
    /// and optional path prefix, no trailing slash).
    pub api_url: String,
    /// Long-poll timeout of one `getUpdates`, s (1-50).
    pub poll_timeout_secs: u64,
    /// Timeout of any other request, s (1-120).
    pub request_timeout_secs: u64,
    /// Fewest milliseconds between two edits in one private chat (100-60000; Telegram allows
    /// about one change a second, so below 1000 only for a Bot API server of one's own).
    pub edit_interval_ms: u64,
    /// Fewest milliseconds between two edits in one group (100-60000); Telegram allows about
    /// 20 messages a minute in a group.
    pub group_edit_interval_ms: u64,
    /// Longest HTTP 429 `retry_after` honoured for one message before it is given up, s
    /// (1-3600).
    pub max_retry_after_secs: u64,
    /// Publish the command list with `setMyCommands` at start-up.
    pub publish_commands: bool,
}

impl Default for Telegram {
    fn default() -> Self {
        Telegram {
            token: None,
            api_url: TELEGRAM_API_URL.into(),
            poll_timeout_secs: 25,
            request_timeout_secs: 15,
            edit_interval_ms: 1000,
            group_edit_interval_ms: 3000,
            max_retry_after_secs: 60,
            publish_commands: true,
        }
    }
}

impl Telegram {
    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((format!("telegram.{k}"), m));
        match &self.token {
            None => bad(
                "token",
                "give the bot token, e.g. token = { env = \"LABKUBE_TELEGRAM_TOKEN\" }".into(),
            ),
            Some(s) => {
                if let Err(e) = s.resolve() {
                    bad("token", e);
                }
            }
        }
        let url = self.api_url.trim();
        let parsed = url::Url::parse(url);
        let ok = matches!(&parsed, Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok || url.ends_with('/') {
            bad(
                "api_url",
                format!("{url:?} is not a base URL such as {TELEGRAM_API_URL} (no trailing slash)"),
            );
        }
        for (key, v, lo, hi) in [
            ("poll_timeout_secs", self.poll_timeout_secs, 1, 50),
            ("request_timeout_secs", self.request_timeout_secs, 1, 120),
            ("edit_interval_ms", self.edit_interval_ms, 100, 60_000),
            (
                "group_edit_interval_ms",
                self.group_edit_interval_ms,
                100,
                60_000,
            ),
            ("max_retry_after_secs", self.max_retry_after_secs, 1, 3600),
        ] {
            if !(lo..=hi).contains(&v) {
                bad(key, format!("{v} is out of range; accepted: {lo} to {hi}"));
            }
        }
        out
    }
}
