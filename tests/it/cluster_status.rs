//! `/cluster status` and `/cluster list` live: the in-process bot asks the fake API server for
//! the nodes of the cluster the config declares for the room (`lab-1`), which is that room's
//! current cluster although the bot knows another one.

use std::time::Duration;

use labkube::store::{ClusterRecord, JobStore, NodeRecord};
use labkube_testkit::ge_rig::Rig;

/// A cluster another room created (its record only: nothing answers for it).
fn register_elsewhere(rig: &Rig) {
    rig.store
        .put_cluster(ClusterRecord {
            name: "theirs".into(),
            owner_platform: "t".into(),
            owner_room: "elsewhere".into(),
            created_ms: 1,
            k8s_version: "v1.33.4".into(),
            nodes: vec![NodeRecord {
                addr: "10.9.0.1".parse().unwrap(),
                port: 22,
                user: "root".into(),
                role: "control-plane".into(),
                hostname: "their-cp".into(),
                avx: None,
            }],
            creating: None,
            pod_cidr: None,
            endpoint: None,
        })
        .unwrap();
}

/// The `n`th answer (1-based) once it is there.
async fn answer(rig: &Rig, n: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let sent = rig.sent();
        if sent.len() >= n {
            return sent[n - 1].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "answer {n} expected; the bot said {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_declared_cluster_is_the_rooms_current_one_and_shows_its_nodes_as_they_are() {
    let rig = Rig::start().await;
    register_elsewhere(&rig);
    let api = format!("http://{}", rig.fake.addr());

    rig.say("/cluster status").await;
    let status = answer(&rig, 1).await;
    assert_eq!(
        status,
        format!(
            "cluster lab-1 (declared in the config): owned by this room; API server {api} answers, \
             Kubernetes v1.35.0; 2 of 2 node(s) Ready:\n  \
             fake-cp (control-plane) 192.168.49.2: Ready, kubelet v1.35.0\n  \
             fake-node-0 (worker) 192.168.49.3: Ready, kubelet v1.35.0\n\
             the nodes reach the API at {}: the cluster was initialised without a control-plane \
             endpoint, so kubeadm cannot give it more control planes\n\
             no GEs installed by labkube yet; /ge catalog lists them",
            rig.fake.addr()
        )
    );

    // A worker whose kubelet reports a problem, cordoned: shown as kubectl would.
    let mut node = rig
        .fake
        .object("v1", "Node", None, "fake-node-0")
        .expect("the fake has its worker");
    let healthy = node.clone();
    node["spec"]["unschedulable"] = true.into();
    node["status"]["conditions"] = serde_json::json!([{
        "type": "Ready", "status": "False", "reason": "KubeletNotReady",
        "message": "container runtime network not ready: NetworkReady=false",
        "lastHeartbeatTime": "2025-01-01T00:00:00Z", "lastTransitionTime": "2025-01-01T00:00:00Z",
    }]);
    rig.fake.put(node);
    rig.say("/cluster list").await;
    let list = answer(&rig, 2).await;
    assert_eq!(
        list,
        format!(
            "2 cluster(s); * marks this room's current one:\n\
             * lab-1 (declared in the config): Kubernetes v1.35.0, 1 of 2 node(s) Ready, control plane fake-cp, API server {api}; owner: this room\n  \
             theirs: Kubernetes v1.33.4 when registered, 1 node(s); owner: another room"
        )
    );
    rig.say("/cluster status lab-1").await;
    let status = answer(&rig, 3).await;
    assert!(
        status.contains("1 of 2 node(s) Ready:")
            && status.contains(
                "fake-node-0 (worker) 192.168.49.3: NotReady (KubeletNotReady: container runtime network not ready: NetworkReady=false), cordoned, kubelet v1.35.0"
            ),
        "{status}"
    );

    // The current cluster is where GE commands go without cluster=.
    rig.fake.put(healthy);
    rig.say("/ge install orion ns=demo").await;
    let queued = rig.wait_for("queued job #1").await;
    assert!(
        queued.starts_with("queued job #1: ge install orion"),
        "{queued}"
    );
    let job = rig.finished(1).await;
    rig.say("/cluster status").await;
    let status = rig.wait_for("GEs installed by labkube:").await;
    assert!(
        status.ends_with("\nGEs installed by labkube: mongodb in demo, orion in demo"),
        "{status}"
    );
    let labkube::store::JobKind::Ge(ge) = &job.kind else {
        panic!("{:?}", job.kind)
    };
    assert_eq!(ge.target().cluster, "lab-1");
}

#[tokio::test]
async fn a_cluster_whose_api_server_is_down_says_so_without_holding_up_the_room() {
    let rig = Rig::start().await;
    rig.fake.pause().await;
    rig.say("/cluster status").await;
    rig.say("/whoami").await;
    // The room's next command is not held up by the question to the API server.
    let first = answer(&rig, 1).await;
    assert!(first.starts_with("you are ada"), "{first}");
    let status = answer(&rig, 2).await;
    assert!(
        status.starts_with(&format!(
            "cluster lab-1 (declared in the config): owned by this room; API server http://{} could not be asked: ",
            rig.fake.addr()
        )) && status.contains("asking the API server for its version on cluster lab-1 failed"),
        "{status}"
    );
    rig.say("/cluster list").await;
    let list = answer(&rig, 3).await;
    assert!(
        list.starts_with("1 cluster(s); * marks this room's current one:\n* lab-1 (declared in the config): API server")
            && list.contains("could not be asked"),
        "{list}"
    );
}

/// kubeadm's etcd static pod of control plane `node`; its image tag `crash` makes the fake's
/// kubelet crash-loop it (a member that does not come up).
fn etcd_pod(node: &str, tag: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("etcd-{node}"), "namespace": "kube-system",
                     "labels": {"component": "etcd", "tier": "control-plane"}},
        "spec": {"nodeName": node, "containers": [{"name": "etcd", "image": format!("registry.k8s.io/etcd:{tag}")}]}
    })
}

/// The status answer once it mentions etcd as `want` says (the fake's kubelet takes a moment).
async fn etcd_line(rig: &Rig, want: &str) -> String {
    let mut n = rig.sent().len();
    for _ in 0..100 {
        rig.say("/cluster status").await;
        n += 1;
        let status = answer(rig, n).await;
        if status.contains(want) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no status said {want}");
}

#[tokio::test]
async fn an_ha_cluster_shows_its_etcd_members_and_what_its_quorum_tolerates() {
    let rig = Rig::start().await;
    for node in ["cp1", "cp2", "cp3"] {
        rig.fake.put(etcd_pod(node, "3.6.5-0"));
    }
    etcd_line(
        &rig,
        "\netcd: 3 of 3 members healthy, quorum 2 (tolerates 1 lost): cp1 ok, cp2 ok, cp3 ok\n",
    )
    .await;

    // A member down: still a quorum, and the room sees how close it is to losing it.
    rig.fake.put(etcd_pod("cp2", "crash"));
    etcd_line(
        &rig,
        "\netcd: 2 of 3 members healthy, quorum 2 (quorum kept; 1 more lost would break it): \
         cp1 ok, cp2 ContainersNotReady, cp3 ok\n",
    )
    .await;
}
