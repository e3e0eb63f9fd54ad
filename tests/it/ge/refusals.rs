//! Bad input and refusals change nothing: no job, no request that changes the cluster.

use std::time::{Duration, Instant};

use labkube::store::{JobState, JobStore};

use labkube_testkit::ge_rig::Rig;

async fn refused(rig: &Rig, user: &str, text: &str, needle: &str) {
    rig.refused(user, text, needle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_unauthorised_users_change_nothing() {
    let rig = Rig::start().await;
    refused(
        &rig,
        "ada",
        "/ge install orio ns=demo",
        "Did you mean orion",
    )
    .await;
    refused(&rig, "ada", "/ge install orion ns=Demo_1", "ns").await;
    refused(
        &rig,
        "ada",
        "/ge install orion ns=kube-system",
        "belongs to Kubernetes itself",
    )
    .await;
    refused(
        &rig,
        "ada",
        "/ge install orion ns=kube-flannel",
        "belongs to Kubernetes itself, to the cluster's network or storage, or to labkube",
    )
    .await;
    refused(
        &rig,
        "ada",
        "/ge install orion ns=labkube-access",
        "namespace labkube-access belongs to Kubernetes itself, to the cluster's network or storage, or to labkube",
    )
    .await;
    refused(&rig, "ada", "/ge install orion version=4.1.0;rm", "version").await;
    refused(&rig, "ada", "/ge install orion replicas=99", "replicas").await;
    refused(
        &rig,
        "ada",
        "/ge install orion cluster=lab-9",
        "there is no cluster named lab-9",
    )
    .await;
    refused(&rig, "vic", "/ge install orion", "needs the operator role").await;
    refused(&rig, "mallory", "/ge install orion", "not a labkube user").await;
    refused(
        &rig,
        "ada",
        "/ge upgrade orion version=4.1.1",
        "orion is not installed in demo",
    )
    .await;
    refused(
        &rig,
        "ada",
        "/rollback orion",
        "orion is not installed in demo",
    )
    .await;
    assert_eq!(rig.fake.mutations(), 0, "nothing was ever applied");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_fails_the_job_clearly_within_the_timeout() {
    let rig = Rig::start().await;
    rig.fake.pause().await;
    let started = Instant::now();
    let (job, outcome) = rig.run("/ge install orion").await;
    let took = started.elapsed();
    let JobState::Failed { reason } = &job.state else {
        panic!("{outcome}");
    };
    assert!(reason.contains("lab-1"), "{reason}");
    assert!(
        reason.contains("did not answer") || reason.contains("failed"),
        "{reason}"
    );
    // request_timeout_secs = 3 in the rig: the job gives up within a few of them, not after
    // the rollout timeout.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(rig.store.get(job.id).unwrap().unwrap().steps.is_empty());
    rig.fake.resume().await.unwrap();
    let (job, outcome) = rig.run("/ge install orion").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    rig.stop().await;
}
