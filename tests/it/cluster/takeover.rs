//! A room cannot take another's cluster over, on real SSH to stand-in hosts: the hosts of a
//! registered cluster cannot be queued for another, a host that already runs Kubernetes is
//! refused for a cluster that is not its own registration (before anything changes), and a
//! create that failed keeps its hosts for its room, which may run it again.

use labkube::store::{ClusterJob, JobKind, JobState, JobStore, StoreError};

use super::{Site, failure};
use labkube_testkit::lab::hosts::Flavour;

fn create(site: &Site, name: &str) -> JobKind {
    JobKind::Cluster(ClusterJob::Create(site.spec(name)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_rooms_create_over_a_registered_cluster_is_refused() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian]);
    let job = site.run(create(&site, "alpha")).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
    site.take_mutating();

    let e = site
        .enqueue_from(create(&site, "mine"), "intruders")
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Claimed(c) if c.len() == 2 && c.iter().all(|c| !c.ours)),
        "{e}"
    );
    let cluster = site.store.cluster("alpha").unwrap().unwrap();
    assert_eq!(cluster.owner_room, "lab");
    assert_eq!(site.store.cluster("mine").unwrap(), None);
    assert!(
        site.take_mutating()
            .iter()
            .all(|(_, calls)| calls.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_already_in_a_cluster_is_refused_for_a_new_one_before_any_change() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian]);
    let job = site.run(create(&site, "alpha")).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
    // The bot forgets the cluster (as if set up by hand, or registered before the host
    // index): its hosts still run Kubernetes.
    assert!(site.store.remove_cluster("alpha").unwrap());
    site.take_mutating();

    let job = site.run_from(create(&site, "mine"), "intruders").await;
    let reason = failure(&job);
    assert!(
        reason.contains("preflight found problems")
            && reason.contains(
                "already part of a Kubernetes cluster that is not this room's cluster mine"
            ),
        "{reason}"
    );
    assert!(
        site.take_mutating()
            .iter()
            .all(|(_, calls)| calls.is_empty()),
        "nothing changed on the hosts"
    );
    assert_eq!(site.store.cluster("mine").unwrap(), None);
    assert!(
        site.store.claims().unwrap().is_empty(),
        "the failed create let go"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_keeps_its_hosts_for_its_room_which_may_run_it_again() {
    // Nothing answers on 6443: the create fails at its very end, after every host changed.
    let site = Site::with_api(&[Flavour::Debian, Flavour::Debian], false);
    let job = site.run(create(&site, "alpha")).await;
    failure(&job);
    let record = site.store.cluster("alpha").unwrap().unwrap();
    assert_eq!(
        (record.owner_room.as_str(), record.creating),
        ("lab", Some(job.id))
    );

    let e = site
        .enqueue_from(create(&site, "mine"), "intruders")
        .unwrap_err();
    assert!(matches!(e, StoreError::Claimed(_)), "{e}");

    // The same room runs it again: its preflight accepts its own half-built hosts, and it
    // fails where the first did, not earlier.
    let again = site.run(create(&site, "alpha")).await;
    let reason = failure(&again);
    assert!(!reason.contains("preflight"), "{reason}");
    assert!(reason.contains("cannot reach its API server"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_are_checked_again_when_the_job_starts() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian]);
    // Queued while loopback was allowed; the admin has narrowed [ssh] since.
    let mut narrowed = site.config_with(&site.key, "root");
    narrowed.ssh.allowed_networks = vec!["10.0.0.0/8".into()];
    let job = site.run_with(create(&site, "alpha"), narrowed).await;
    let reason = failure(&job);
    assert!(
        reason.contains("is a loopback address") && reason.contains("checked when the job started"),
        "{reason}"
    );
    assert!(
        site.calls(0).is_empty() && site.calls(1).is_empty(),
        "no host was contacted"
    );
    assert!(site.store.claims().unwrap().is_empty(), "the job let go");
}
