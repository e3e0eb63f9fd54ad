//! Telegram benchmark: `cargo bench --bench telegram`.
//!
//! The real binary (`labkube run`, release build) against the telegram-test-api emulator
//! behind tests/peers/telegram-compat.js, on loopback, in one lab group.
//!
//! 1. Acknowledgement time: 200 `/selftest steps=1 ms=1` commands, one every 50 ms, while 20
//!    long selftest jobs run and edit their live messages. Measured in the emulator: from the
//!    moment its `getUpdates` answer carrying the command is written to the moment the bot's
//!    `sendMessage` with the "queued job" reply to it arrives: the bot's own time (teloxide's
//!    parsing, dispatch, the durable enqueue, rendering and the send) plus two loopback hops.
//!    The peer is the same on the idle bot (no jobs running) in the same run.
//! 2. Resident memory of the bot with the Telegram adapter connected: idle after start-up,
//!    and after the loaded run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use labkube_testkit::memory::Resident;
use labkube_testkit::report::{ms, table};
use labkube_testkit::support::UNLIMITED_INTAKE;
use labkube_testkit::tgapi::{TOKEN, TgApi};
use labkube_testkit::tguser::{ADMIN, GROUP, User};
use serde_json::json;

const COMMANDS: usize = 200;
const RUNNING: usize = 20;

fn main() {
    println!("command: cargo bench --bench telegram\n");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

fn config(dir: &std::path::Path, url: &str) {
    let text = format!(
        r#"data_dir = "{data}"
[limits]
concurrent_jobs = 64
progress_interval_ms = 250
{UNLIMITED_INTAKE}
[telegram]
token = {{ env = "LABKUBE_BENCH_TELEGRAM_TOKEN" }}
api_url = "{url}"
[[users]]
platform = "telegram"
id = "{ADMIN}"
role = "admin"
[[rooms]]
platform = "telegram"
id = "{GROUP}"
"#,
        data = dir.join("data").display()
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

/// The release binary next to this bench's target directory, built if needed.
fn binary() -> std::path::PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "labkube"])
        .status()
        .unwrap();
    assert!(status.success());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    target.join("release/labkube")
}

fn rss_mb(child: &Child) -> f64 {
    Resident::of(child.id()).total_mb()
}

/// Sends `n` quick selftests 50 ms apart; returns each one's ack time in µs.
async fn acks(api: &TgApi, user: &User, n: usize) -> Histogram<u64> {
    let mut sent = Vec::new();
    for _ in 0..n {
        sent.push(user.say("/selftest steps=1 ms=1").await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let calls = api.calls().await;
        let mut delivered: HashMap<i64, f64> = HashMap::new();
        let mut acked: HashMap<i64, f64> = HashMap::new();
        for c in &calls {
            if c["method"] == "getupdates" {
                for u in c["delivered"].as_array().into_iter().flatten() {
                    delivered
                        .entry(u.as_i64().unwrap())
                        .or_insert(c["done"].as_f64().unwrap());
                }
            }
            let ack = c["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("queued job #"));
            if c["method"] == "sendmessage" && c["status"] == 200 && ack {
                acked.insert(c["reply_to"].as_i64().unwrap(), c["t"].as_f64().unwrap());
            }
        }
        if sent.iter().all(|(m, _)| acked.contains_key(m)) {
            let mut h = Histogram::<u64>::new(3).unwrap();
            for (m, u) in &sent {
                let us = (acked[m] - delivered[u]) * 1000.0;
                h.record(us.max(0.0) as u64).unwrap();
            }
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "not every command was acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn run() {
    let bin = binary();
    let api = TgApi::start();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &api.url());
    let log = std::fs::File::create(dir.path().join("bot.log")).unwrap();
    let mut bot = Command::new(bin)
        .args(["run", "--config"])
        .arg(dir.path().join("config.toml"))
        .env("LABKUBE_BENCH_TELEGRAM_TOKEN", TOKEN)
        .env("HOME", dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let user = User { http: api.http() };
    // Connected once it answers; then idle for a moment.
    let (m, _) = user.say("/whoami").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !api.calls().await.iter().any(|c| c["reply_to"] == json!(m)) {
        assert!(Instant::now() < deadline, "the bot never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // What is measured is the bot 3 s after connecting with nothing to do: a fixed interval.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss = rss_mb(&bot);

    let idle = acks(&api, &user, COMMANDS).await;
    for _ in 0..RUNNING {
        user.say("/selftest steps=600 ms=100").await;
    }
    // A settle period: the 20 jobs are running and editing before the loaded run starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = acks(&api, &user, COMMANDS).await;
    let loaded_rss = rss_mb(&bot);
    let _ = bot.kill();
    let _ = bot.wait();

    println!("## Telegram: update received to acknowledgement sent ({COMMANDS} commands)\n");
    let loaded_name = format!("labkube: /selftest ack, {RUNNING} jobs running");
    table(&[
        (&loaded_name, &loaded),
        ("peer: the same ack on the idle bot", &idle),
    ]);
    println!(
        "\ntarget p99 <= 50 ms: {}; loaded p99 / idle p99 = {:.2}\n",
        if ms(&loaded, 0.99) <= 50.0 {
            "met"
        } else {
            "MISSED"
        },
        ms(&loaded, 0.99) / ms(&idle, 0.99).max(0.001)
    );
    println!("## Resident memory of `labkube run` with the Telegram adapter connected\n");
    println!("| state | RSS MB |\n|---|---|");
    println!("| idle, 3 s after connecting | {idle_rss:.1} |");
    println!(
        "| after {RUNNING} jobs and {} commands | {loaded_rss:.1} |",
        2 * COMMANDS
    );
    println!(
        "\ntarget idle RSS <= 40 MB: {}",
        if idle_rss <= 40.0 { "met" } else { "MISSED" }
    );
}
