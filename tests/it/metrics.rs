//! `[metrics]` on the real binary: `/healthz`, `/readyz` and `/metrics` of a console bot on
//! sled, the numbers after a job, and a refusal to start when the address is taken.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use labkube_testkit::http;
use labkube_testkit::sshd::free_port;
use labkube_testkit::support::{Bot, fast_config, labkube_bin};

const LIMIT: Duration = Duration::from_secs(30);

/// `fast_config` with `[metrics] listen = addr`.
fn config_listening(dir: &Path, addr: SocketAddr) -> std::path::PathBuf {
    let path = fast_config(dir);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("[metrics]\nlisten = \"{addr}\"\n"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The value of the sample `name` (the whole series, labels included) in `text`.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Asks `path` until `ok` holds for the answer, at most `limit`; the last answer.
pub fn poll(
    addr: SocketAddr,
    path: &str,
    limit: Duration,
    ok: impl Fn(u16, &str) -> bool,
) -> (u16, String) {
    let deadline = Instant::now() + limit;
    loop {
        let answer = http::get(addr, path);
        if let Some((status, body)) = &answer
            && ok(*status, body)
        {
            return (*status, body.clone());
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} on {addr}: still {answer:?} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_console_bot_is_alive_ready_and_counts_its_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)));
    let config = config_listening(dir.path(), addr);
    let mut bot = Bot::console(&config, &dir.path().join("data"));
    bot.expect("labkube console: you are tester (admin)", LIMIT);
    assert_eq!(http::get(addr, "/healthz"), Some((200, "ok\n".into())));
    let (_, ready) = poll(addr, "/readyz", LIMIT, |s, _| s == 200);
    assert_eq!(ready, "ready\n");

    bot.say("/selftest steps=3 ms=20");
    bot.expect("job #1 selftest (3 steps) succeeded in", LIMIT);
    bot.say("/selftest steps=1 ms=5000");
    bot.expect("queued job #2", LIMIT);
    let (status, text) = poll(addr, "/metrics", LIMIT, |_, t| {
        sample(t, "labkube_jobs_running") == Some(1.0)
    });
    assert_eq!(status, 200);
    let jobs = "labkube_jobs_finished_total{kind=\"selftest\",outcome=\"succeeded\"}";
    assert_eq!(sample(&text, jobs), Some(1.0), "{text}");
    let steps = "labkube_step_duration_seconds_count{kind=\"selftest\"}";
    assert_eq!(sample(&text, steps), Some(3.0), "{text}");
    // Above 20 ms, the step's own sleep; a step's time counted in seconds.
    let fast = "labkube_step_duration_seconds_bucket{le=\"0.01\",kind=\"selftest\"}";
    assert_eq!(sample(&text, fast), Some(0.0), "{text}");
    let sends = sample(
        &text,
        "labkube_chat_send_seconds_count{platform=\"console\"}",
    );
    assert!(sends.is_some_and(|n| n >= 3.0), "{text}");
    assert_eq!(sample(&text, "labkube_leader"), Some(1.0));
    assert_eq!(sample(&text, "labkube_store_up"), Some(1.0));
    assert_eq!(sample(&text, "labkube_jobs_queued"), Some(0.0));
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    bot.say("/cancel 2");
    bot.expect("job #2", LIMIT);
    bot.finish(LIMIT);
    // Gone with the bot.
    assert_eq!(http::get(addr, "/healthz"), None);
}

#[test]
fn a_taken_address_is_refused_at_start_with_the_address_named() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = taken.local_addr().unwrap();
    let config = config_listening(dir.path(), addr);
    let out = Command::new(labkube_bin())
        .args(["console", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("USER", "tester")
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr} for [metrics]")),
        "{stderr}"
    );
    // Nothing was started: no banner, no job.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("labkube console"));
}
