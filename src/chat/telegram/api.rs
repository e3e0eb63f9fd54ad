//! Calls to the Bot API through teloxide, each under a timeout, with HTTP 429 `retry_after`
//! honoured (up to a limit) and the token scrubbed from every error: reqwest's errors name the
//! URL, and the URL holds the token.

use std::future::Future;
use std::time::Duration;

use teloxide::Bot;
use teloxide::RequestError;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use teloxide::requests::Request;
use teloxide::types::{AllowedUpdate, Me, Update};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Secret, Telegram};

/// Attempts of a request that could not connect (the Bot API server restarting, say).
const CONNECT_ATTEMPTS: u32 = 4;
/// Wait before the n-th new attempt: n times this.
const CONNECT_BACKOFF: Duration = Duration::from_millis(500);

/// Telegram failures.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// The token could not be read.
    #[error("telegram.token: {0}")]
    Token(String),
    /// The configured API URL does not parse.
    #[error("telegram.api_url {url:?} is not a URL: {reason}")]
    ApiUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client for Telegram: {0}")]
    Client(String),
    /// The Bot API answered with an error, or could not be reached (token scrubbed).
    #[error("Telegram {method} failed: {message}")]
    Api {
        /// The Bot API method.
        method: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Telegram refused to deliver to that chat (HTTP 403): the user never opened a private
    /// chat with the bot, blocked it, or is gone.
    #[error("Telegram {method} refused: {message}")]
    Forbidden {
        /// The Bot API method.
        method: &'static str,
        /// Telegram's description.
        message: String,
    },
    /// No answer within the request timeout.
    #[error("Telegram {method} did not answer within {secs} s")]
    Timeout {
        /// The Bot API method.
        method: &'static str,
        /// The timeout.
        secs: u64,
    },
    /// Telegram asked to wait longer than `max_retry_after_secs` allows.
    #[error("Telegram {method}: flood control asks to wait {secs} s, more than allowed; given up")]
    Flood {
        /// The Bot API method.
        method: &'static str,
        /// The wait asked for.
        secs: u64,
    },
    /// The bot is stopping.
    #[error("Telegram {method} abandoned: the bot is stopping")]
    Stopping {
        /// The Bot API method.
        method: &'static str,
    },
    /// A room id that is not a Telegram chat id.
    #[error("{0:?} is not a Telegram chat id")]
    BadChat(String),
    /// A message reference that is not a Telegram message id.
    #[error("{0:?} is not a Telegram message id")]
    BadMessage(String),
    /// The update offset could not be read or kept.
    #[error("the Telegram update offset: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// The Bot API client.
pub struct Api {
    bot: Bot,
    token: Secret,
    request_timeout: Duration,
    poll_timeout: Duration,
    max_retry_after: Duration,
    stop: CancellationToken,
}

impl Api {
    /// A client for the configured bot; nothing is sent yet.
    pub fn new(cfg: &Telegram, stop: CancellationToken) -> Result<Api, TelegramError> {
        let source = cfg
            .token
            .as_ref()
            .ok_or_else(|| TelegramError::Token("no token is configured".into()))?;
        let token = source.resolve().map_err(TelegramError::Token)?;
        let url: url::Url =
            cfg.api_url
                .parse()
                .map_err(|e: url::ParseError| TelegramError::ApiUrl {
                    url: cfg.api_url.clone(),
                    reason: e.to_string(),
                })?;
        let request_timeout = Duration::from_secs(cfg.request_timeout_secs);
        let poll_timeout = Duration::from_secs(cfg.poll_timeout_secs);
        // reqwest's own timeout is the backstop: a long poll plus a request's time.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(poll_timeout + request_timeout)
            .build()
            .map_err(|e| TelegramError::Client(scrub(&e.to_string(), token.expose())))?;
        let bot = Bot::with_client(token.expose(), client).set_api_url(url);
        Ok(Api {
            bot,
            token,
            request_timeout,
            poll_timeout,
            max_retry_after: Duration::from_secs(cfg.max_retry_after_secs),
            stop,
        })
    }

    /// The teloxide bot, for building requests.
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// Runs the request `make` builds, retrying after HTTP 429 for as long as Telegram asks
    /// (within `max_retry_after_secs` in all), each attempt under the request timeout.
    pub async fn call<T, R, F>(&self, method: &'static str, make: F) -> Result<T, TelegramError>
    where
        F: Fn() -> R,
        R: Future<Output = Result<T, RequestError>>,
    {
        self.call_within(method, self.request_timeout, make).await
    }

    async fn call_within<T, R, F>(
        &self,
        method: &'static str,
        limit: Duration,
        make: F,
    ) -> Result<T, TelegramError>
    where
        F: Fn() -> R,
        R: Future<Output = Result<T, RequestError>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            // A request runs to its answer or timeout even while the bot stops (the last
            // messages, "job paused", go out then); only waits for flood control are cut short.
            let answer = tokio::time::timeout(limit, make()).await;
            let error = match answer {
                Err(_) => {
                    return Err(TelegramError::Timeout {
                        method,
                        secs: limit.as_secs(),
                    });
                }
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
            };
            let wait = match &error {
                RequestError::RetryAfter(wait) => wait.duration(),
                // Nothing reached the server, so trying again cannot act twice.
                RequestError::Network(e) if e.is_connect() && attempt < CONNECT_ATTEMPTS => {
                    attempt += 1;
                    CONNECT_BACKOFF * attempt
                }
                RequestError::Api(e) if forbidden(e) => {
                    return Err(TelegramError::Forbidden {
                        method,
                        message: scrub(&error.to_string(), self.token.expose()),
                    });
                }
                _ => {
                    return Err(TelegramError::Api {
                        method,
                        message: scrub(&error.to_string(), self.token.expose()),
                    });
                }
            };
            if started.elapsed() + wait > self.max_retry_after {
                return Err(TelegramError::Flood {
                    method,
                    secs: wait.as_secs(),
                });
            }
            if matches!(error, RequestError::RetryAfter(_)) {
                tracing::info!(
                    method,
                    wait_secs = wait.as_secs_f64(),
                    "Telegram flood control (HTTP 429): waiting as asked"
                );
            }
            tokio::select! {
                _ = self.stop.cancelled() => return Err(TelegramError::Stopping { method }),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The bot's own account.
    pub async fn me(&self) -> Result<Me, TelegramError> {
        self.call("getMe", || self.bot.get_me().send()).await
    }

    /// Long-polls for updates from `offset` (all unconfirmed ones when `None`).
    pub async fn updates(&self, offset: Option<i32>) -> Result<Vec<Update>, TelegramError> {
        let secs = u32::try_from(self.poll_timeout.as_secs()).unwrap_or(50);
        self.call_within(
            "getUpdates",
            self.poll_timeout + self.request_timeout,
            || {
                let mut r = self
                    .bot
                    .get_updates()
                    .timeout(secs)
                    .limit(100)
                    .allowed_updates([
                        AllowedUpdate::Message,
                        AllowedUpdate::CallbackQuery,
                        AllowedUpdate::MyChatMember,
                    ]);
                if let Some(o) = offset {
                    r = r.offset(o);
                }
                r.send()
            },
        )
        .await
    }
}

/// `text` with the token, raw or percent-encoded, replaced by `***`.
pub fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, "***")
        .replace(&token.replace(':', "%3A"), "***")
        .replace(&token.replace(':', "%3a"), "***")
}

/// Whether Telegram refused a chat as closed to the bot (HTTP 403 "Forbidden: ...": "bot
/// can't initiate conversation with a user", "bot was blocked by the user", "user is
/// deactivated"; teloxide names some and keeps the rest as they came).
fn forbidden(e: &teloxide::ApiError) -> bool {
    use teloxide::ApiError as E;
    match e {
        E::BotBlocked | E::CantInitiateConversation | E::UserDeactivated => true,
        E::Unknown(d) => d.starts_with("Forbidden:"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_survives_in_an_error() {
        let t = "123456:ABC-DEF_ghi";
        let e = "error sending request for url (http://127.0.0.1:1/bot123456:ABC-DEF_ghi/GetMe) \
                 or http://x/bot123456%3AABC-DEF_ghi/GetMe";
        let s = scrub(e, t);
        assert!(!s.contains("ABC-DEF_ghi"), "{s}");
        assert!(s.contains("/bot***/GetMe"), "{s}");
    }
}
