//! An alert on a real Synapse: its first message notifies the room's members (an `m.text`,
//! which the default underride rule `.m.rule.message` notifies; every other bot message is a
//! quiet `m.notice`), and its edits, as it evolves and when it closes, notify nobody.

use labkube_testkit::conformance::{self, Platform};
use labkube_testkit::fakekube::{FakeKube, FakeOptions, crash_looping_pod};
use labkube_testkit::support::LogOnPanic;

use super::MatrixPlatform;
use super::notify::notified;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_notifies_the_room_once_and_its_edits_stay_quiet() {
    let fake = FakeKube::start(FakeOptions {
        controllers: false,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let mut p = MatrixPlatform::prepare(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    p.add_cluster(
        &fake,
        "[alerts]\nrecovered_after_secs = 1\nrescan_secs = 1\n",
    );
    p.start_bot().await;
    p.wait_bot_joined().await;
    let op = p.operator();

    // Let the bot's watches list the cluster, then a pod starts crash-looping.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    fake.put(crash_looping_pod(
        "demo",
        "orion-0",
        "orion",
        1,
        137,
        "OOMKilled",
    ));
    let alert = conformance::wait_for(&*op, "the alert", |m| {
        m.text
            .starts_with("alert #1 (warning): orion in demo on lab-1")
    })
    .await;
    // It evolves (three more restarts), then recovers: two edits of the same message.
    fake.put(crash_looping_pod(
        "demo",
        "orion-0",
        "orion",
        4,
        137,
        "OOMKilled",
    ));
    conformance::wait_for(&*op, "the alert edited", |m| {
        m.id == alert.id && m.text.contains("4 restarts")
    })
    .await;
    let mut healthy = crash_looping_pod("demo", "orion-0", "orion", 4, 137, "OOMKilled");
    healthy["status"]["conditions"][0]["status"] = "True".into();
    healthy["status"]["containerStatuses"][0]["ready"] = true.into();
    healthy["status"]["containerStatuses"][0]["state"] =
        serde_json::json!({ "running": { "startedAt": "2026-12-07T10:00:00Z" } });
    fake.put(healthy);
    let closed = conformance::wait_for(&*op, "the alert closed", |m| {
        m.id == alert.id && m.text.starts_with("alert #1 closed")
    })
    .await;
    assert!(closed.edits >= 2, "{closed:?}");

    let notes = notified(&p).await;
    assert!(
        notes.iter().any(|(n, _)| *n == alert.id),
        "the alert did not notify the room: {notes:?}"
    );
    assert_eq!(
        notes.len(),
        1,
        "only the alert's first message notifies, not its edits: {notes:?}"
    );
}
