//! A flood: 200 pods of 25 releases failing at once in one namespace become one incident per
//! release, at most `room_per_minute` messages of their own and the rest folded into one
//! message, none dropped.

use std::time::Duration;

use labkube_testkit::fakekube::{FakeOptions, crash_looping_pod};
use labkube_testkit::ge_rig::{Rig, RigOptions};

use super::{alerts_sent, edits_of, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_failing_pods_are_one_message_per_release_within_the_cap() {
    let rig = Rig::with(RigOptions {
        alerts: Some(settings()),
        fake: FakeOptions {
            controllers: false,
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    // The watches are up once the cluster's node incident-free state is known; give them a
    // moment, then fail everything at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let releases: Vec<String> = (1..=25).map(|r| format!("ge-{r:02}")).collect();
    for r in &releases {
        for i in 0..8 {
            rig.fake.put(crash_looping_pod(
                "demo",
                &format!("{r}-{i}"),
                r,
                3,
                1,
                "Error",
            ));
        }
    }
    let folded = rig.wait_for("15 more incident(s) this minute").await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Each message as it reads now (incidents grow while the pods arrive).
    let own: Vec<String> = alerts_sent(&rig)
        .into_iter()
        .map(|(id, sent)| edits_of(&rig, &id).pop().unwrap_or(sent))
        .collect();
    assert_eq!(own.len(), 10, "the cap: {own:#?}");
    let folds: Vec<String> = rig
        .sent()
        .into_iter()
        .filter(|t| t.contains("more incident(s) this minute"))
        .collect();
    assert_eq!(folds.len(), 1, "one folded message, edited: {folds:#?}");
    let last_fold = rig
        .texts()
        .into_iter()
        .rfind(|t| t.contains("more incident(s) this minute"))
        .unwrap();
    assert!(
        last_fold.starts_with("15 more incident(s) this minute, past the cap of 10"),
        "{folded}"
    );
    assert!(
        own.iter().all(|t| t.contains(" 8 of 8 pods crash-looping")),
        "{own:#?}"
    );
    assert!(
        own.iter().all(|t| t.contains(" 8 of 8 pods crash-looping")),
        "{own:#?}"
    );
    for r in &releases {
        let needle = format!(": {r} in demo on lab-1: ");
        let times =
            own.iter().filter(|t| t.contains(&needle)).count() + last_fold.matches(&needle).count();
        assert_eq!(times, 1, "{r} told {times} times");
    }
    rig.stop().await;
}
