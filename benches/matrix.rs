#![allow(clippy::unwrap_used, clippy::expect_used)]
#![recursion_limit = "256"]
//! The Matrix adapter against a real Synapse (the test harness's): the release binary
//! (`labkube run`), a matrix-sdk client as the operator.
//!
//! 1. Idle RSS of the bot, connected and in its room, after a minute with nothing to do; then
//!    of the same bot restarted with both the Matrix and the Telegram adapter (the emulator of
//!    the Telegram tests), and of `labkube console` (no network adapter) idle beside it.
//! 2. Time from the bot reading a command off a sync to its acknowledgement being sent, split
//!    into the bot's own time and the homeserver's time to take the send: 50 `/selftest`
//!    commands on the idle bot (the peer), then 200 with 20 jobs running (the target: p99 of
//!    the bot's own time <= 50 ms). The figures come from the bot's `labkube::latency` log
//!    lines; the commands are sent one after another, each after the previous acknowledgement.
//!
//! Run: `cargo bench --bench matrix` (needs python3 and Node.js; installs Synapse into the
//! cached venv, and the Telegram emulator, like the tests). `LABKUBE_BENCH_BIN=path` measures
//! another build of the bot (another profile, say) instead of the bench profile's.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labkube_testkit::conformance::matrix_user;
use labkube_testkit::conformance::{TestUser, wait_for};
use labkube_testkit::memory::Resident;
use labkube_testkit::stats::{max, percentile};
use labkube_testkit::support::UNLIMITED_INTAKE;
use labkube_testkit::{synapse, tgapi, tguser};
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::member::MembershipState;

const IDLE: Duration = Duration::from_secs(60);
const PEER_COMMANDS: usize = 50;
const COMMANDS: usize = 200;
const RUNNING: usize = 20;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let synapse = tokio::task::spawn_blocking(synapse::Synapse::start)
        .await
        .unwrap();
    let bot = synapse.register("labkube", "bot-password", false).await;
    let op_id = synapse.register("op", "op-password", false).await;
    let url = synapse.url();
    let op = matrix_user::login(&url, "op", "op-password").await;
    let mut req = CreateRoom::new();
    req.preset = Some(RoomPreset::PrivateChat);
    req.invite = vec![bot.as_str().try_into().unwrap()];
    let room = op.create_room(req).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &url,
        op_id.as_str(),
        room.room_id().as_str(),
        None,
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let log_path = dir.path().join("bot.log");
    let mut child = start_bot(dir.path(), &log_path);
    let me = matrix_user::MatrixUser::watch(op.clone(), room.room_id(), &bot);
    let bot_id: matrix_sdk::ruma::OwnedUserId = bot.as_str().try_into().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(m)) = room.get_member_no_sync(&bot_id).await
            && *m.membership() == MembershipState::Join
        {
            break;
        }
        assert!(Instant::now() < deadline, "the bot did not join");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One round trip, so the bot has synced past its join, then a minute of nothing.
    ack(&*me, "!whoami").await;
    eprintln!("connected; idle for {} s", IDLE.as_secs());
    tokio::time::sleep(IDLE).await;
    let rss = Resident::of(child.id());

    let mut peer_rtt = Vec::new();
    for _ in 0..PEER_COMMANDS {
        peer_rtt.push(ack(&*me, "!selftest steps=1 ms=1").await);
    }
    for _ in 0..RUNNING {
        ack(&*me, "!selftest steps=3000 ms=100").await;
    }
    // A settle period, not a wait for a condition: the load measured is 20 jobs that have each
    // already edited their live message (the edit interval is 2 s), not 20 that are starting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let running_at = Instant::now();
    let mut loaded_rtt = Vec::new();
    for _ in 0..COMMANDS {
        loaded_rtt.push(ack(&*me, "!selftest steps=1 ms=1").await);
    }
    let loaded_secs = running_at.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    let (both, console) = both_adapters(dir.path(), &url, op_id.as_str(), &room, &*me).await;

    let samples = latencies(&std::fs::read_to_string(&log_path).unwrap());
    // Samples in order: whoami, the peer's commands, the 20 long jobs, then the loaded ones.
    let peer = &samples[1..1 + PEER_COMMANDS];
    let loaded = &samples[1 + PEER_COMMANDS + RUNNING..];
    assert_eq!(loaded.len(), COMMANDS, "log lines: {}", samples.len());
    println!("### Acknowledgement of a command on Matrix (Synapse 1.163.2, loopback)\n");
    println!("| measured | n | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    row("bot's own time, idle bot (peer)", peer.iter().map(|s| s.0));
    row(
        "bot's own time, 20 jobs running",
        loaded.iter().map(|s| s.0),
    );
    row(
        "Synapse taking the send, 20 jobs running",
        loaded.iter().map(|s| s.1),
    );
    row("both, 20 jobs running", loaded.iter().map(|s| s.0 + s.1));
    row("person's round trip, idle bot", peer_rtt.into_iter());
    row(
        "person's round trip, 20 jobs running",
        loaded_rtt.into_iter(),
    );
    let own_p99 = percentile(&loaded.iter().map(|s| s.0).collect::<Vec<_>>(), 0.99);
    let verdict = if own_p99 <= 50.0 { "met" } else { "MISSED" };
    println!("\ntarget p99 of the bot's own time <= 50 ms: {verdict} ({own_p99:.2} ms)");
    println!(
        "{COMMANDS} commands in {loaded_secs:.1} s, one after another, each after the previous acknowledgement\n"
    );
    println!("### Idle RSS\n");
    let bin = bot_binary();
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    println!("binary: {} ({:.1} MB)\n", bin.display(), size as f64 / 1e6);
    println!(
        "| process (release binary, {} s idle) | VmRSS | RssAnon | RssFile |",
        IDLE.as_secs()
    );
    println!("|---|---|---|---|");
    println!("{}", rss.row("`labkube run`, Matrix connected"));
    println!(
        "{}",
        both.row("`labkube run`, Matrix and Telegram connected")
    );
    println!(
        "{}",
        console.row("`labkube console`, no network adapter (peer)")
    );
    let verdict = if rss.total_mb() <= 40.0 {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "\ntarget <= 40 MB with Matrix connected: {verdict} ({:.1} MB; {:.2}x the console peer)",
        rss.total_mb(),
        rss.total_mb() / console.total_mb()
    );
}

/// The bot's config: Matrix, and Telegram too when the emulator's URL is given.
fn config(dir: &std::path::Path, url: &str, op: &str, room: &str, tg: Option<&str>) -> String {
    let mut text = format!(
        r#"data_dir = "{data}"
[limits]
concurrent_jobs = {RUNNING}
{UNLIMITED_INTAKE}
[matrix]
homeserver = "{url}"
user = "@labkube:localhost"
password = {{ env = "LABKUBE_BENCH_MATRIX_PASSWORD" }}
[[users]]
platform = "matrix"
id = "{op}"
role = "admin"
[[rooms]]
platform = "matrix"
id = "{room}"
"#,
        data = dir.join("data").display(),
    );
    if let Some(api) = tg {
        text.push_str(&format!(
            r#"[telegram]
token = {{ env = "LABKUBE_BENCH_TELEGRAM_TOKEN" }}
api_url = "{api}"
[[users]]
platform = "telegram"
id = "{admin}"
role = "admin"
[[rooms]]
platform = "telegram"
id = "{group}"
"#,
            admin = tguser::ADMIN,
            group = tguser::GROUP
        ));
    }
    text
}

/// The bot's binary: `LABKUBE_BENCH_BIN`, or the one cargo built for this bench.
fn bot_binary() -> std::path::PathBuf {
    std::env::var_os("LABKUBE_BENCH_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_labkube").into())
}

/// `labkube run` on the config in `dir`, logging to `log_path`.
fn start_bot(dir: &std::path::Path, log_path: &std::path::Path) -> Child {
    let log = std::fs::File::create(log_path).unwrap();
    Command::new(bot_binary())
        .args(["run", "--config"])
        .arg(dir.join("config.toml"))
        .env("LABKUBE_BENCH_MATRIX_PASSWORD", "bot-password")
        .env("LABKUBE_BENCH_TELEGRAM_TOKEN", tgapi::TOKEN)
        .env("HOME", dir)
        .env("RUST_LOG", "warn,labkube::latency=debug")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Restarts the bot (same data, so the same Matrix device) with the Telegram adapter as well,
/// checks that both answer, and idles it for `IDLE` beside an idle `labkube console`.
/// Returns the resident memory of both.
async fn both_adapters(
    dir: &std::path::Path,
    url: &str,
    op: &str,
    room: &matrix_sdk::Room,
    me: &dyn TestUser,
) -> (Resident, Resident) {
    let api = tgapi::TgApi::start();
    let text = config(dir, url, op, room.room_id().as_str(), Some(&api.url()));
    std::fs::write(dir.join("config.toml"), text).unwrap();
    let mut bot = start_bot(dir, &dir.join("both.log"));
    ack(me, "!whoami").await;
    let tg = tguser::User { http: api.http() };
    let (m, _) = tg.say("/whoami").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !api
        .calls()
        .await
        .iter()
        .any(|c| c["reply_to"] == serde_json::json!(m))
    {
        assert!(
            Instant::now() < deadline,
            "the bot never answered on Telegram"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let console_dir = tempfile::tempdir().unwrap();
    let mut console = Command::new(bot_binary())
        .arg("console")
        .current_dir(console_dir.path())
        .env("HOME", console_dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eprintln!("both adapters connected; idle for {} s", IDLE.as_secs());
    tokio::time::sleep(IDLE).await;
    let both = Resident::of(bot.id());
    let peer = Resident::of(console.id());
    for child in [&mut bot, &mut console] {
        let _ = child.kill();
        let _ = child.wait();
    }
    (both, peer)
}

/// Sends `text` and waits for the bot's first reply to it; returns the person's round trip,
/// ms (from sending to seeing the reply in their own sync, polled every 100 ms).
async fn ack(me: &dyn TestUser, text: &str) -> f64 {
    let t = Instant::now();
    let id = me.send(text).await;
    wait_for(me, "acknowledging", |m| m.reply_to.as_deref() == Some(&id)).await;
    t.elapsed().as_secs_f64() * 1000.0
}

/// (bot ms, homeserver ms) of each first reply, in log order.
fn latencies(log: &str) -> Vec<(f64, f64)> {
    let field = |line: &str, key: &str| -> f64 {
        let rest = line.split(&format!("{key}=")).nth(1).unwrap_or("0");
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<f64>().unwrap_or(0.0) / 1000.0
    };
    let plain = strip_ansi(log);
    plain
        .lines()
        .filter(|l| l.contains("first reply sent"))
        .map(|l| (field(l, "bot_us"), field(l, "homeserver_us")))
        .collect()
}

/// The log without terminal colour codes (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn row(name: &str, v: impl Iterator<Item = f64>) {
    let v: Vec<f64> = v.collect();
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} |",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        max(&v)
    );
}
