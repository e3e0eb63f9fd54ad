//! A dual-stack cluster over real SSH (`pod-cidr=IPv4,IPv6`): kubeadm gets both pod and
//! service networks, every kubelet registers both of its addresses, flannel carries both
//! families, and the record keeps the pair for a node added later. A host without a global
//! IPv6 address is refused before anything changes.

use labkube::store::{ClusterJob, ClusterSpec, JobKind, JobState, JobStore, NodeAddSpec};

use super::{Site, failure};
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;

const DUAL: &str = "10.244.0.0/16,fd00:10:244::/56";

/// Gives host `i` a global IPv6 address beside its IPv4 one.
fn with_ipv6(site: &Site, i: usize) -> String {
    let v6 = format!("2001:db8:1::{}", i + 1);
    site.lab.write(
        i,
        "/.standin/addrs",
        &format!("eth0 {}/24\neth0 {v6}/64\n", site.sshd[i].ip),
    );
    v6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dual_stack_cluster_gets_both_families_everywhere() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Rocky, Flavour::Debian]);
    let v6: Vec<String> = (0..3).map(|i| with_ipv6(&site, i)).collect();
    let mut spec = site.spec("dual-1");
    spec.pod_cidr = Some(DUAL.into());
    // The plan says so first, changing nothing.
    let plan = site
        .run(JobKind::Cluster(ClusterJob::Plan(spec.clone())))
        .await;
    let summary = plan.summary.clone().unwrap_or_default();
    assert!(
        summary.contains(&format!(
            "pod network {DUAL} and service network 10.96.0.0/12,fd00:10:96::/112 (dual stack)"
        )) && summary.contains("sysctls with IPv6 forwarding"),
        "{summary}"
    );
    for (host, calls) in site.take_mutating() {
        assert!(calls.is_empty(), "{host} changed by the plan: {calls:?}");
    }
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(spec.clone())))
        .await;
    site.assert_succeeded(&job);
    let init = calls_of(&site.calls(0), "kubeadm", "init")[0].clone();
    assert!(
        init.contains(&format!("--pod-network-cidr={DUAL}")),
        "{init:?}"
    );
    assert!(
        init.contains(&"--service-cidr=10.96.0.0/12,fd00:10:96::/112".to_string()),
        "{init:?}"
    );
    for (i, v6) in v6.iter().enumerate() {
        let kubelet = site.lab.kubelet_env(i);
        assert!(
            kubelet.contains(&format!("--node-ip={},{v6}", site.sshd[i].ip)),
            "host {i}: {kubelet}"
        );
        assert_eq!(
            site.lab
                .read(i, "/proc/sys/net/ipv6/conf/all/forwarding")
                .as_deref(),
            Some("1\n")
        );
    }
    let record = site.store.cluster("dual-1").unwrap().unwrap();
    assert_eq!(record.pod_cidr.as_deref(), Some(DUAL));

    // Created again with the same networks, nothing changes.
    site.take_mutating();
    let again = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    assert_eq!(again.state, JobState::Succeeded, "{:?}", again.state);
    for (host, calls) in site.take_mutating() {
        assert!(calls.is_empty(), "{host} changed: {calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_without_ipv6_is_refused_before_anything_changes() {
    let site = Site::new(&[Flavour::Debian, Flavour::Ubuntu]);
    with_ipv6(&site, 0);
    let mut spec = site.spec("dual-2");
    spec.pod_cidr = Some(DUAL.into());
    let job = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    let reason = failure(&job);
    let w1 = format!("{}:{}", site.sshd[1].ip, site.sshd[1].port);
    assert!(
        reason.contains(&format!(
            "{w1}: it has no global IPv6 address, which every node of a dual-stack cluster \
             (pod-cidr={DUAL}) needs"
        )),
        "{reason}"
    );
    for (host, calls) in site.take_mutating() {
        assert!(calls.is_empty(), "{host} was changed: {calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_added_later_joins_with_both_families_and_needs_ipv6_too() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    with_ipv6(&site, 0);
    with_ipv6(&site, 1);
    let ips = site.ips();
    let spec = ClusterSpec {
        hosts: vec![ips[0], ips[1]],
        pod_cidr: Some(DUAL.into()),
        ..site.spec("dual-3")
    };
    let job = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    site.assert_succeeded(&job);
    let add = JobKind::Cluster(ClusterJob::AddNodes(NodeAddSpec {
        cluster: "dual-3".into(),
        hosts: vec![ips[2]],
        control_plane: false,
        user: None,
        port: None,
    }));
    // The cluster's networks are its own, not the bot's default: the new host needs IPv6.
    site.take_mutating();
    let refused = site.run(add.clone()).await;
    let w2 = format!("{}:{}", site.sshd[2].ip, site.sshd[2].port);
    assert!(
        failure(&refused).contains(&format!("{w2}: it has no global IPv6 address")),
        "{}",
        failure(&refused)
    );
    assert!(
        site.take_mutating()
            .iter()
            .all(|(_, calls)| calls.is_empty())
    );
    let v6 = with_ipv6(&site, 2);
    let added = site.run(add).await;
    site.assert_succeeded(&added);
    let kubelet = site.lab.kubelet_env(2);
    assert!(
        kubelet.contains(&format!("--node-ip={},{v6}", site.sshd[2].ip)),
        "{kubelet}"
    );
}
