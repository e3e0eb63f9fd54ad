//! The Matrix adapter against a real Synapse: the chat conformance suite with the bot as the
//! real binary (`labkube run`), people as matrix-sdk clients, in a plain and an encrypted
//! room, plus what is Matrix's own (history on the first start, commands sent while the bot
//! was down).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use matrix_sdk::Client;
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::{OwnedUserId, RoomId};

use labkube_testkit::conformance::matrix_user::{MatrixUser, login};
use labkube_testkit::conformance::{self, Platform, TestUser, WAIT};
use labkube_testkit::support::{Daemon, LogOnPanic};
use labkube_testkit::synapse::Synapse;

mod alerts;
mod files;
mod intake;
mod kubeconfig;
mod notify;

const BOT_PASSWORD: &str = "bot-password";
/// The bot's log filter: matrix-sdk's own info lines would drown the bot's.
const BOT_LOG: &str = "info,matrix_sdk=warn,matrix_sdk_crypto=warn,matrix_sdk_base=warn";

/// Synapse, the bot, an operator (admin) and a stranger in one room.
pub struct MatrixPlatform {
    pub synapse: Synapse,
    pub dir: tempfile::TempDir,
    bot: Option<Daemon>,
    pub bot_id: OwnedUserId,
    pub op: Arc<MatrixUser>,
    stranger: Arc<MatrixUser>,
}

impl MatrixPlatform {
    /// Everything up to the bot's first start, which is left to the caller.
    pub async fn prepare(encrypted: bool) -> MatrixPlatform {
        let synapse = tokio::task::spawn_blocking(Synapse::start).await.unwrap();
        let bot = synapse.register("labkube", BOT_PASSWORD, false).await;
        let op_id = synapse.register("op", "op-password", false).await;
        let stranger_id = synapse
            .register("stranger", "stranger-password", false)
            .await;
        let url = synapse.url();
        let op = login(&url, "op", "op-password").await;
        let mut req = CreateRoom::new();
        req.preset = Some(RoomPreset::PrivateChat);
        req.invite = vec![
            bot.as_str().try_into().unwrap(),
            stranger_id.as_str().try_into().unwrap(),
        ];
        let room = op.create_room(req).await.unwrap();
        if encrypted {
            room.enable_encryption().await.unwrap();
        }
        let room_id = room.room_id().to_owned();
        let stranger = login(&url, "stranger", "stranger-password").await;
        stranger.join_room_by_id(&room_id).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &url, &op_id, &room_id);
        MatrixPlatform {
            op: MatrixUser::watch(op, &room_id, &bot),
            stranger: MatrixUser::watch(stranger, &room_id, &bot),
            bot_id: bot.as_str().try_into().unwrap(),
            synapse,
            dir,
            bot: None,
        }
    }

    /// A platform with the bot started and in the room.
    pub async fn new(encrypted: bool) -> MatrixPlatform {
        let mut p = Self::prepare(encrypted).await;
        p.start_bot().await;
        p.wait_bot_joined().await;
        p
    }

    /// Declares the fake API server's cluster as `lab-1`, owned by the test room, with `extra`
    /// TOML sections put before `[matrix]` (before the bot's start).
    pub fn add_cluster(&self, fake: &labkube_testkit::fakekube::FakeKube, extra: &str) {
        let kubeconfig = fake.write_kubeconfig(self.dir.path()).unwrap();
        let config = self.dir.path().join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "[[clusters]]\nname = \"lab-1\"\nkubeconfig = {:?}\n\
             owner = {{ platform = \"matrix\", room = \"{}\" }}\n",
            kubeconfig.display().to_string(),
            self.op.room
        ));
        text = text.replacen("[matrix]", &format!("{extra}[matrix]"), 1);
        std::fs::write(&config, text).unwrap();
    }

    /// Waits until the operator's client sees the bot in the room.
    pub async fn wait_bot_joined(&self) {
        let room = self.op.client.get_room(&self.op.room).unwrap();
        membership(
            &room,
            &self.bot_id,
            |m| *m == MembershipState::Join,
            "join the room",
        )
        .await;
    }

    /// Starts the bot with `filter` as its `RUST_LOG` (empty: its own default).
    pub fn start_bot_logging(&mut self, filter: &str) {
        assert!(self.bot.is_none(), "the bot is running");
        let env = [
            ("LABKUBE_TEST_MATRIX_PASSWORD", BOT_PASSWORD),
            ("RUST_LOG", filter),
        ];
        self.bot = Some(Daemon::start(self.dir.path(), &env));
    }

    /// The stranger creates a room, invites the bot and waits for its answer.
    pub async fn stranger_invite(&self) -> matrix_sdk::Room {
        let c: &Client = &self.stranger.client;
        let mut req = CreateRoom::new();
        req.invite = vec![self.bot_id.clone()];
        let room = c.create_room(req).await.unwrap();
        membership(
            &room,
            &self.bot_id,
            |m| *m != MembershipState::Invite,
            "answer the invite",
        )
        .await;
        room
    }

    pub fn bot_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bot.log")).unwrap_or_default()
    }
}

/// Waits until `user`'s membership in `room` satisfies `pred`.
async fn membership(
    room: &matrix_sdk::Room,
    user: &OwnedUserId,
    pred: impl Fn(&MembershipState) -> bool,
    what: &str,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(m)) = room.get_member_no_sync(user).await
            && pred(m.membership())
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the bot did not {what} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn write_config(dir: &std::path::Path, url: &str, op: &str, room: &RoomId) {
    let text = format!(
        r#"data_dir = "{data}"
[limits]
progress_interval_ms = 250
shutdown_grace_secs = 5
[matrix]
homeserver = "{url}"
user = "@labkube:localhost"
password = {{ env = "LABKUBE_TEST_MATRIX_PASSWORD" }}
device_name = "labkube test"
request_timeout_secs = 10
retry_max_secs = 2
[[users]]
platform = "matrix"
id = "{op}"
role = "admin"
[[rooms]]
platform = "matrix"
id = "{room}"
"#,
        data = dir.join("data").display()
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

#[async_trait]
impl Platform for MatrixPlatform {
    fn prefix(&self) -> &'static str {
        "!"
    }

    fn help_note(&self) -> Option<&'static str> {
        Some("type commands with !")
    }

    fn operator(&self) -> Arc<dyn TestUser> {
        self.op.clone()
    }

    fn stranger(&self) -> Arc<dyn TestUser> {
        self.stranger.clone()
    }

    async fn start_bot(&mut self) {
        self.start_bot_logging(BOT_LOG);
    }

    async fn kill_bot(&mut self) {
        if let Some(mut d) = self.bot.take() {
            d.kill();
        }
    }

    async fn restart_server(&mut self) {
        let s = &mut self.synapse;
        tokio::task::block_in_place(|| {
            s.stop();
            // The outage itself: the bot's syncs and sends fail for a second, then recover.
            std::thread::sleep(Duration::from_secs(1));
            s.start_again();
        });
    }

    async fn stranger_invites_bot(&self) -> bool {
        let room = self.stranger_invite().await;
        matches!(
            room.get_member_no_sync(&self.bot_id)
                .await
                .unwrap()
                .map(|m| m.membership().clone()),
            Some(MembershipState::Join)
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_a_plain_room() {
    let mut p = MatrixPlatform::new(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    conformance::help(&p).await;
    conformance::bad_command(&p).await;
    conformance::stranger_ignored(&p).await;
    conformance::job_progress_and_outcome(&p).await;
    conformance::edited_command_not_rerun(&p).await;
    conformance::stranger_invite_declined(&p).await;
    conformance::bot_killed_mid_job(&mut p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_an_encrypted_room() {
    let p = MatrixPlatform::new(true).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    conformance::help(&p).await;
    conformance::stranger_ignored(&p).await;
    conformance::job_progress_and_outcome(&p).await;
    conformance::edited_command_not_rerun(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_homeserver_restarted_mid_job() {
    let mut p = MatrixPlatform::new(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    conformance::server_restarted_mid_job(&mut p).await;
}

/// More messages while the bot is down than one sync returns per room.
const CHATTER: usize = 120;

/// History is not run on the first start; commands sent while the bot was down are run once
/// on the next start, even when more than a sync's worth of chatter followed them; the same
/// device comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_skipped_and_downtime_commands_run_once() {
    let mut p = MatrixPlatform::prepare(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let old = p.op.send("!whoami").await;
    p.start_bot().await;
    p.wait_bot_joined().await;
    let op = p.operator();
    let probe = op.send("!whoami").await;
    conformance::wait_for(&*op, "answering whoami", |m| {
        m.reply_to.as_deref() == Some(&probe)
    })
    .await;
    let session = std::fs::read_to_string(p.dir.path().join("data/matrix/session.json")).unwrap();
    // Commands while the bot is away: one, a little chatter, one more, then more chatter than
    // one sync returns (100 events), then a last one. The next start reads the gap back with
    // /messages and runs all three. (Synapse may answer the killed bot's pending sync with the
    // first command alone and hand that cached answer to the restarted bot; the second command
    // is in the gap either way.)
    p.kill_bot().await;
    let missed = op.send("!selftest steps=1 ms=10").await;
    for i in 0..10 {
        op.send(&format!("chatter {i}")).await;
    }
    let middle = op.send("!whoami").await;
    for i in 0..CHATTER {
        op.send(&format!("more chatter {i}")).await;
    }
    let last = op.send("!whoami").await;
    p.start_bot().await;
    conformance::wait_for(&*op, "running the command sent while it was down", |m| {
        m.reply_to.as_deref() == Some(&missed) && m.text.contains("succeeded in")
    })
    .await;
    for (id, what) in [(&middle, "in the gap"), (&last, "after the chatter")] {
        conformance::wait_for(&*op, &format!("answering the command {what}"), |m| {
            m.reply_to.as_deref() == Some(id.as_str())
        })
        .await;
    }
    let msgs = op.bot_messages().await;
    assert!(
        !msgs.iter().any(|m| m.reply_to.as_deref() == Some(&old)),
        "history was run: {msgs:?}"
    );
    let replies = msgs
        .iter()
        .filter(|m| m.reply_to.as_deref() == Some(&missed))
        .count();
    assert_eq!(replies, 2, "acknowledgement and outcome, once: {msgs:?}");
    for id in [&middle, &last] {
        let answers = msgs
            .iter()
            .filter(|m| m.reply_to.as_deref() == Some(id.as_str()));
        assert_eq!(answers.count(), 1, "answered once: {msgs:?}");
    }
    let again = std::fs::read_to_string(p.dir.path().join("data/matrix/session.json")).unwrap();
    assert_eq!(session, again, "a restart logs in as a new device");
    let token: serde_json::Value = serde_json::from_str(&session).unwrap();
    let token = token["access_token"].as_str().unwrap();
    let log = p.bot_log();
    assert!(
        !log.contains(BOT_PASSWORD) && !log.contains(token),
        "a secret in the log"
    );
}
