//! The leader SIGKILLed in the middle of a `/cluster create` on three stand-in hosts over real
//! sshd, right after `kubeadm init` ran and before the step's checkpoint: the standby takes
//! over, tells the room once, and finishes the cluster; `kubeadm init` ran once and each
//! worker joined once, over both replicas.

use std::time::{Duration, Instant};

use labkube_testkit::etcd::{EtcdCluster, TEST_KEY};
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::support::Bot;

use crate::cluster::Site;
use labkube_testkit::etcd_console::{Extra, console_config};

const LIMIT: Duration = Duration::from_secs(30);
/// A whole creation on three stand-ins, the takeover included.
const CREATE_LIMIT: Duration = Duration::from_secs(180);
const BANNER: &str = "labkube console: you are tester (admin)";

fn replica(dir: &std::path::Path, etcd: &EtcdCluster, site: &Site, name: &str) -> Bot {
    let ssh = format!(
        "key_path = \"{}\"\nport = {}\nconnect_timeout_secs = 5\n",
        site.key.path.display(),
        site.sshd[0].port
    );
    let extra = format!(
        "lease_secs = 2\nreplica = \"{name}\"\n\
         [cluster]\nretry_backoff_ms = 20\nnodes_poll_ms = 200\nnodes_ready_timeout_secs = 30\n"
    );
    let extra = Extra {
        store: &extra,
        ssh: &ssh,
    };
    let config = console_config(dir, etcd, TEST_KEY, &format!("{name}.toml"), extra);
    Bot::console(&config, &dir.join(format!("data-{name}")))
}

#[test]
fn a_standby_finishes_a_cluster_create_whose_leader_was_killed_after_kubeadm_init() {
    let etcd = EtcdCluster::start(3);
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    // Each stand-in call takes a little while, so the kill lands inside the step.
    for h in &site.lab.hosts {
        std::fs::write(h.root.join(".slow"), "0.05\n").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut a = replica(dir.path(), &etcd, &site, "bot-a");
    a.expect(BANNER, LIMIT);
    let mut b = replica(dir.path(), &etcd, &site, "bot-b");
    assert_eq!(b.next_line(Instant::now() + Duration::from_secs(3)), None);

    let ips: Vec<String> = site.ips().iter().map(ToString::to_string).collect();
    a.say(&format!("/cluster create {} name=lab-f", ips.join(" ")));
    a.expect("queued job #1", LIMIT);
    let deadline = Instant::now() + CREATE_LIMIT;
    while calls_of(&site.calls(0), "kubeadm", "init").is_empty() {
        assert!(
            Instant::now() < deadline,
            "kubeadm init never ran: {:?}",
            a.seen
        );
        std::thread::sleep(Duration::from_millis(3));
    }
    let seen_by_a = a.kill();

    b.expect(BANNER, LIMIT);
    let moved = b.expect("labkube moved to bot-b; job #1", LIMIT);
    b.expect("job #1 cluster create", CREATE_LIMIT);
    let done = b.expect("succeeded in", CREATE_LIMIT);
    assert!(done.contains("job #1"), "{done}\n{:?}", b.seen);
    let told: Vec<&String> = b
        .seen
        .iter()
        .filter(|l| l.contains("labkube moved to"))
        .collect();
    assert_eq!(told.len(), 1, "told once: {told:?}");
    assert_eq!(
        calls_of(&site.calls(0), "kubeadm", "init").len(),
        1,
        "kubeadm init ran once over both replicas"
    );
    for w in 1..3 {
        assert_eq!(
            calls_of(&site.calls(w), "kubeadm", "join").len(),
            1,
            "host {} joined once",
            w + 1
        );
    }
    b.say("/cluster list");
    b.expect("lab-f", LIMIT);
    eprintln!(
        "killed bot-a after kubeadm init ({} lines seen); bot-b: {moved}",
        seen_by_a.len()
    );
    b.finish(LIMIT);
}
