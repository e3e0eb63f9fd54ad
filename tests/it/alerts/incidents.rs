//! Crash loops, OOM kills and nodes NotReady: one message per incident, edited, closed.

use std::time::Duration;

use labkube::store::{JobState, JobStore};

use super::{alert, alerts_sent, edits_of, rig, shows};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_is_one_message_edited_as_it_goes_and_closed_when_the_pod_recovers() {
    let rig = rig(300).await;
    let (job, outcome) = rig.run("/ge install orion ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        alerts_sent(&rig).is_empty(),
        "a healthy install raises nothing"
    );

    rig.fake.crash_image("fiware/orion", 1, "Error");
    let (id, opened) = alert(&rig, "orion in demo on lab-1").await;
    assert!(
        opened.starts_with("alert #1 (warning): orion in demo on lab-1: 1 of 1 pods crash-looping"),
        "{opened}"
    );
    // It keeps crashing: the same message counts the restarts.
    let counted = shows(&rig, &id, "3 restarts in ").await;
    assert!(counted.contains("last exit 1 Error"), "{counted}");

    rig.fake.heal_image("fiware/orion");
    let closed = shows(&rig, &id, "closed").await;
    assert!(
        closed.starts_with("alert #1 closed: orion in demo on lab-1 recovered after ")
            && closed.contains(" (it was: 1 of 1 pods crash-looping, "),
        "{closed}"
    );
    // Quiet from then on, and never a second message for the same incident.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(alerts_sent(&rig).len(), 1, "{:#?}", alerts_sent(&rig));
    assert_eq!(edits_of(&rig, &id).last(), Some(&closed));
    assert!(
        (&*rig.store as &dyn JobStore)
            .incidents_on("lab-1")
            .unwrap()
            .is_empty(),
        "a closed incident leaves the store"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_killed_pod_names_the_kill() {
    let rig = rig(300).await;
    rig.run("/ge install orion ns=demo").await;
    rig.fake.crash_image("fiware/orion", 137, "OOMKilled");
    let (id, _) = alert(&rig, "orion in demo on lab-1").await;
    let text = shows(&rig, &id, "last exit 137 OOMKilled").await;
    assert!(text.contains("1 of 1 pods crash-looping"), "{text}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_going_not_ready_is_a_critical_incident_until_its_kubelet_is_back() {
    let rig = rig(150).await;
    rig.fake.stop_kubelet("fake-node-0");
    let (id, opened) = alert(&rig, "node fake-node-0").await;
    assert_eq!(
        opened,
        "alert #1 (critical): node fake-node-0 of lab-1: NotReady (NodeStatusUnknown: Kubelet stopped posting node status.)"
    );
    rig.fake.start_kubelet("fake-node-0");
    let closed = shows(&rig, &id, "closed").await;
    assert!(
        closed.starts_with("alert #1 closed: node fake-node-0 of lab-1 recovered after "),
        "{closed}"
    );
    assert_eq!(alerts_sent(&rig).len(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_job_changes_a_release_its_progress_speaks_and_no_alert_is_raised() {
    let rig = rig(150).await;
    rig.fake.crash_image("fiware/orion", 1, "Error");
    let (job, outcome) = rig.run("/ge install orion ns=demo").await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    let before_outcome: Vec<String> = rig
        .texts()
        .into_iter()
        .take_while(|t| !t.contains(&format!("job #{} ", job.id)) || !t.contains("failed"))
        .collect();
    assert!(
        !before_outcome.iter().any(|t| t.starts_with("alert #")),
        "an alert while the job ran: {before_outcome:#?}"
    );
    // The job is over and the pod still crashes: now it is an incident.
    let (_, opened) = alert(&rig, "orion in demo on lab-1").await;
    assert!(opened.contains("crash-looping"), "{opened}");
    rig.stop().await;
}
