//! What a real cluster refuses: data without a default StorageClass, and a pod no node fits.

use labkube::store::JobState;
use labkube_testkit::fakekube::{FakeOptions, FakeStorage};
use labkube_testkit::ge_rig::{Rig, RigOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ge_with_data_is_refused_before_queueing_on_a_cluster_without_a_default_storage_class() {
    let rig = Rig::with(RigOptions {
        fake: FakeOptions {
            storage: FakeStorage::None,
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    rig.say("/ge install orion ns=demo").await;
    let answer = rig.wait_for("no default StorageClass").await;
    assert!(
        answer.contains(
            "orion needs mongodb, which keep data in a volume claim, and cluster lab-1 has no \
             default StorageClass, so the claim would never bind and the pod never start"
        ),
        "{answer}"
    );
    assert!(answer.ends_with("nothing was changed"), "{answer}");
    rig.say("/ge install mongodb ns=demo").await;
    let answer = rig
        .wait_for("mongodb keeps its data in a volume claim")
        .await;
    assert!(
        answer.contains("storageclass.kubernetes.io/is-default-class=true"),
        "{answer}"
    );
    assert_eq!(rig.last_job(), 0, "no job was queued");
    assert_eq!(rig.fake.mutations(), 0, "nothing was applied");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_too_small_fails_the_install_with_the_schedulers_words() {
    let rig = Rig::with(RigOptions {
        fake: FakeOptions {
            node_memory: "1Gi".into(),
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    let (job, outcome) = rig.run("/ge install cratedb ns=demo").await;
    let JobState::Failed { reason } = &job.state else {
        panic!("{outcome}");
    };
    assert!(
        reason.contains(
            "cratedb: new pod cratedb-0 cannot be scheduled (0/2 nodes are available: 1 \
             Insufficient memory, 1 node(s) had untolerated taint \
             {node-role.kubernetes.io/control-plane: }.)"
        ),
        "{reason}"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_is_refused_where_the_workers_cpus_lack_avx() {
    use labkube::store::{ClusterRecord, JobStore, NodeRecord};
    let rig = Rig::start().await;
    let node = |addr: &str, role: &str, name: &str, avx| NodeRecord {
        addr: addr.parse().unwrap(),
        port: 22,
        user: "ubuntu".into(),
        role: role.into(),
        hostname: name.into(),
        avx,
    };
    // What /cluster create recorded: a control plane with AVX, a worker without (kvm64).
    rig.store
        .put_cluster(ClusterRecord {
            name: "lab-1".into(),
            owner_platform: "t".into(),
            owner_room: "lab".into(),
            created_ms: 1,
            k8s_version: "v1.35.5".into(),
            nodes: vec![
                node("10.0.0.1", "control-plane", "cp1", Some(true)),
                node("10.0.0.2", "worker", "w1", Some(false)),
            ],
            creating: None,
            pod_cidr: None,
            endpoint: None,
        })
        .unwrap();
    let store: &dyn JobStore = &*rig.store;
    store.set_room_cluster("t", "lab", "lab-1").unwrap();
    rig.say("/ge install orion ns=demo").await;
    let answer = rig.wait_for("needs a CPU with AVX").await;
    assert!(
        answer.starts_with(
            "mongodb (which orion needs) needs a CPU with AVX, and the CPUs of w1 (10.0.0.2) on \
             lab-1 lack it: it would stop with \"Illegal instruction\". Set those VMs' CPU type to \
             host"
        ),
        "{answer}"
    );
    assert_eq!(rig.last_job(), 0, "nothing queued");
    // What needs no MongoDB installs as before.
    let (job, outcome) = rig.run("/ge install cratedb ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_no_provisioner_serves_is_named_with_its_event_when_the_install_times_out() {
    let rig = Rig::with(RigOptions {
        fake: FakeOptions {
            storage: FakeStorage::ClassWithoutProvisioner,
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    let (job, outcome) = rig.run("/ge install mongodb ns=demo").await;
    let JobState::Failed { reason } = &job.state else {
        panic!("{outcome}");
    };
    assert!(reason.contains("timed out after 20 s"), "{reason}");
    assert!(
        reason.contains(
            "the cluster's newest warnings:\n  persistentvolumeclaim/data-mongodb-0 \
             ExternalProvisioning: Waiting for a volume to be created either by the external \
             provisioner"
        ),
        "{reason}"
    );
    rig.stop().await;
}
