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
