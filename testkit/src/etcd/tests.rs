//! The test kit's etcd clusters against the real etcd.

use super::*;

fn put(c: &EtcdCluster, key: &str, value: &str) -> Output {
    c.etcdctl(&["put", key, value])
}

fn assert_put(c: &EtcdCluster, key: &str, value: &str) {
    let out = put(c, key, value);
    assert!(
        out.status.success(),
        "etcdctl put {key} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn get(c: &EtcdCluster, key: &str) -> String {
    let out = c.etcdctl(&["get", key, "--print-value-only"]);
    assert!(
        out.status.success(),
        "etcdctl get {key} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

#[test]
fn three_members_lose_quorum_and_get_it_back() {
    require_etcd();
    let started = Instant::now();
    let mut c = EtcdCluster::start(3);
    assert_eq!(c.members(), 3);
    let endpoints = c.endpoints();
    assert_eq!(endpoints.len(), 3);
    assert!(endpoints.iter().all(|e| e.starts_with("http://127.0.0.1:")));
    assert_eq!(c.endpoint(1), endpoints[1]);
    assert!((0..3).all(|i| c.is_running(i)));

    assert_put(&c, "k1", "v1");
    assert_eq!(get(&c, "k1"), "v1");

    // One of three down: two still form a quorum.
    c.kill(2);
    assert!(!c.is_running(2));
    // If m2 led, the survivors need an election first.
    c.wait_ready();
    assert_put(&c, "k2", "v2");

    // Two of three down: no quorum, no write.
    c.kill(1);
    let out = put(&c, "k3", "v3");
    assert!(
        !out.status.success(),
        "a put without quorum succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!healthy(c.members[0].client_port));

    // Both back, from their data directories.
    c.restart(1);
    c.restart(2);
    assert!((0..3).all(|i| c.is_running(i)));
    assert_put(&c, "k4", "v4");
    assert_eq!(get(&c, "k1"), "v1");
    assert_eq!(get(&c, "k2"), "v2");

    // The whole cluster down and back.
    c.stop_all();
    assert!((0..3).all(|i| !c.is_running(i)));
    c.start_all();
    assert_eq!(get(&c, "k4"), "v4");
    assert!(!c.log_tail(0).is_empty());
    // m1 came back twice (restart, start_all), each time from its data directory.
    let log = fs::read_to_string(c.dir().join("m1.log")).unwrap();
    assert_eq!(log.matches("--initial-cluster-state existing").count(), 2);
    assert_eq!(
        log.matches("server has been already initialized").count(),
        2
    );

    eprintln!("etcd cluster test took {:?}", started.elapsed());
}

#[test]
fn a_lone_restart_after_stop_all_waits_for_the_port_only() {
    let mut c = EtcdCluster::start(3);
    c.stop_all();
    c.restart(0);
    assert!(c.is_running(0));
    assert!(!healthy(c.members[0].client_port));
    c.restart(1);
    assert_put(&c, "k", "v");
    c.kill(0);
    c.kill(0);
    assert!(!c.is_running(0));
}
