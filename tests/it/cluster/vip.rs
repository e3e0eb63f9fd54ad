//! Clusters whose API endpoint is a virtual IP (`endpoint=`), over real SSH: the probe that
//! the address can move between the control planes (refused, with what to ask the lab for,
//! where the lab's port security drops it), and a 3+1 create where kube-vip carries it: the
//! worker reaches the API by it without a local proxy, and it moves when its control plane is
//! lost.

use std::net::IpAddr;

use labkube::store::{ClusterJob, JobKind, JobState, JobStore};

use super::{Site, failure};
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;

/// Three control planes and a worker, and a free address on their network for the VIP.
fn site() -> (Site, IpAddr) {
    site_of(4)
}

/// Three control planes and `hosts - 3` workers, and a free address on their network.
fn site_of(hosts: usize) -> (Site, IpAddr) {
    let flavours = [
        Flavour::Ubuntu,
        Flavour::Rocky,
        Flavour::Debian,
        Flavour::Debian,
        Flavour::Ubuntu,
    ];
    let mut site = Site::ha(&flavours[..hosts], 3);
    let first = site.sshd[0].ip.octets();
    // A loopback address of this test's own, in the hosts' /24 (where the stand-in ip puts
    // them).
    let vip = (0..500)
        .map(|_| labkube_testkit::sshd::next_loopback())
        .find(|a| a.octets()[..3] == first[..3])
        .expect("a free address beside the hosts");
    let vip = IpAddr::V4(vip);
    site.endpoint = Some(vip);
    (site, vip)
}

/// The lab lets host `i`'s port carry `vip` (OpenStack's allowed_address_pairs).
fn allow(site: &Site, i: usize, vip: IpAddr) {
    site.lab
        .write(i, ".standin/port-allowed-addresses", &format!("{vip}\n"));
}

/// Worker `i` reaches the API by `vip`, with no local proxy of its own.
fn by_vip(site: &Site, i: usize, vip: IpAddr) {
    let line = site.api_name_line(i);
    assert!(
        line.starts_with(&format!("{vip} api.labkube.internal")),
        "host {i}: {line}"
    );
    let proxy = site.lab.hosts[i].root.join("etc/labkube/api-proxy.cfg");
    assert!(!proxy.exists(), "host {i} has a proxy");
}

/// The addresses `ip -o addr show scope global` lists on host `i` now.
fn addresses(site: &Site, i: usize) -> String {
    let run = site.lab.run_script(i, "ip -o addr show scope global", &[]);
    assert!(run.ok(), "{run}");
    run.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_ip_the_labs_network_drops_is_refused_before_anything_changes() {
    let (site, vip) = site();
    // Only the second control plane's port may carry it.
    allow(&site, 1, vip);
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("vip-1"))))
        .await;
    let why = failure(&job);
    let ips = site.ips();
    assert!(
        why.starts_with(
            "step 4/12 (probe the virtual IP) failed: preflight found problems; nothing was changed:"
        ),
        "{why}"
    );
    assert!(
        why.contains(&format!(
            "endpoint={vip} does not answer from the other hosts while {}, {} hold(s) it",
            ips[0], ips[2]
        )),
        "{why}"
    );
    assert!(
        why.contains(&format!(
            "openstack port set --allowed-address ip-address={vip} PORT"
        )) && why.contains("without endpoint="),
        "{why}"
    );
    // Held on each control plane in turn and let go each time; nothing else changed anywhere.
    for (i, (host, calls)) in site.take_mutating().into_iter().enumerate() {
        let verbs: Vec<&str> = calls
            .iter()
            .map(|c| {
                assert!(c.starts_with("ip addr "), "{host}: {c}");
                c.split(' ').nth(2).unwrap_or_default()
            })
            .collect();
        let want: &[&str] = if i < 3 { &["add", "del"] } else { &[] };
        assert_eq!(verbs, want, "{host}");
        assert!(!addresses(&site, i).contains(&vip.to_string()), "{host}");
    }
    assert!(site.store.cluster("vip-1").unwrap().is_none());

    // The plan says the same, and what would be done with the address.
    let plan = site
        .run(JobKind::Cluster(ClusterJob::Plan(site.spec("vip-1"))))
        .await;
    assert_eq!(plan.state, JobState::Succeeded, "{:?}", plan.state);
    let text = plan.summary.unwrap();
    assert!(
        text.contains(&format!("API endpoint on virtual IP {vip} (kube-vip)")),
        "{text}"
    );
    assert!(
        text.contains("create would stop at the preflight"),
        "{text}"
    );
    assert!(
        text.contains("does not answer from the other hosts"),
        "{text}"
    );

    // An address another machine answers on is refused as taken.
    let elsewhere = site.lab.cluster.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(
        elsewhere.join("held-addrs"),
        format!("{vip} eth0 9999999999\n"),
    )
    .unwrap();
    std::fs::write(elsewhere.join("port-allowed-addresses"), format!("{vip}\n")).unwrap();
    std::fs::create_dir_all(site.lab.cluster.join("held")).unwrap();
    std::fs::write(
        site.lab.cluster.join(format!("held/{vip}")),
        format!("{} 9999999999\n", elsewhere.display()),
    )
    .unwrap();
    let taken = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("vip-1"))))
        .await;
    let why = failure(&taken);
    assert!(
        why.contains(&format!(
            "endpoint={vip} already answers on the hosts' network"
        )),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_vip_carries_the_api_endpoint_and_moves_it_when_its_control_plane_is_lost() {
    let (site, vip) = site();
    for i in 0..3 {
        allow(&site, i, vip);
    }
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("vip-2"))))
        .await;
    site.assert_succeeded(&job);
    let log: Vec<String> = site
        .store
        .log_tail(job.id, 500)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        log.iter()
            .any(|l| l.contains(&format!("{vip} moves between the control planes"))),
        "{log:#?}"
    );
    // The certificate names the address; each control plane runs kube-vip for it on the
    // interface of its address, with the pinned image.
    let init = calls_of(&site.calls(0), "kubeadm", "init")
        .into_iter()
        .find(|c| c.get(2).is_none_or(|a| a != "phase"))
        .cloned()
        .unwrap();
    assert!(
        init.contains(&format!("--apiserver-cert-extra-sans={vip}")),
        "{init:?}"
    );
    for i in 0..3 {
        let manifest = site
            .lab
            .read(i, "etc/kubernetes/manifests/kube-vip.yaml")
            .unwrap_or_else(|| panic!("host {i} runs no kube-vip"));
        assert!(
            manifest.contains("image: ghcr.io/kube-vip/kube-vip:v1.2.3")
                && manifest.contains(&format!("value: {vip}\n"))
                && manifest.contains("value: eth0\n"),
            "{manifest}"
        );
    }
    // The worker reaches the API by the address, with no proxy of its own.
    by_vip(&site, 3, vip);
    let record = site.store.cluster("vip-2").unwrap().unwrap();
    assert_eq!(record.endpoint, Some(vip));
    // The first control plane carries it.
    assert!(addresses(&site, 0).contains(&format!("{vip}/32")));

    // The bot names the address as the cluster's API endpoint and talks to it while it
    // answers (here a bare listener stands for the API server behind it), else to a control
    // plane directly.
    let store: std::sync::Arc<dyn JobStore> = site.store.clone();
    let layer = labkube::kube::layer::KubeLayer::new(
        &site.config_with(&site.key, "root"),
        std::sync::Arc::new(labkube::kube::catalogue::Catalogue::builtin().unwrap()),
        store,
    );
    assert_eq!(
        layer.endpoint("vip-2").unwrap(),
        format!("https://{vip}:6443")
    );
    let listener = std::net::TcpListener::bind((vip, 6443)).unwrap();
    let cluster = layer.cluster("vip-2").await.unwrap();
    assert_eq!(cluster.server, format!("https://{vip}:6443"));
    drop(listener);
    let cluster = layer.cluster("vip-2").await.unwrap();
    cluster.reachable().await.expect("a control plane answers");
    assert_eq!(cluster.server, format!("https://{}:6443", site.ips()[0]));

    // Creating again converges: the address is carried, not probed again; nothing changes.
    site.create_again_changes_nothing("vip-2").await;

    // The first control plane is lost (its kubelet stops): another one's kube-vip takes the
    // address, and the worker still reaches it.
    std::fs::remove_file(
        site.lab.hosts[0]
            .root
            .join(".standin/systemd/kubelet.active"),
    )
    .unwrap();
    assert!(!addresses(&site, 0).contains(&vip.to_string()));
    let run = site
        .lab
        .run_script(3, &format!("ping -c 1 -W 1 -q {vip}"), &[]);
    assert!(run.ok(), "{run}");
    let carriers: Vec<usize> = (1..3)
        .filter(|i| addresses(&site, *i).contains(&format!("{vip}/32")))
        .collect();
    assert_eq!(carriers.len(), 1, "one carrier: {carriers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_added_to_a_cluster_with_a_virtual_ip_use_it() {
    // cp1 cp2 cp3 w1 w2; the cluster starts as cp1 + w1 with the address.
    let (site, vip) = site_of(5);
    let ips = site.ips();
    for i in [0, 1, 2] {
        allow(&site, i, vip);
    }
    let spec = labkube::store::ClusterSpec {
        hosts: vec![ips[0], ips[3]],
        control_planes: None,
        ..site.spec("vip-3")
    };
    let job = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    site.assert_succeeded(&job);
    by_vip(&site, 3, vip);

    // cp3's only network is its own address: kube-vip could never announce the VIP there.
    site.lab
        .write(2, ".standin/addrs", &format!("eth0 {}/32\n", ips[2]));
    let refused = site.run(add(&site, &[2], true)).await;
    let why = failure(&refused);
    assert!(
        why.contains(&format!(
            "{}:{}: endpoint={vip} is not on its network {}/32 (eth0)",
            ips[2], site.sshd[2].port, ips[2]
        )),
        "{why}"
    );
    let changed = site.take_mutating();
    assert!(changed[2].1.is_empty(), "{:?}", changed[2].1);

    // cp2 joins as a control plane with kube-vip; w2 reaches the API by the address.
    let added = site.run(add(&site, &[1], true)).await;
    site.assert_succeeded(&added);
    let manifest = site
        .lab
        .read(1, "etc/kubernetes/manifests/kube-vip.yaml")
        .expect("kube-vip on the new control plane");
    assert!(manifest.contains(&format!("value: {vip}\n")), "{manifest}");
    let added = site.run(add(&site, &[4], false)).await;
    site.assert_succeeded(&added);
    for w in [3, 4] {
        by_vip(&site, w, vip);
    }
}

fn add(site: &Site, hosts: &[usize], control_plane: bool) -> JobKind {
    let ips = site.ips();
    JobKind::Cluster(ClusterJob::AddNodes(labkube::store::NodeAddSpec {
        cluster: "vip-3".into(),
        hosts: hosts.iter().map(|i| ips[*i]).collect(),
        control_plane,
        user: None,
        port: None,
    }))
}
