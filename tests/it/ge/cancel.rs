//! `/cancel` while a GE job watches its rollout: an upgrade stops at once and is rolled back to
//! the last good revision; an install stops and stays as a failed revision.

use std::time::Duration;

use labkube::kube::release::{Action, Status};
use labkube::store::JobState;

use labkube_testkit::ge_rig::Rig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_an_upgrade_stops_the_watch_and_rolls_back() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    // `slow` pods become Ready only after 10 ready delays: slow enough to cancel mid-rollout.
    rig.fake.set_ready_delay(Duration::from_secs(2));
    rig.say("/ge upgrade orion version=slow").await;
    let id = rig.last_job();
    rig.wait_for(&format!(
        "job #{id} ge upgrade orion to slow in lab-1/demo: step 3/3 (rollout) running"
    ))
    .await;
    rig.fake.set_ready_delay(Duration::from_millis(150));
    rig.say(&format!("/cancel {id}")).await;
    let ack = rig.wait_for("stops watching its rollout now").await;
    assert!(ack.contains(&format!("job #{id}")), "{ack}");
    let job = rig.finished(id).await;
    assert_eq!(job.state, JobState::Cancelled);
    let outcome = rig
        .wait_for(&format!(
            "job #{id} ge upgrade orion to slow in lab-1/demo cancelled by ada"
        ))
        .await;
    assert!(
        outcome.contains("revision 2 stopped and rolled back: orion in demo is back on revision 1 (quay.io/fiware/orion:4.1.0)"),
        "{outcome}"
    );
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.0");
    let r = rig.release("demo", "orion").unwrap();
    assert!(
        matches!(&r.revision(2).unwrap().status, Status::Failed { reason } if reason.contains("cancelled")),
        "{:?}",
        r.revision(2)
    );
    let back = r.deployed().unwrap();
    assert_eq!(
        (back.number, &back.action),
        (3, &Action::Rollback { to: 1 })
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_an_install_stops_and_leaves_a_failed_revision() {
    let rig = Rig::start().await;
    rig.fake.set_ready_delay(Duration::from_secs(2));
    rig.say("/ge install orion ns=demo version=slow").await;
    let id = rig.last_job();
    rig.wait_for("(rollout) running").await;
    rig.say(&format!("/cancel {id}")).await;
    let job = rig.finished(id).await;
    assert_eq!(job.state, JobState::Cancelled);
    let outcome = rig.wait_for(" cancelled by ada").await;
    assert!(
        outcome.contains("stopped watching: orion in demo stays as revision 1 (failed: its rollout was cancelled with /cancel); /ge status orion shows its pods, /ge uninstall orion removes it"),
        "{outcome}"
    );
    rig.stop().await;
}
