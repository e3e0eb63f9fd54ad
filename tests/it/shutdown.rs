//! SIGTERM: the bot stops taking commands, lets the running step reach its checkpoint, flushes
//! and exits 0; the job resumes from there on the next start.

use std::time::Duration;

use labkube::store::{JobState, JobStore, SledStore};

use labkube_testkit::support::{Bot, fast_config};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn sigterm_finishes_the_step_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.say("/selftest steps=4 ms=600");
    bot.expect("queued job #1", LIMIT);
    bot.expect("step 1/4", LIMIT);
    let pid = bot.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    bot.expect(
        "paused after 1/4 steps because labkube is shutting down",
        LIMIT,
    );
    let status = bot.wait_exit(LIMIT);
    assert!(status.success(), "exit status {status}");

    let store = SledStore::open(&data).unwrap();
    let job = store.get(1).unwrap().unwrap();
    assert!(
        matches!(job.state, JobState::Running { .. }),
        "left resumable: {:?}",
        job.state
    );
    assert!(
        !job.steps.is_empty(),
        "the step in progress reached its checkpoint"
    );
    let done = job.steps.len();
    drop(store);

    let mut bot = Bot::console(&config, &data);
    bot.expect(
        &format!("resumed after a restart at step {}/4", done + 1),
        LIMIT,
    );
    bot.expect("job #1 selftest (4 steps) succeeded", LIMIT);
    bot.finish(LIMIT);
    let log = std::fs::read_to_string(data.join("selftest.log")).unwrap();
    assert_eq!(log.lines().count(), 4, "{log}");
}
