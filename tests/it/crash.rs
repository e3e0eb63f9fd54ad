//! Crash safety: the bot is SIGKILLed in the middle of selftest steps, several times; after
//! each restart the jobs resume from their checkpoints, the room is told, and in the end every
//! step has happened exactly once (none twice, none lost).

use std::time::Duration;

use labkube::store::{JobState, JobStore, SledStore};

use labkube_testkit::support::{Bot, fast_config};

const LIMIT: Duration = Duration::from_secs(60);
const STEP_MS: u64 = 300;
const STEPS: usize = 8;

#[test]
fn sigkill_mid_step_then_resume_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");

    let mut bot = Bot::console(&config, &data);
    bot.say(&format!("/selftest steps={STEPS} ms={STEP_MS}"));
    bot.say(&format!("/selftest steps={STEPS} ms={STEP_MS}"));
    bot.expect("queued job #1", LIMIT);
    bot.expect("queued job #2", LIMIT);
    // Kill at points that fall inside steps (not on the 300 ms boundaries).
    std::thread::sleep(Duration::from_millis(450));
    bot.kill();

    let mut restarts = 0;
    for pause in [520u64, 710, 160] {
        let mut bot = Bot::console(&config, &data);
        bot.expect(
            "job #1 selftest (8 steps) resumed after a restart at step",
            LIMIT,
        );
        bot.expect(
            "job #2 selftest (8 steps) resumed after a restart at step",
            LIMIT,
        );
        restarts += 1;
        std::thread::sleep(Duration::from_millis(pause));
        bot.kill();
    }

    let mut bot = Bot::console(&config, &data);
    bot.expect("resumed after a restart", LIMIT);
    bot.expect("job #1 selftest (8 steps) succeeded", LIMIT);
    bot.expect("job #2 selftest (8 steps) succeeded", LIMIT);
    bot.finish(LIMIT);

    let log = std::fs::read_to_string(data.join("selftest.log")).unwrap();
    for job in [1, 2] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with(&format!("job={job} ")))
            .collect();
        let want: Vec<String> = (1..=STEPS).map(|s| format!("job={job} step={s}")).collect();
        assert_eq!(lines, want, "job {job}: every step exactly once, in order");
    }
    let store = SledStore::open(&data).unwrap();
    for id in [1, 2] {
        let job = store.get(id).unwrap().unwrap();
        assert_eq!(job.state, JobState::Succeeded);
        let idx: Vec<usize> = job.steps.iter().map(|s| s.index).collect();
        assert_eq!(idx, (0..STEPS).collect::<Vec<_>>(), "each checkpoint once");
        assert_eq!(job.resumes, restarts + 1, "resumed after every kill");
    }
    assert!(store.active().unwrap().is_empty());
}

#[test]
fn job_numbers_stay_dense_and_new_commands_are_not_taken_for_redeliveries_after_a_restart() {
    // Console event ids carry the session start, so a restarted console's first message is not
    // mistaken for the previous session's first message (which dedupe would swallow).
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.say("/selftest steps=1 ms=0");
    bot.expect("job #1 selftest (1 steps) succeeded", LIMIT);
    bot.kill();
    let mut bot = Bot::console(&config, &data);
    bot.say("/selftest steps=1 ms=0");
    bot.expect("queued job #2", LIMIT);
    bot.expect("job #2 selftest (1 steps) succeeded", LIMIT);
    bot.finish(LIMIT);
}
