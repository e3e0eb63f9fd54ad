//! `/node add` over real SSH: a worker added a day after the create (the join token and
//! certificate key of the create are long expired: fresh ones are made), then two control
//! planes that make the cluster HA (its workers get their local proxy then).

use labkube::store::{ClusterJob, ClusterSpec, JobKind, JobState, JobStore, NodeAddSpec};

use super::Site;
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;

fn add(site: &Site, hosts: &[usize], control_plane: bool) -> JobKind {
    let ips = site.ips();
    JobKind::Cluster(ClusterJob::AddNodes(NodeAddSpec {
        cluster: "lab-1".into(),
        hosts: hosts.iter().map(|i| ips[*i]).collect(),
        control_plane,
        user: None,
        port: None,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_a_day_later_then_two_control_planes_make_it_ha() {
    // cp1 cp2 cp3 w1 w2; the cluster starts as cp1 + w1.
    let site = Site::ha(
        &[
            Flavour::Ubuntu,
            Flavour::Debian,
            Flavour::Rocky,
            Flavour::Debian,
            Flavour::Ubuntu,
        ],
        3,
    );
    let ips = site.ips();
    let spec = ClusterSpec {
        hosts: vec![ips[0], ips[3]],
        control_planes: None,
        endpoint: None,
        ..site.spec("lab-1")
    };
    let job = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
    assert_eq!(
        site.api_name_line(3),
        format!(
            "{} api.labkube.internal # labkube: the cluster's API endpoint",
            ips[0]
        )
    );

    // A day later: every token and key of the create has expired.
    std::fs::write(site.lab.cluster.join("clock-offset"), "90000").unwrap();
    site.take_mutating();
    let added = site.run(add(&site, &[4], false)).await;
    assert_eq!(
        added.state,
        JobState::Succeeded,
        "{:?}\n{:?}",
        added.state,
        site.store.log_tail(added.id, 60)
    );
    let summary = added.summary.clone().unwrap();
    assert!(
        summary.starts_with("cluster lab-1 has 3 node(s) now (1 control plane(s))"),
        "{summary}"
    );
    let changed = site.take_mutating();
    // The new worker was set up and joined; on the control plane only a token was made and
    // the new kubelet's serving certificate approved; the other worker was left as it was.
    let joins = changed[4]
        .1
        .iter()
        .filter(|c| c.starts_with("kubeadm join"))
        .count();
    assert_eq!(joins, 1, "{:?}", changed[4].1);
    let cp1: Vec<&String> = changed[0].1.iter().collect();
    assert_eq!(cp1.len(), 2, "{cp1:?}");
    assert!(cp1[0].starts_with("kubeadm token create"), "{cp1:?}");
    assert!(cp1[1].contains(" certificate approve csr-"), "{cp1:?}");
    assert!(changed[3].1.is_empty(), "w1 changed: {:?}", changed[3].1);
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    assert_eq!(record.nodes.len(), 3);
    assert_eq!(record.pod_cidr.as_deref(), Some("10.244.0.0/16"));

    // Two control planes: the cluster becomes HA; its workers move behind the local proxy.
    let grown = site.run(add(&site, &[1, 2], true)).await;
    assert_eq!(
        grown.state,
        JobState::Succeeded,
        "{:?}\n{:?}",
        grown.state,
        site.store.log_tail(grown.id, 60)
    );
    for i in [1, 2] {
        let joins = calls_of(&site.calls(i), "kubeadm", "join")
            .into_iter()
            .filter(|c| c.iter().any(|a| a == "--control-plane"))
            .count();
        assert_eq!(joins, 1, "host {i}");
        assert!(site.api_name_line(i).starts_with(&format!("{} ", ips[i])));
    }
    for i in [3, 4] {
        site.assert_behind_proxy(i, &ips[..3]);
    }
    assert_eq!(
        std::fs::read_dir(site.lab.cluster.join("etcd"))
            .unwrap()
            .count(),
        3
    );
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    let roles: Vec<(std::net::IpAddr, &str)> = record
        .nodes
        .iter()
        .map(|n| (n.addr, n.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            (ips[0], "control-plane"),
            (ips[1], "control-plane"),
            (ips[2], "control-plane"),
            (ips[3], "worker"),
            (ips[4], "worker")
        ]
    );
}

fn remove(site: &Site, i: usize) -> JobKind {
    JobKind::Cluster(ClusterJob::RemoveNode {
        cluster: "lab-1".into(),
        host: site.ips()[i],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_and_the_first_control_plane_leave_and_the_unsafe_removals_change_nothing() {
    let site = Site::ha(
        &[
            Flavour::Debian,
            Flavour::Ubuntu,
            Flavour::Rocky,
            Flavour::Debian,
            Flavour::Debian,
        ],
        3,
    );
    let ips = site.ips();
    let created = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-1"))))
        .await;
    assert_eq!(created.state, JobState::Succeeded, "{:?}", created.state);
    let cluster = site.lab.cluster.clone();

    // A pod on w2 whose PodDisruptionBudget allows no eviction: refused before any change.
    std::fs::write(cluster.join("pdb-blocked"), "w2\n").unwrap();
    site.take_mutating();
    let blocked = site.run(remove(&site, 4)).await;
    let JobState::Failed { reason: error } = &blocked.state else {
        panic!("{:?}", blocked.state)
    };
    assert!(
        error.contains("draining w2 would not finish")
            && error.contains("would violate the pod's disruption budget"),
        "{error}"
    );
    for (host, calls) in site.take_mutating() {
        assert!(
            calls.is_empty(),
            "{host} changed by a refused removal: {calls:?}"
        );
    }
    std::fs::remove_file(cluster.join("pdb-blocked")).unwrap();

    // A worker leaves: drained with kubectl's and k0sctl's defaults, reset, its Node deleted.
    let gone = site.run(remove(&site, 4)).await;
    assert_eq!(
        gone.state,
        JobState::Succeeded,
        "{:?}\n{:?}",
        gone.state,
        site.store.log_tail(gone.id, 40)
    );
    let changed = site.take_mutating();
    let drain = changed[0]
        .1
        .iter()
        .find(|c| c.starts_with("kubectl") && c.contains(" drain w2 ") && !c.contains("dry-run"))
        .unwrap_or_else(|| panic!("{:?}", changed[0].1));
    for flag in [
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--force",
        "--grace-period=120",
        "--timeout=300s",
    ] {
        assert!(drain.contains(flag), "{drain}");
    }
    assert!(changed[4].1.iter().any(|c| c.starts_with("kubeadm reset")));
    assert!(!cluster.join("nodes/w2").exists(), "its Node is deleted");
    let summary = gone.summary.clone().unwrap();
    assert!(
        summary.starts_with(&format!("{} left cluster lab-1", ips[4]))
            && summary.contains("4 node(s) remain"),
        "{summary}"
    );
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    assert_eq!(record.nodes.len(), 4);
    assert!(!record.k8s_version.is_empty(), "the version is kept");
    // The host is free again: another room may use it.
    assert!(
        !site
            .store
            .claims()
            .unwrap()
            .iter()
            .any(|(k, _)| *k == labkube::store::claims::ClaimKey::host(ips[4]))
    );

    // cp2 may not leave while cp3's etcd member is down: cp1 alone is no quorum of two.
    std::fs::write(cluster.join("etcd-down"), "cp3\n").unwrap();
    let unsafe_ = site.run(remove(&site, 1)).await;
    let JobState::Failed { reason: error } = &unsafe_.state else {
        panic!("{:?}", unsafe_.state)
    };
    assert!(
        error.contains(
            "after cp2 leaves, 2 etcd member(s) stay of which 1 answer; etcd needs 2 of 2"
        ),
        "{error}"
    );
    std::fs::remove_file(cluster.join("etcd-down")).unwrap();
    site.take_mutating();

    // The first control plane (the one init ran on) leaves: its etcd member goes, the
    // workers' proxy forgets it, the others carry on.
    let first = site.run(remove(&site, 0)).await;
    assert_eq!(
        first.state,
        JobState::Succeeded,
        "{:?}\n{:?}",
        first.state,
        site.store.log_tail(first.id, 40)
    );
    let members: Vec<String> = std::fs::read_dir(cluster.join("etcd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(!members.contains(&"cp1".to_string()));
    site.assert_behind_proxy(3, &ips[1..3]);
    let proxy =
        std::fs::read_to_string(site.lab.hosts[3].root.join("etc/labkube/api-proxy.cfg")).unwrap();
    assert!(!proxy.contains(&format!(" {}:6443", ips[0])), "{proxy}");
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    let left: Vec<(std::net::IpAddr, &str)> = record
        .nodes
        .iter()
        .map(|n| (n.addr, n.role.as_str()))
        .collect();
    assert_eq!(
        left,
        [
            (ips[1], "control-plane"),
            (ips[2], "control-plane"),
            (ips[3], "worker")
        ]
    );
    // And the cluster still grows: cp1 comes back as a control plane, joined through cp2.
    let back = site.run(add(&site, &[0], true)).await;
    assert_eq!(
        back.state,
        JobState::Succeeded,
        "{:?}\n{:?}",
        back.state,
        site.store.log_tail(back.id, 40)
    );
    assert_eq!(std::fs::read_dir(cluster.join("etcd")).unwrap().count(), 3);
}
