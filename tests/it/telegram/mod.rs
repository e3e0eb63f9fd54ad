//! The Telegram adapter against the telegram-test-api emulator: the chat conformance suite in a
//! group, with the bot as the real binary (`labkube run`) and people through the emulator's
//! user side, plus what is Telegram's own (Cancel button, flood control, `/cmd@botname`, the
//! command menu, per-chat edit pacing, other bots).

mod files;
mod intake;
mod kubeconfig;
mod own;
mod presses;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use labkube_testkit::conformance::tg_user::TgUser;
use labkube_testkit::conformance::{self, Platform, TestUser};
use labkube_testkit::support::{Daemon, LogOnPanic};
use labkube_testkit::tgapi::{TOKEN, TgApi};

/// The operator (an admin) and a stranger, by Telegram user id.
pub const OP: i64 = 1001;
pub const STRANGER: i64 = 2002;
/// The lab's group.
pub const GROUP: i64 = -1001234;
/// Edit pacing for the conformance scenarios (see [`TelegramPlatform::new`]).
pub const SUITE_PACE_MS: u64 = 250;
const TOKEN_ENV: &str = "LABKUBE_TEST_TELEGRAM_TOKEN";

/// The emulator, the bot, and people in the lab's group and the operator's private chat.
pub struct TelegramPlatform {
    pub api: TgApi,
    pub dir: tempfile::TempDir,
    bot: Option<Daemon>,
    /// The operator in the group.
    pub op: Arc<TgUser>,
    /// The stranger in the group.
    pub stranger: Arc<TgUser>,
    /// The operator in their private chat with the bot.
    pub op_private: Arc<TgUser>,
}

impl TelegramPlatform {
    /// Everything up to the bot's first start; edits `pace_ms` apart in every chat.
    pub fn prepare(pace_ms: u64) -> TelegramPlatform {
        Self::prepare_with(pace_ms, "")
    }

    /// As [`TelegramPlatform::prepare`], with `extra` TOML at the end of the config.
    pub fn prepare_with(pace_ms: u64, extra: &str) -> TelegramPlatform {
        let api = TgApi::start();
        let url = api.url();
        let group = json!({ "id": GROUP, "type": "supergroup", "title": "lab" });
        let private = json!({ "id": OP, "type": "private", "first_name": "Olga" });
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &url, pace_ms, extra);
        TelegramPlatform {
            op: Arc::new(TgUser::new(&url, OP, "Olga", false, group.clone())),
            stranger: Arc::new(TgUser::new(&url, STRANGER, "Sam", false, group)),
            op_private: Arc::new(TgUser::new(&url, OP, "Olga", false, private)),
            api,
            dir,
            bot: None,
        }
    }

    /// A platform with the bot started and polling. Edits go out at most every `pace_ms` per
    /// chat: Telegram's own limit is 1000 (private chats); the suite's scenarios, written for
    /// every platform, watch steps of a few hundred milliseconds, so they run with less.
    pub async fn new(pace_ms: u64) -> TelegramPlatform {
        Self::new_with(pace_ms, "").await
    }

    /// As [`TelegramPlatform::new`], with `extra` TOML at the end of the config.
    pub async fn new_with(pace_ms: u64, extra: &str) -> TelegramPlatform {
        let mut p = Self::prepare_with(pace_ms, extra);
        p.start_bot().await;
        p.wait_polling().await;
        p
    }

    /// Waits until the bot has asked for updates (it is connected).
    pub async fn wait_polling(&self) {
        let deadline = std::time::Instant::now() + conformance::WAIT;
        loop {
            let n = self
                .api
                .calls()
                .await
                .iter()
                .filter(|c| c["method"] == "getupdates")
                .count();
            if n > 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the bot never polled:\n{}",
                self.bot_log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERMs the bot; it must exit cleanly within 10 s (the long poll hears the shutdown).
    pub fn terminate_bot(&mut self) {
        let status = self
            .bot
            .as_mut()
            .expect("the bot is running")
            .terminate(Duration::from_secs(10));
        self.bot = None;
        assert!(
            status.success(),
            "labkube run exited with {status}:\n{}",
            self.bot_log()
        );
    }

    /// The bot's log so far.
    pub fn bot_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bot.log")).unwrap_or_default()
    }
}

/// `[[clusters]]` TOML declaring `fake` (its kubeconfig written to `dir`) as `lab-1`, owned by
/// the lab's group.
pub fn group_cluster(fake: &labkube_testkit::fakekube::FakeKube, dir: &std::path::Path) -> String {
    let kubeconfig = fake.write_kubeconfig(dir).unwrap();
    format!(
        "[[clusters]]\nname = \"lab-1\"\nkubeconfig = {:?}\n\
         owner = {{ platform = \"telegram\", room = \"{GROUP}\" }}\n",
        kubeconfig.display().to_string()
    )
}

fn write_config(dir: &std::path::Path, url: &str, pace_ms: u64, extra: &str) {
    let text = format!(
        r#"data_dir = "{data}"
[limits]
progress_interval_ms = 250
shutdown_grace_secs = 5
[telegram]
token = {{ env = "{TOKEN_ENV}" }}
api_url = "{url}"
poll_timeout_secs = 5
request_timeout_secs = 5
edit_interval_ms = {pace_ms}
group_edit_interval_ms = {pace_ms}
max_retry_after_secs = 10
[[users]]
platform = "telegram"
id = "{OP}"
role = "admin"
[[rooms]]
platform = "telegram"
id = "{GROUP}"
[[rooms]]
platform = "telegram"
id = "{OP}"
{extra}"#,
        data = dir.join("data").display()
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

#[async_trait]
impl Platform for TelegramPlatform {
    fn prefix(&self) -> &'static str {
        "/"
    }

    fn help_note(&self) -> Option<&'static str> {
        None
    }

    fn operator(&self) -> Arc<dyn TestUser> {
        self.op.clone()
    }

    fn stranger(&self) -> Arc<dyn TestUser> {
        self.stranger.clone()
    }

    async fn start_bot(&mut self) {
        assert!(self.bot.is_none(), "the bot is running");
        self.bot = Some(Daemon::start(self.dir.path(), &[(TOKEN_ENV, TOKEN)]));
    }

    async fn kill_bot(&mut self) {
        if let Some(mut d) = self.bot.take() {
            d.kill();
        }
    }

    async fn restart_server(&mut self) {
        self.api.stop().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.api.start_again();
    }

    async fn stranger_invites_bot(&self) -> bool {
        let chat = json!({ "id": -100777, "type": "group", "title": "not the lab" });
        let url = self.api.url();
        let s = TgUser::new(&url, STRANGER, "Sam", false, chat);
        s.add_bot().await;
        // The bot leaves a chat not in [[rooms]] as soon as it sees it was added.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let left = self.api.calls().await.iter().any(|c| {
                c["method"] == "leavechat" && c["chat"].to_string().trim_matches('"') == "-100777"
            });
            if left {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_a_group() {
    let mut p = TelegramPlatform::new(SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    conformance::help(&p).await;
    conformance::bad_command(&p).await;
    conformance::stranger_ignored(&p).await;
    conformance::job_progress_and_outcome(&p).await;
    conformance::edited_command_not_rerun(&p).await;
    conformance::stranger_invite_declined(&p).await;
    conformance::bot_killed_mid_job(&mut p).await;
    assert!(
        !p.bot_log().contains(TOKEN.split(':').nth(1).unwrap()),
        "the token is in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_server_restarted_mid_job() {
    let mut p = TelegramPlatform::new(SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    conformance::server_restarted_mid_job(&mut p).await;
}
