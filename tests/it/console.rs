//! A scripted console session against the real binary: help, a bad command, whoami, jobs, a
//! selftest job's progress and outcome, audit, and a clean exit at end of input.

use std::time::Duration;

use labkube_testkit::support::{Bot, fast_config};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn scripted_session() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.expect("labkube console: you are tester (admin)", LIMIT);

    bot.say("/help");
    bot.expect("/cluster create", LIMIT);
    bot.expect("/selftest", LIMIT);

    bot.say("/clustr list");
    bot.expect("did you mean /cluster", LIMIT);

    bot.say("/cluster create 010.0.0.1 127.0.0.2 127.0.0.3");
    bot.expect("010.0.0.1", LIMIT);

    bot.say("hello there");
    bot.expect("commands start with / or !", LIMIT);

    bot.say("!whoami");
    bot.expect("you are tester on console, with the admin role", LIMIT);

    bot.say("/jobs");
    bot.expect("no jobs are queued or running", LIMIT);

    bot.say("/selftest steps=3 ms=400");
    bot.expect("queued job #1: selftest (3 steps)", LIMIT);
    bot.expect("~ job #1 selftest (3 steps): step", LIMIT);
    bot.expect("job #1 selftest (3 steps) succeeded in", LIMIT);

    bot.say("/job 1");
    bot.expect("job #1 selftest (3 steps): succeeded", LIMIT);
    bot.expect("3. selftest step 3: done in", LIMIT);

    // No cluster is known yet: the GE command says how to get one and queues nothing.
    bot.say("/ge install orion ns=demo");
    bot.expect(
        "this room has no current cluster; /cluster use NAME picks one",
        LIMIT,
    );
    // Pure checks come first: an unknown GE is named as such, cluster or no cluster.
    bot.say("/ge install orionn");
    bot.expect(
        "there is no Generic Enabler named orionn in the catalogue. Did you mean orion",
        LIMIT,
    );
    bot.say("/ge catalog");
    bot.expect("  orion 4.1.0 - Orion Context Broker (NGSI-v2)", LIMIT);

    bot.say("/audit 5");
    bot.expect("audit entries, newest first", LIMIT);
    bot.expect("/selftest steps=3 ms=400 -> queued job #1", LIMIT);

    bot.say("/jobs all");
    bot.expect("  #1  succeeded  by tester  ", LIMIT);

    let out = bot.finish(LIMIT);
    assert!(
        !out.iter().any(|l| l.contains('\0')),
        "no raw control characters reach the chat"
    );
    // The live message's last edit (its final state) comes just before the outcome, not
    // after it, and is not lost.
    let outcome = out
        .iter()
        .position(|l| l.contains("job #1 selftest (3 steps) succeeded in"))
        .unwrap();
    assert_eq!(
        out[outcome - 1],
        "~ job #1 selftest (3 steps): succeeded after 3/3 steps",
        "{out:#?}"
    );
    assert!(
        !out[outcome..].iter().any(|l| l.starts_with("~ job #1 ")),
        "{out:#?}"
    );
}

#[test]
fn end_of_input_waits_for_queued_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.say("/selftest steps=2 ms=300");
    bot.expect("queued job #1", LIMIT);
    let out = bot.finish(LIMIT);
    assert!(
        out.iter()
            .any(|l| l.contains("job #1 selftest (2 steps) succeeded")),
        "{out:?}"
    );
    // Offline listing sees it too.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
        .args(["jobs", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("succeeded") && text.contains("selftest (2 steps)"),
        "{text}"
    );
}

#[test]
fn check_config_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[limits]\nconcurrent_jobs = 0\n[[users]]\nplatform = \"matirx\"\nid = \"@a:x\"\nrole = \"admin\"\n")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("limits.concurrent_jobs") && err.contains("users[0].platform"),
        "{err}"
    );
    let good = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
        .arg("check-config")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .output()
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

#[test]
fn logs_are_json_lines_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
        .args(["--log-format", "json", "console", "--data"])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "labkube=info")
        .env("USER", "tester")
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "INFO"
            && l["target"] == "labkube::app"
            && l["message"] == "labkube is running"
            && l["data_dir"].is_string()
            && l["timestamp"].is_string()),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "colour codes in {err}");
}

#[test]
fn run_without_adapters_says_so_and_exits_1() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
        .args([
            "run",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no chat adapter is configured"));
}

#[test]
fn a_second_process_on_a_live_data_dir_gets_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.expect("labkube console", LIMIT);
    for args in [vec!["jobs", "--data"], vec!["console", "--data"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
            .args(&args)
            .arg(&data)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.matches("another labkube may be using this data directory")
                .count(),
            1,
            "{err}"
        );
    }
    bot.finish(LIMIT);
}

#[test]
fn addresses_outside_the_allowed_networks_are_refused_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.say("/cluster plan 127.0.0.2 10.0.0.2 192.168.1.3");
    bot.expect(
        "10.0.0.2, 192.168.1.3 are outside the networks this bot may provision (127.0.0.0/8)",
        LIMIT,
    );
    bot.say("/jobs");
    bot.expect("no jobs are queued or running", LIMIT);
    bot.finish(LIMIT);
}

#[test]
fn a_cluster_job_without_an_ssh_key_fails_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[ssh]\nallowed_networks = [\"127.0.0.0/8\"]\n").unwrap();
    // The bot's HOME is the temp dir, so the default key ~/.ssh/id_ed25519 does not exist.
    let mut bot = Bot::console(&config, &dir.path().join("data"));
    bot.say("/cluster plan 127.0.0.201 127.0.0.202 127.0.0.203");
    bot.expect("failed after 0/5 steps: cannot load the SSH key", LIMIT);
    bot.expect("[ssh] key_path in the config names the key", LIMIT);
    bot.finish(LIMIT);
}
