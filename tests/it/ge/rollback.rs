//! Failed upgrades roll back on their own; `/rollback` returns to the previous good revision
//! or to `to=`; with no history it says so and changes nothing.

use labkube::kube::release::{Action, Status};
use labkube::store::JobState;

use labkube_testkit::ge_rig::{Rig, RigOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upgrade_rolls_back_automatically_and_says_so() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    let (job, outcome) = rig.run("/ge upgrade orion version=broken").await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    assert!(outcome.contains("revision 2 of orion failed"), "{outcome}");
    assert!(
        outcome.contains("ImagePullBackOff") || outcome.contains("ErrImagePull"),
        "{outcome}"
    );
    assert!(
        outcome.contains("Rolled back automatically: orion in demo is back on revision 1 (quay.io/fiware/orion:4.1.0)"),
        "{outcome}"
    );
    assert!(outcome.contains("pods ready in"), "{outcome}");
    // The cluster's own words come last: the kubelet's event says why the pull failed.
    assert!(
        outcome.contains("\nthe cluster's newest warnings:\n  pod/orion-"),
        "{outcome}"
    );
    assert!(
        outcome.contains("Failed: Failed to pull image \"quay.io/fiware/orion:broken\""),
        "{outcome}"
    );
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.0");
    let r = rig.release("demo", "orion").unwrap();
    assert!(matches!(
        r.revision(2).unwrap().status,
        Status::Failed { .. }
    ));
    let back = r.deployed().unwrap();
    assert_eq!(back.number, 3);
    assert_eq!(back.action, Action::AutoRollback { to: 1, failed: 2 });
    // While it was stuck, the live message named the pod and why, not only counts.
    assert!(
        rig.texts()
            .iter()
            .any(|t| t.contains("waiting for pod orion-")
                && (t.contains("ImagePullBackOff") || t.contains("ErrImagePull"))),
        "{:#?}",
        rig.texts()
    );
    // `/job N` shows the step that failed as failed, with the reason, not as "not run".
    rig.say(&format!("/job {}", job.id)).await;
    let shown = rig.wait_for("\nrequested by ada").await;
    assert!(
        shown.contains("3. rollout: step 3/3 (rollout) failed: revision 2 of orion failed"),
        "{shown}"
    );
    assert!(!shown.contains("not run"), "{shown}");
    let jobs = rig.last_job();
    rig.say("/rollback orion to=2").await;
    rig.wait_for("revision 2 of orion never rolled out").await;
    assert_eq!(
        rig.last_job(),
        jobs,
        "a failed revision is no rollback target"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auto_rollback_off_a_failed_upgrade_stays_and_says_how_to_roll_back() {
    let rig = Rig::with(RigOptions {
        auto_rollback: false,
        ..Default::default()
    })
    .await;
    rig.run("/ge install orion").await;
    let (job, outcome) = rig.run("/ge upgrade orion version=badconfig").await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    assert!(outcome.contains("CreateContainerConfigError"), "{outcome}");
    assert!(
        outcome.contains("automatic rollback is off, /rollback orion returns it to revision 1"),
        "{outcome}"
    );
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:badconfig");
    let (job, outcome) = rig.run("/rollback orion").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome.contains("orion in demo rolled back to revision 1 (quay.io/fiware/orion:4.1.0)"),
        "{outcome}"
    );
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.0");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_rollback_to_the_previous_and_to_a_chosen_revision() {
    let rig = Rig::start().await;
    rig.run("/ge install orion").await;
    rig.run("/ge upgrade orion version=4.1.1").await;
    rig.run("/ge upgrade orion version=4.2.0").await;
    let (job, outcome) = rig.run("/rollback orion").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome.contains("orion in demo rolled back to revision 2 (quay.io/fiware/orion:4.1.1): 1/1 pods ready in"),
        "{outcome}"
    );
    assert!(outcome.contains("(recorded as revision 4)"), "{outcome}");
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.1");

    let (job, outcome) = rig.run("/ge rollback orion to=1").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome.contains("rolled back to revision 1 (quay.io/fiware/orion:4.1.0)"),
        "{outcome}"
    );
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.0");
    assert_eq!(
        rig.deployment_revision("demo", "orion"),
        "5",
        "like kubectl rollout undo, the old ReplicaSet comes back under a new revision"
    );

    let jobs = rig.last_job();
    let mutations = rig.fake.mutations();
    rig.say("/rollback orion to=42").await;
    rig.wait_for("has no revision 42 in its history").await;
    rig.say("/rollback orion to=5").await;
    rig.wait_for("already runs revision 5").await;
    assert_eq!(rig.last_job(), jobs, "refusals queue nothing");
    assert_eq!(rig.fake.mutations(), mutations, "and change nothing");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_with_no_earlier_revision_changes_nothing() {
    let rig = Rig::start().await;
    rig.run("/ge install orion").await;
    let jobs = rig.last_job();
    let mutations = rig.fake.mutations();
    rig.say("/rollback orion").await;
    let answer = rig
        .wait_for("orion in demo has no earlier revision to roll back to")
        .await;
    assert!(answer.contains("nothing was changed"), "{answer}");
    assert_eq!(rig.last_job(), jobs);
    assert_eq!(rig.fake.mutations(), mutations);
    rig.stop().await;
}

/// A StatefulSet is not repaired by reverting its template: the crash-looping pod of the bad
/// revision must go (the strict fake's controller waits as the real one does), so the automatic
/// rollback deletes it, and MongoDB is Ready again on the good revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_mongodb_upgrade_is_rolled_back_and_ready_again() {
    let rig = Rig::start().await;
    let (job, outcome) = rig.run("/ge install mongodb ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    let (job, outcome) = rig.run("/ge upgrade mongodb version=crash").await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    assert!(
        outcome.contains("revision 2 of mongodb failed"),
        "{outcome}"
    );
    assert!(outcome.contains("CrashLoopBackOff"), "{outcome}");
    assert!(
        outcome.contains(
            "Rolled back automatically: mongodb in demo is back on revision 1 (mongo:8.0.26)"
        ),
        "{outcome}"
    );
    assert!(outcome.contains("1/1 pods ready in"), "{outcome}");
    assert!(outcome.contains("after replacing mongodb-0"), "{outcome}");
    let r = rig.release("demo", "mongodb").unwrap();
    assert!(matches!(
        r.revision(2).unwrap().status,
        Status::Failed { .. }
    ));
    assert_eq!(r.deployed().unwrap().number, 3);
    let sts = rig
        .fake
        .object("apps/v1", "StatefulSet", Some("demo"), "mongodb")
        .unwrap();
    let status = &sts["status"];
    assert_eq!(status["readyReplicas"], 1, "{sts}");
    assert_eq!(status["currentRevision"], status["updateRevision"], "{sts}");
    let pod = rig
        .fake
        .object("v1", "Pod", Some("demo"), "mongodb-0")
        .unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["image"], "mongo:8.0.26",
        "the pod runs the good image again"
    );
    // The data claim outlived the forced replacement.
    assert!(
        rig.fake
            .object(
                "v1",
                "PersistentVolumeClaim",
                Some("demo"),
                "data-mongodb-0"
            )
            .is_some()
    );
    rig.stop().await;
}

/// A revision whose StatefulSet differs in a field Kubernetes keeps fixed (here revision 1 as an
/// older catalogue stored it, with another data volume size) is refused in plain words, and the
/// dry run before the apply leaves every object as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_a_fixed_statefulset_field_is_refused_and_changes_nothing() {
    let rig = Rig::start().await;
    rig.run("/ge install mongodb").await;
    let (job, outcome) = rig.run("/ge upgrade mongodb version=8.0.25").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    let mut release = rig.release("demo", "mongodb").unwrap();
    let first = release.revision_mut(1).unwrap();
    for obj in &mut first.manifests {
        if obj["kind"] == "StatefulSet" {
            obj["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
                serde_json::json!("50Gi");
        }
    }
    release.save(&*rig.store, 10).unwrap();
    let mutations = rig.fake.mutations();
    let (job, outcome) = rig.run("/rollback mongodb").await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    assert!(
        outcome.contains("statefulset/mongodb cannot be changed this way: Kubernetes lets a StatefulSet change only its replicas, pod template and update strategy"),
        "{outcome}"
    );
    assert!(outcome.contains("Nothing was changed"), "{outcome}");
    assert!(!outcome.contains("422"), "{outcome}");
    let sts = rig
        .fake
        .object("apps/v1", "StatefulSet", Some("demo"), "mongodb")
        .unwrap();
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"], "mongo:8.0.25",
        "the live StatefulSet is untouched"
    );
    assert_eq!(rig.fake.mutations(), mutations, "nothing was written");
    let release = rig.release("demo", "mongodb").unwrap();
    assert!(
        matches!(release.revision(3).unwrap().status, Status::Failed { .. }),
        "the refused revision is recorded as failed, not left pending"
    );
    assert_eq!(release.deployed().unwrap().number, 2);
    rig.stop().await;
}
