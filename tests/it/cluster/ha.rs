//! Clusters with several control planes: a 3+2 create over real SSH (one `kubeadm init`, two
//! control planes joined with `--control-plane --certificate-key`, workers behind a local
//! proxy to all three API servers), converging, the bot's client failing over when the first
//! control plane is lost, and a delete that takes the control planes away last.

use labkube::kube::layer::KubeLayer;
use labkube::store::{ClusterJob, JobKind, JobState, JobStore};

use super::Site;
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_control_planes_and_two_workers_then_failover_and_delete() {
    let site = Site::ha(
        &[
            Flavour::Ubuntu,
            Flavour::Debian,
            Flavour::Rocky,
            Flavour::Debian,
            Flavour::Rocky,
        ],
        3,
    );
    let ips = site.ips();
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("ha-1"))))
        .await;
    site.assert_succeeded(&job);
    // Each worker's proxy was in place before it joined through it.
    let log = site.store.log_tail(job.id, 500).unwrap();
    let at = |text: &str| log.iter().position(|l| l.text.starts_with(text));
    for w in [3, 4] {
        let host = format!("{}:{}", site.sshd[w].ip, site.sshd[w].port);
        let proxy = at(&format!("{host}: api_proxy done in "));
        let join = at(&format!("{host}: kubeadm_join done in "));
        assert!(
            proxy.is_some() && proxy < join,
            "{host}: {proxy:?} {join:?}"
        );
    }

    // One init; the other two control planes joined as control planes with a certificate
    // key; the workers as workers.
    let cp1 = site.calls(0);
    let (uploads, inits): (Vec<_>, Vec<_>) = calls_of(&cp1, "kubeadm", "init")
        .into_iter()
        .partition(|c| c.get(2).is_some_and(|a| a == "phase"));
    assert_eq!(inits.len(), 1);
    assert_eq!(uploads.len(), 1, "certificates uploaded once, just in time");
    let mut keys = Vec::new();
    for i in [1, 2] {
        let calls = site.calls(i);
        assert!(calls_of(&calls, "kubeadm", "init").is_empty(), "host {i}");
        let joins = calls_of(&calls, "kubeadm", "join");
        assert_eq!(joins.len(), 1, "host {i}");
        let join = joins[0];
        assert!(join.iter().any(|a| a == "--control-plane"), "{join:?}");
        assert!(
            join.iter()
                .any(|a| *a == format!("--apiserver-advertise-address={}", ips[i])),
            "{join:?}"
        );
        let key = join
            .iter()
            .position(|a| a == "--certificate-key")
            .map(|p| join[p + 1].clone())
            .expect("a certificate key");
        keys.push(key);
        // Its own API server serves it once it joined.
        assert!(
            site.api_name_line(i)
                .starts_with(&format!("{} api.labkube.internal", ips[i])),
            "{}",
            site.api_name_line(i)
        );
    }
    assert_eq!(keys[0], keys[1], "one key for the joins of one step");
    for i in [3, 4] {
        let calls = site.calls(i);
        let joins = calls_of(&calls, "kubeadm", "join");
        assert_eq!(joins.len(), 1, "host {i}");
        assert!(!joins[0].iter().any(|a| a == "--control-plane"));
        // The worker reaches the API through its local proxy to all three.
        site.assert_behind_proxy(i, &ips[..3]);
    }
    // Three etcd members; the key and the tokens are nowhere in the job's log or the store.
    let etcd = std::fs::read_dir(site.lab.cluster.join("etcd"))
        .unwrap()
        .count();
    assert_eq!(etcd, 3);
    let log: String = site
        .store
        .log_tail(job.id, 400)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !log.contains(&keys[0]),
        "the certificate key is never logged"
    );
    let dump = format!("{:?}", site.store.get(job.id).unwrap());
    assert!(!dump.contains(&keys[0]));

    // Registered with its three control planes.
    let record = site.store.cluster("ha-1").unwrap().unwrap();
    let roles: Vec<&str> = record.nodes.iter().map(|n| n.role.as_str()).collect();
    assert_eq!(
        roles,
        [
            "control-plane",
            "control-plane",
            "control-plane",
            "worker",
            "worker"
        ]
    );

    // Creating again converges: nothing changes, no key or token is made.
    site.create_again_changes_nothing("ha-1").await;

    // The first control plane is lost: the bot's client reaches the second.
    let api = site.api.as_ref().unwrap();
    api.fake
        .pause_at(std::net::SocketAddr::new(ips[0], 6443))
        .await;
    let store: std::sync::Arc<dyn JobStore> = site.store.clone();
    let layer = KubeLayer::new(
        &site.config_with(&site.key, "root"),
        std::sync::Arc::new(labkube::kube::catalogue::Catalogue::builtin().unwrap()),
        store,
    );
    let cluster = layer.cluster("ha-1").await.unwrap();
    let version = cluster
        .reachable()
        .await
        .expect("another control plane answers");
    assert_eq!(
        cluster.server,
        format!("https://{}:6443", ips[1]),
        "and says which"
    );
    assert!(version.starts_with('v'), "{version}");

    // Delete: workers, then the joined control planes (each taking its etcd member along),
    // then the first.
    site.delete_resets_every_host_once("ha-1").await;
    for i in 0..5 {
        assert_eq!(site.api_name_line(i), "", "host {i}: the name line is gone");
    }
    for i in [3, 4] {
        let root = &site.lab.hosts[i].root;
        assert!(!root.join("etc/labkube/api-proxy.cfg").exists());
        assert!(
            !root
                .join("etc/systemd/system/labkube-api-proxy.service")
                .exists()
        );
    }
    assert!(!site.lab.cluster.join("etcd").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_of_an_ha_cluster_names_each_hosts_part_and_changes_nothing() {
    let site = Site::ha(
        &[
            Flavour::Debian,
            Flavour::Ubuntu,
            Flavour::Rocky,
            Flavour::Debian,
        ],
        3,
    );
    let job = site
        .run(JobKind::Cluster(ClusterJob::Plan(site.spec("ha-2"))))
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
    let plan = job.summary.clone().unwrap();
    let lines: Vec<&str> = plan.lines().collect();
    assert!(
        lines[0].contains("3 control planes with stacked etcd"),
        "{plan}"
    );
    assert!(
        lines[1].contains("kubeadm init (control-plane endpoint"),
        "{plan}"
    );
    for cp in &lines[2..4] {
        assert!(
            cp.contains("control-plane (cp")
                && cp.ends_with("kubeadm join --control-plane (an API server and an etcd member)"),
            "{plan}"
        );
    }
    assert!(
        lines[4].contains("a local proxy (haproxy) from 127.0.0.1:6443 to the 3 API servers")
            && lines[4].ends_with("kubeadm join"),
        "{plan}"
    );
    assert!(plan.contains("control-planes=3 runs it."), "{plan}");
    for (host, calls) in site.take_mutating() {
        assert!(calls.is_empty(), "{host} changed by a plan: {calls:?}");
    }
}
