//! Logging in once and being the same device afterwards. The client's state and crypto store
//! (SQLite) lives in `<data_dir>/matrix/store`; the session (user id, device id, access token)
//! in `<data_dir>/matrix/session.json`, mode 0600. The token is never logged.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::{Client, SessionMeta, SessionTokens};

use super::{MatrixError, files};
use crate::config::Matrix;

const SESSION: &str = "session.json";
const STORE: &str = "store";

/// The client's per-request settings: every request is bounded in time and attempts;
/// `M_LIMIT_EXCEEDED` makes matrix-sdk wait the server's `retry_after_ms` before the next
/// attempt, other transient failures back off exponentially up to `retry_max_secs`.
pub(super) fn request_config(cfg: &Matrix) -> RequestConfig {
    RequestConfig::new()
        .timeout(Duration::from_secs(cfg.request_timeout_secs))
        .retry_limit(cfg.request_attempts)
        .max_retry_time(Duration::from_secs(cfg.retry_max_secs))
}

/// A logged-in client for the account in `cfg`, its store under `dir`.
pub(super) async fn connect(cfg: &Matrix, dir: &Path) -> Result<Client, MatrixError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| MatrixError::Io(dir.display().to_string(), e))?;
    let saved = read_session(dir)?;
    if let Some(s) = &saved
        && !same_user(&cfg.user, s.meta.user_id.as_str())
    {
        return Err(MatrixError::Login(format!(
            "{} holds the session of {}, not of {}; move {} away to log in as the new user",
            dir.display(),
            s.meta.user_id,
            cfg.user,
            dir.display()
        )));
    }
    if saved.is_none() && dir.join(STORE).exists() {
        // A store without its session belongs to a device we can no longer act as.
        let aside = dir.join(format!("{STORE}.orphan-{}", crate::store::now_ms()));
        tracing::warn!(aside = %aside.display(), "moving aside a Matrix store that has no session");
        std::fs::rename(dir.join(STORE), &aside)
            .map_err(|e| MatrixError::Io(aside.display().to_string(), e))?;
    }
    let client = build(cfg, &dir.join(STORE)).await?;
    match saved {
        Some(session) => {
            let device = session.meta.device_id.to_string();
            client
                .restore_session(session)
                .await
                .map_err(|e| MatrixError::Login(format!("cannot restore the session: {e}")))?;
            // A revoked token is found out now; a homeserver that is down is left to the sync
            // loop, which retries.
            if let Err(e) = client.whoami().await
                && matches!(
                    e.client_api_error_kind(),
                    Some(ErrorKind::UnknownToken { .. })
                )
            {
                tracing::warn!("the stored Matrix session was revoked; logging in again");
                login(cfg, &client, dir, Some(&device)).await?;
            }
        }
        None => login(cfg, &client, dir, None).await?,
    }
    Ok(client)
}

async fn build(cfg: &Matrix, store: &Path) -> Result<Client, MatrixError> {
    Client::builder()
        .homeserver_url(cfg.homeserver.trim())
        .sqlite_store(store, None)
        .request_config(request_config(cfg))
        .build()
        .await
        .map_err(|e| MatrixError::Login(format!("cannot set up the Matrix client: {e}")))
}

/// Logs in with the password, or takes the access token's identity, and saves the session.
async fn login(
    cfg: &Matrix,
    client: &Client,
    dir: &Path,
    device: Option<&str>,
) -> Result<(), MatrixError> {
    let session = if let Some(source) = &cfg.password {
        let password = source
            .resolve()
            .map_err(|e| MatrixError::Login(format!("matrix.password: {e}")))?;
        let mut login = client
            .matrix_auth()
            .login_username(cfg.user.trim(), password.expose())
            .initial_device_display_name(&cfg.device_name);
        if let Some(d) = device {
            login = login.device_id(d);
        }
        let r = login
            .send()
            .await
            .map_err(|e| MatrixError::Login(format!("login as {} failed: {e}", cfg.user)))?;
        tracing::info!(user = %r.user_id, device = %r.device_id, "logged in to Matrix");
        client
            .matrix_auth()
            .session()
            .ok_or_else(|| MatrixError::Login("login returned no session".into()))?
    } else if let Some(source) = &cfg.access_token {
        let token = source
            .resolve()
            .map_err(|e| MatrixError::Login(format!("matrix.access_token: {e}")))?;
        let session = token_session(cfg, token.expose()).await?;
        client
            .restore_session(session.clone())
            .await
            .map_err(|e| MatrixError::Login(format!("cannot use the access token: {e}")))?;
        session
    } else {
        return Err(MatrixError::Login(
            "[matrix] needs password or access_token".into(),
        ));
    };
    write_session(dir, &session)
}

/// The user and device an access token belongs to (asked with a throwaway in-memory client).
async fn token_session(cfg: &Matrix, token: &str) -> Result<MatrixSession, MatrixError> {
    let probe = Client::builder()
        .homeserver_url(cfg.homeserver.trim())
        .request_config(request_config(cfg))
        .build()
        .await
        .map_err(|e| MatrixError::Login(format!("cannot set up the Matrix client: {e}")))?;
    let placeholder = MatrixSession {
        meta: SessionMeta {
            user_id: "@labkube:invalid"
                .try_into()
                .map_err(|e| MatrixError::Login(format!("{e}")))?,
            device_id: "LABKUBEPROBE".into(),
        },
        tokens: SessionTokens {
            access_token: token.to_string(),
            refresh_token: None,
        },
    };
    probe
        .restore_session(placeholder)
        .await
        .map_err(|e| MatrixError::Login(format!("cannot use the access token: {e}")))?;
    let me = probe
        .whoami()
        .await
        .map_err(|e| MatrixError::Login(format!("the access token was not accepted: {e}")))?;
    let device_id = me.device_id.ok_or_else(|| {
        MatrixError::Login("the access token has no device (an appservice token?)".into())
    })?;
    if !same_user(&cfg.user, me.user_id.as_str()) {
        return Err(MatrixError::Login(format!(
            "the access token belongs to {}, not to matrix.user {}",
            me.user_id, cfg.user
        )));
    }
    Ok(MatrixSession {
        meta: SessionMeta {
            user_id: me.user_id,
            device_id,
        },
        tokens: SessionTokens {
            access_token: token.to_string(),
            refresh_token: None,
        },
    })
}

/// `configured` (a full id or a localpart) names `actual`.
fn same_user(configured: &str, actual: &str) -> bool {
    let configured = configured.trim();
    if configured.starts_with('@') {
        configured == actual
    } else {
        actual
            .strip_prefix('@')
            .and_then(|a| a.split_once(':'))
            .is_some_and(|(local, _)| local == configured)
    }
}

fn session_path(dir: &Path) -> PathBuf {
    dir.join(SESSION)
}

fn read_session(dir: &Path) -> Result<Option<MatrixSession>, MatrixError> {
    let path = session_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MatrixError::Io(path.display().to_string(), e)),
    };
    // serde's message names the position, never the token.
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| MatrixError::Login(format!("{} is damaged: {e}", path.display())))
}

/// Writes the session (it holds the access token) readable by the bot's user only.
fn write_session(dir: &Path, session: &MatrixSession) -> Result<(), MatrixError> {
    let json = serde_json::to_vec(session)
        .map_err(|e| MatrixError::Login(format!("cannot encode the session: {e}")))?;
    files::replace(dir, SESSION, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_matching() {
        assert!(same_user("@bot:lab", "@bot:lab"));
        assert!(same_user("bot", "@bot:lab"));
        assert!(!same_user("bot", "@bot2:lab"));
        assert!(!same_user("@bot:other", "@bot:lab"));
    }

    #[test]
    fn session_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = MatrixSession {
            meta: SessionMeta {
                user_id: "@bot:lab".try_into().unwrap(),
                device_id: "DEV".into(),
            },
            tokens: SessionTokens {
                access_token: "syt_secret".into(),
                refresh_token: None,
            },
        };
        write_session(dir.path(), &s).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(session_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_session(dir.path()).unwrap(), Some(s));
    }
}
