//! The happy paths: create a mixed cluster, create it again (converges, changes nothing), plan
//! (changes nothing), delete.

use labkube::kube::kubeconfig::ClusterCredentials;
use labkube::progress::ProgressEvent;
use labkube::store::{ClusterJob, JobKind, JobState, JobStore, Space};

use super::Site;
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_converge_and_delete_a_mixed_cluster() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-1"))))
        .await;
    site.assert_succeeded(&job);
    assert_eq!(job.steps.len(), 11);

    // The cluster is registered, owned by the room, current there, its kubeconfig kept.
    let c = site.store.cluster("lab-1").unwrap().expect("registered");
    assert_eq!(
        (c.owner_platform.as_str(), c.owner_room.as_str()),
        ("test", "lab")
    );
    let names: Vec<(String, String)> = c
        .nodes
        .iter()
        .map(|n| (n.hostname.clone(), n.role.clone()))
        .collect();
    assert_eq!(
        names,
        [("cp1", "control-plane"), ("w1", "worker"), ("w2", "worker")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(c.k8s_version.starts_with("v1.35."), "{}", c.k8s_version);
    let kubeconfig = site
        .store
        .kv_get(Space::Kubeconfigs, "lab-1")
        .unwrap()
        .expect("kubeconfig stored");
    // Kept as data: the CA, client certificate and key, the server the typed address.
    let creds = ClusterCredentials::from_store(&kubeconfig, None).expect("typed credentials");
    assert_eq!(
        creds.server_url(),
        format!("https://{}:6443", site.ips()[0])
    );
    assert!(!kubeconfig.contains("clusters:"), "not the host's YAML");
    assert_eq!(
        (&*site.store as &dyn JobStore)
            .room_cluster("test", "lab")
            .unwrap()
            .as_deref(),
        Some("lab-1")
    );
    let summary = job.summary.clone().unwrap();
    assert!(
        summary.contains("cluster lab-1 is ready") && summary.contains("/ge install"),
        "{summary}"
    );
    assert!(
        !summary.contains("client-key-data"),
        "the kubeconfig is never shown"
    );

    // First contact pinned every host key and told the room.
    assert_eq!(site.store.kv_list(Space::HostKeys).unwrap().len(), 3);
    let notices = site
        .sink
        .events()
        .into_iter()
        .filter(|(_, e)| matches!(e, ProgressEvent::Notice { .. }))
        .count();
    assert_eq!(notices, 3);

    // What ran where: init on the control plane only, a join per worker, nothing forced.
    let cp = site.calls(0);
    assert_eq!(calls_of(&cp, "kubeadm", "init").len(), 1);
    assert!(calls_of(&cp, "kubeadm", "join").is_empty());
    for w in [1, 2] {
        let calls = site.calls(w);
        assert_eq!(calls_of(&calls, "kubeadm", "join").len(), 1, "worker {w}");
        assert!(calls_of(&calls, "kubeadm", "init").is_empty());
    }
    for i in 0..3 {
        assert!(
            !site
                .calls(i)
                .iter()
                .flatten()
                .any(|a| a.contains("ignore-preflight-errors")),
            "preflight is never bypassed"
        );
    }
    // The join token went to the workers' kubeadm only: never to the log.
    let log: Vec<String> = site
        .store
        .log_tail(job.id, 200)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        !log.iter().any(|l| labkube::provision::redact(l) != *l),
        "log lines carry no secrets: {log:?}"
    );

    // Creating again converges: every step probes and finds its work done.
    site.create_again_changes_nothing("lab-1").await;

    // Delete resets every host and forgets the cluster.
    site.delete_resets_every_host_once("lab-1").await;
    assert!(site.store.cluster("lab-1").unwrap().is_none());
    assert!(
        site.store
            .kv_get(Space::Kubeconfigs, "lab-1")
            .unwrap()
            .is_none()
    );
    assert!(
        (&*site.store as &dyn JobStore)
            .room_cluster("test", "lab")
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reports_per_host_steps_and_changes_nothing() {
    let site = Site::new(&[Flavour::Debian, Flavour::Ubuntu, Flavour::Debian]);
    let job = site
        .run(JobKind::Cluster(ClusterJob::Plan(site.spec("edge"))))
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
    let plan = job.summary.clone().unwrap();
    assert!(plan.contains("nothing was changed"), "{plan}");
    assert!(
        plan.contains("control-plane (cp1") && plan.contains("kubeadm init"),
        "{plan}"
    );
    assert!(
        plan.contains("worker (w1") && plan.contains("kubeadm join"),
        "{plan}"
    );
    assert!(
        plan.contains("install containerd") && plan.contains("preflight passed"),
        "{plan}"
    );
    // Each host lists what create's changing steps would do there, in the flow's order.
    let lines: Vec<&str> = plan.lines().collect();
    let (flannel, helm, local_path, metrics) = (
        labkube::config::FLANNEL_VERSION,
        labkube::config::HELM_VERSION,
        labkube::config::LOCAL_PATH_VERSION,
        labkube::config::METRICS_SERVER_VERSION,
    );
    let fresh = "prepare host (swap off, kernel modules, sysctls, firewall ports, API endpoint name); install containerd.io from Docker's repository; install kubeadm/kubelet/kubectl 1.35";
    assert!(
        lines[1].ends_with(&format!(
            "MB): {fresh}; kubeadm init (control-plane endpoint api.labkube.internal:6443); flannel {flannel}; Helm {helm}; local-path storage \
             {local_path} as the default StorageClass; approve the kubelets' own serving \
             certificates; metrics-server {metrics}"
        )),
        "{plan}"
    );
    for worker in &lines[2..4] {
        assert!(
            worker.ends_with(&format!("MB): {fresh}; kubeadm join")),
            "{plan}"
        );
    }
    for (host, calls) in site.take_mutating() {
        assert!(calls.is_empty(), "plan changed {host}: {calls:?}");
    }
    assert!(
        site.store.cluster("edge").unwrap().is_none(),
        "a plan registers nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_runs_each_step_on_every_host_and_names_failures() {
    use labkube::progress::JobIo as Io;
    use labkube::provision::remote::{Script, Target};
    use labkube_testkit::batch::{Batch, BatchError};
    let site = Site::new(&[Flavour::Debian, Flavour::Debian, Flavour::Debian]);
    let id = site.enqueue(JobKind::selftest(1, 0));
    let io = Io {
        store: site.store.clone(),
        sink: site.sink.clone(),
        job: id,
    };
    let engine = site.engine_with(&site.key, "root");
    let targets: Vec<Target> = site
        .ips()
        .into_iter()
        .map(|addr| Target {
            addr,
            port: site.sshd[0].port,
            user: "root".into(),
        })
        .collect();
    let batch = Batch::connect((engine.connect)().unwrap(), targets, io, 8)
        .await
        .unwrap();
    let script = |step: &str, body: &str| Script {
        step: step.into(),
        body: body.into(),
        env: vec![],
        privileged: true,
        timeout: std::time::Duration::from_secs(10),
    };
    batch
        .step(&script("touch", "touch \"$LABKUBE_ROOT/batch-was-here\""))
        .await
        .unwrap();
    for h in &site.lab.hosts {
        assert!(h.root.join("batch-was-here").exists(), "{}", h.name);
    }
    let err = batch
        .step(&script(
            "only-w1-fails",
            "[ \"$(cat \"$LABKUBE_ROOT/etc/hostname\")\" != w1 ]",
        ))
        .await
        .unwrap_err();
    match err {
        BatchError::Hosts(failed) => {
            assert_eq!(failed.len(), 1);
            assert_eq!(
                failed[0].host,
                format!("{}:{}", site.sshd[1].ip, site.sshd[1].port)
            );
        }
        other => panic!("{other}"),
    }
    let job = site.store.get(id).unwrap().unwrap();
    assert_eq!(job.hosts.len(), 3, "progress recorded per host");
    batch.close().await;
}
