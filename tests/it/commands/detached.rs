//! `lib/detached.sh`, the wrapper of the steps that must never run twice at once: a finished
//! run is read, not run again (until the bot asks again after reading its failure); a run that
//! died without an exit status is run afresh; another job's run of the same step is waited
//! for; nothing secret lands in the run's directory, which is root-only.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use labkube::provision::runs;
use labkube::provision::scripts::HostScript;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::lab::{Lab, Run};

const RUNS: &str = "/run/labkube/runs";

fn lab() -> Lab {
    Lab::new(&[("cp1", Flavour::Debian)])
}

/// Runs `body` detached as run `name` of kubeadm_init on host 0, with `env`.
fn detached(lab: &Lab, name: &str, body: &str, env: &[(&str, &str)]) -> Run {
    let script = runs::wrap(HostScript::KubeadmInit, body, name).unwrap();
    let mut all = vec![("LABKUBE_RUN_WAIT", "30")];
    all.extend_from_slice(env);
    lab.run_script(0, &script, &all)
}

fn count(lab: &Lab) -> usize {
    lab.read(0, "/count").unwrap_or_default().lines().count()
}

const COUNTED: &str = "echo ran >>\"$LABKUBE_ROOT/count\"\necho out; echo err >&2\nexit 3\n";

#[test]
fn a_finished_run_is_read_until_the_bot_asks_again() {
    let lab = lab();
    let first = detached(&lab, "1-5-kubeadm_init", COUNTED, &[]);
    assert_eq!(first.status, Some(3), "{first}");
    assert_eq!(first.stdout, "out\n");
    assert!(first.stderr.ends_with("err\n"), "{first}");
    // An attempt that lost the outcome (the bot died) reads it from the marker.
    let again = detached(&lab, "1-5-kubeadm_init", COUNTED, &[]);
    assert_eq!((again.status, count(&lab)), (Some(3), 1), "{again}");
    assert!(
        again
            .stderr
            .contains("started on this host by an earlier attempt")
    );
    // The bot read the failure and retries: the step runs again.
    let retry = detached(
        &lab,
        "1-5-kubeadm_init",
        COUNTED,
        &[("LABKUBE_RUN_AGAIN", "yes")],
    );
    assert_eq!((retry.status, count(&lab)), (Some(3), 2), "{retry}");
    // Another job's run of the step is its own.
    detached(&lab, "2-6-kubeadm_init", COUNTED, &[]);
    assert_eq!(count(&lab), 3);
}

#[test]
fn a_run_that_died_without_a_status_runs_afresh() {
    let lab = lab();
    // A marker without rc whose lock nobody holds: its run was killed (or never started).
    lab.write(0, &format!("{RUNS}/1-5-kubeadm_init/out"), "half\n");
    let run = detached(&lab, "1-5-kubeadm_init", COUNTED, &[]);
    assert_eq!((run.status, count(&lab)), (Some(3), 1), "{run}");
    assert_eq!(run.stdout, "out\n");
}

#[test]
fn another_jobs_run_of_the_same_step_is_waited_for() {
    let lab = std::sync::Arc::new(lab());
    let slow =
        "echo a-start >>\"$LABKUBE_ROOT/order\"; sleep 2; echo a-end >>\"$LABKUBE_ROOT/order\"\n";
    let l = lab.clone();
    let first = std::thread::spawn(move || detached(&l, "1-5-kubeadm_init", slow, &[]));
    let start = Instant::now();
    while lab.read(0, "/order").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the first run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = detached(
        &lab,
        "2-6-kubeadm_init",
        "echo b >>\"$LABKUBE_ROOT/order\"\n",
        &[],
    );
    assert!(second.ok(), "{second}");
    assert!(first.join().unwrap().ok());
    assert_eq!(lab.read(0, "/order").unwrap(), "a-start\na-end\nb\n");
}

#[test]
fn a_run_still_going_after_the_wait_is_left_running_for_the_next_attempt() {
    let lab = lab();
    let script = runs::wrap(
        HostScript::KubeadmInit,
        "sleep 3; echo ran >>\"$LABKUBE_ROOT/count\"\n",
        "1-5-kubeadm_init",
    )
    .unwrap();
    let short = lab.run_script(0, &script, &[("LABKUBE_RUN_WAIT", "1")]);
    assert_eq!(short.status, Some(75), "{short}");
    assert!(short.stderr.contains("still running"), "{short}");
    let follow = lab.run_script(0, &script, &[("LABKUBE_RUN_WAIT", "30")]);
    assert!(follow.ok(), "{follow}");
    assert_eq!(count(&lab), 1, "followed, not started again");
}

#[test]
fn the_run_directory_is_root_only_and_holds_no_secret() {
    let lab = lab();
    let secret = "abcdef.0123456789abcdef";
    let run = detached(
        &lab,
        "1-5-kubeadm_join",
        "[ -n \"$JOIN_TOKEN\" ] && echo token-seen\n",
        &[("JOIN_TOKEN", secret)],
    );
    assert_eq!(run.stdout, "token-seen\n", "{run}");
    let runs = lab.path(0, RUNS);
    for dir in [runs.parent().unwrap().to_path_buf(), runs.clone()] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{dir:?}");
    }
    let marker = runs.join("1-5-kubeadm_join");
    for entry in std::fs::read_dir(&marker).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains(secret));
    }
    let bad = runs::wrap(HostScript::KubeadmJoin, "true", "1;reboot").unwrap();
    let refused = lab.run_script(0, &bad, &[("LABKUBE_RUN_WAIT", "5")]);
    assert!(!refused.ok() && refused.stderr.contains("malformed run name"));
}
