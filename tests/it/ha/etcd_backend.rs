//! The real binary with its store on etcd: jobs, their logs and the audit trail live in etcd,
//! not in the data directory, so a second bot on another data directory sees them; the
//! cluster losing its quorum is a clear refusal that changes nothing; a bad sealing key is
//! named by `check-config` without being echoed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use labkube_testkit::etcd::{EtcdCluster, TEST_KEY};
use labkube_testkit::etcd_console::{Extra, console_config};
use labkube_testkit::support::Bot;

const LIMIT: Duration = Duration::from_secs(30);

/// A console config on `cluster`'s etcd, with the sealing key given inline (a test secret).
pub fn etcd_config(dir: &Path, cluster: &EtcdCluster, key: &str) -> PathBuf {
    console_config(dir, cluster, key, "config.toml", Extra::default())
}

#[test]
fn jobs_live_in_etcd_and_a_second_bot_sees_them() {
    let etcd = EtcdCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let config = etcd_config(dir.path(), &etcd, TEST_KEY);

    let mut first = Bot::console(&config, &dir.path().join("data-a"));
    first.expect("labkube console: you are tester (admin)", LIMIT);
    first.say("/selftest steps=2 ms=100");
    first.expect("queued job #1: selftest (2 steps)", LIMIT);
    first.expect("job #1 selftest (2 steps) succeeded in", LIMIT);
    first.finish(LIMIT);
    assert!(
        !dir.path().join("data-a").join("db").exists(),
        "no sled store is made when the store is etcd"
    );

    // Another machine, another data directory, the same etcd.
    let mut second = Bot::console(&config, &dir.path().join("data-b"));
    second.expect("labkube console: you are tester (admin)", LIMIT);
    second.say("/job 1");
    second.expect("job #1 selftest (2 steps): succeeded", LIMIT);
    second.expect("2. selftest step 2: done in", LIMIT);
    second.say("/selftest steps=1 ms=50");
    second.expect("queued job #2: selftest (1 steps)", LIMIT);
    second.expect("job #2 selftest (1 steps) succeeded in", LIMIT);
    second.say("/audit");
    second.expect("/selftest steps=2 ms=100", LIMIT);
    second.finish(LIMIT);
}

#[test]
fn without_a_quorum_a_command_is_refused_with_the_reason_and_nothing_is_queued() {
    let mut etcd = EtcdCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let config = etcd_config(dir.path(), &etcd, TEST_KEY);
    let mut bot = Bot::console(&config, &dir.path().join("data"));
    bot.expect("labkube console: you are tester (admin)", LIMIT);
    etcd.stop_all();
    bot.say("/selftest steps=1 ms=50");
    let refusal = bot.expect("does not answer", LIMIT);
    assert!(
        refusal.contains("job store (etcd)") && refusal.contains("nothing was changed"),
        "{refusal}"
    );
    assert!(
        !refusal.contains("127.0.0.1"),
        "store addresses stay in the log: {refusal}"
    );
    etcd.start_all();
    // Back with a quorum (every member healthy). For a second after a failure the bot answers
    // from what it last saw, so a command may be refused once more; then it is taken, and the
    // refused ones left nothing behind: it is job #1.
    let mut answer = String::new();
    for _ in 0..20 {
        bot.say("/selftest steps=1 ms=50");
        answer = next_answer(&mut bot);
        if answer.contains("queued job #") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(answer.starts_with("queued job #1: selftest"), "{answer}");
    bot.expect("job #1 selftest (1 steps) succeeded in", LIMIT);
    bot.finish(LIMIT);
}

#[test]
fn check_config_reads_the_sealing_key_and_names_a_bad_one() {
    let etcd = EtcdCluster::start(1);
    let dir = tempfile::tempdir().unwrap();
    let check = |config: &Path| {
        std::process::Command::new(labkube_testkit::support::labkube_bin())
            .arg("check-config")
            .arg(config)
            .output()
            .unwrap()
    };
    let good = check(&etcd_config(dir.path(), &etcd, TEST_KEY));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let bad = check(&etcd_config(dir.path(), &etcd, "not-a-key"));
    let text = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        text.contains("store.secret_key") && text.contains("64 hexadecimal digits"),
        "{text}"
    );
    assert!(!text.contains("not-a-key"), "the key is echoed: {text}");
}

/// The bot's next line that queues a job or refuses for want of the store.
fn next_answer(bot: &mut Bot) -> String {
    let until = std::time::Instant::now() + LIMIT;
    while let Some(line) = bot.next_line(until) {
        if line.contains("queued job #") || line.contains("does not answer") {
            return line;
        }
    }
    panic!("no answer within {LIMIT:?}: {:?}", bot.seen);
}
