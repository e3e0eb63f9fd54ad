//! Two replicas of the real binary on one etcd store: only the leader runs its chat adapter
//! (the standby prints nothing and reads nothing); the leader SIGKILLed in the middle of a job,
//! the standby takes over within the lease, tells the room once that labkube moved to it, and
//! finishes the job from its last checkpoint; a leader that stops cleanly hands over at once.

use std::time::{Duration, Instant};

use labkube_testkit::etcd::{EtcdCluster, TEST_KEY};
use labkube_testkit::support::Bot;

use labkube_testkit::etcd_console::{Extra, console_config};

const LIMIT: Duration = Duration::from_secs(30);
const BANNER: &str = "labkube console: you are tester (admin)";

/// A replica named `name` with a 2 s lease.
fn replica(dir: &std::path::Path, etcd: &EtcdCluster, name: &str) -> Bot {
    let store = format!("lease_secs = 2\nreplica = \"{name}\"\n");
    let extra = Extra {
        store: &store,
        ..Extra::default()
    };
    let config = console_config(dir, etcd, TEST_KEY, &format!("{name}.toml"), extra);
    Bot::console(&config, &dir.join(format!("data-{name}")))
}

#[test]
fn the_standby_finishes_the_job_of_a_killed_leader_and_tells_the_room_once() {
    let etcd = EtcdCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let mut a = replica(dir.path(), &etcd, "bot-a");
    a.expect(BANNER, LIMIT);
    let mut b = replica(dir.path(), &etcd, "bot-b");
    // Longer than the lease: the leader renews it; the standby shows nothing.
    assert_eq!(b.next_line(Instant::now() + Duration::from_secs(3)), None);

    a.say("/selftest steps=8 ms=500");
    a.expect("queued job #1: selftest (8 steps)", LIMIT);
    a.expect("step 3/8", LIMIT);
    let killed = Instant::now();
    a.kill();

    b.expect(BANNER, LIMIT);
    let took_over = killed.elapsed();
    let moved = b.expect(
        "labkube moved to bot-b; job #1 selftest (8 steps) continues at step",
        LIMIT,
    );
    b.expect("job #1 selftest (8 steps) succeeded in", LIMIT);
    assert!(
        b.seen
            .iter()
            .filter(|l| l.contains("labkube moved to"))
            .count()
            == 1,
        "told once: {:?}",
        b.seen
    );
    b.say("/job 1");
    b.expect("job #1 selftest (8 steps): succeeded", LIMIT);
    b.expect("8. selftest step 8: done in", LIMIT);
    eprintln!("standby took over {took_over:?} after the kill: {moved}");
    b.finish(LIMIT);
}

#[test]
fn a_leader_that_stops_cleanly_hands_over_at_once() {
    let etcd = EtcdCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let mut a = replica(dir.path(), &etcd, "bot-a");
    a.expect(BANNER, LIMIT);
    let mut b = replica(dir.path(), &etcd, "bot-b");
    assert_eq!(b.next_line(Instant::now() + Duration::from_secs(1)), None);
    a.say("/selftest steps=1 ms=50");
    a.expect("job #1 selftest (1 steps) succeeded in", LIMIT);
    a.finish(LIMIT);
    // Resigned: no lease to wait out.
    b.expect(BANNER, Duration::from_secs(5));
    b.say("/selftest steps=1 ms=50");
    b.expect("queued job #2: selftest (1 steps)", LIMIT);
    b.finish(LIMIT);
}
