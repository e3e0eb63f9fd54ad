//! `/readyz` and `labkube_leader` on two replicas on etcd: only the leader is ready; the
//! standby is alive and says why it is not ready; with every etcd member stopped the leader is
//! not ready either (the store does not answer), and ready again once etcd is back.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use labkube_testkit::etcd::{EtcdCluster, TEST_KEY};
use labkube_testkit::http;
use labkube_testkit::sshd::free_port;
use labkube_testkit::support::Bot;

use crate::metrics::{poll, sample};
use labkube_testkit::etcd_console::{Extra, console_config};

const LIMIT: Duration = Duration::from_secs(30);

/// A replica named `name` serving `[metrics]` on `addr`. A 30 s lease: the leader keeps it
/// through the etcd outage below (it gives up after two thirds of it without a renewal).
fn replica(dir: &Path, etcd: &EtcdCluster, name: &str, addr: SocketAddr) -> Bot {
    let extra = format!("lease_secs = 30\nreplica = \"{name}\"\n[metrics]\nlisten = \"{addr}\"\n");
    let extra = Extra {
        store: &extra,
        ..Extra::default()
    };
    let config = console_config(dir, etcd, TEST_KEY, &format!("{name}.toml"), extra);
    Bot::console(&config, &dir.join(format!("data-{name}")))
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)))
}

#[test]
fn only_the_leader_is_ready_and_not_while_etcd_is_down() {
    let mut etcd = EtcdCluster::start(3);
    let dir = tempfile::tempdir().unwrap();
    let (at_a, at_b) = (loopback(), loopback());
    let mut a = replica(dir.path(), &etcd, "bot-a", at_a);
    a.expect("labkube console: you are tester (admin)", LIMIT);
    let b = replica(dir.path(), &etcd, "bot-b", at_b);
    poll(at_a, "/readyz", LIMIT, |s, _| s == 200);

    // The standby: alive, not ready, and says why.
    let (_, why) = poll(at_b, "/readyz", LIMIT, |s, _| s == 503);
    assert!(why.starts_with("standby: another replica leads"), "{why}");
    assert_eq!(http::get(at_b, "/healthz"), Some((200, "ok\n".into())));
    let (_, standby) = poll(at_b, "/metrics", LIMIT, |s, _| s == 200);
    assert_eq!(sample(&standby, "labkube_leader"), Some(0.0), "{standby}");
    let (_, leader) = poll(at_a, "/metrics", LIMIT, |s, _| s == 200);
    assert_eq!(sample(&leader, "labkube_leader"), Some(1.0), "{leader}");
    assert_eq!(sample(&leader, "labkube_store_up"), Some(1.0), "{leader}");

    etcd.stop_all();
    let (_, why) = poll(at_a, "/readyz", LIMIT, |s, _| s == 503);
    assert!(why.contains("the job store does not answer"), "{why}");
    assert!(!why.contains(TEST_KEY), "{why}");
    let (_, down) = poll(at_a, "/metrics", LIMIT, |s, _| s == 200);
    assert_eq!(sample(&down, "labkube_store_up"), Some(0.0), "{down}");
    // Still alive: a restart would not bring etcd back.
    assert_eq!(http::get(at_a, "/healthz"), Some((200, "ok\n".into())));

    etcd.start_all();
    let (_, ready) = poll(at_a, "/readyz", LIMIT, |s, _| s == 200);
    assert_eq!(ready, "ready\n");
    a.say("/selftest steps=1 ms=10");
    a.expect("job #1 selftest (1 steps) succeeded in", LIMIT);
    a.finish(LIMIT);
    b.kill();
}
