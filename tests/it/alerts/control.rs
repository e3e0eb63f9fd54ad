//! Control from chat: `/alerts` lists what is open, `/silence` keeps a GE quiet until it
//! expires or `/unsilence` ends it, operators only, audited, kept across restarts.

use std::time::{Duration, Instant};

use labkube::store::JobStore;

use super::{alert, alerts_sent, rig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_keeps_a_crash_loop_quiet_until_it_expires_and_alerts_lists_it_then() {
    let rig = rig(300).await;
    rig.run("/ge install orion ns=demo").await;
    rig.say("/silence orion 1m upgrading the broker").await;
    let set = rig
        .wait_for("silence #1: orion in demo on lab-1 until ")
        .await;
    assert!(
        set.contains("(1 min left), set by ada: upgrading the broker; /unsilence 1 ends it sooner"),
        "{set}"
    );
    let audit = rig.store.recent_audit(1).unwrap();
    assert_eq!(audit[0].command, "/silence orion 1m upgrading the broker");

    rig.fake.crash_image("fiware/orion", 1, "Error");
    let silenced_since = Instant::now();
    rig.say("/silence list").await;
    rig.wait_for("silence #1: orion in demo on lab-1 until")
        .await;
    // Quiet while the silence holds (it crash-loops all along)...
    while silenced_since.elapsed() < Duration::from_secs(50) {
        assert!(alerts_sent(&rig).is_empty(), "told during the silence");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // ...and told once it has expired.
    let (_, opened) = alert(&rig, "orion in demo on lab-1").await;
    assert!(opened.starts_with("alert #1 (warning)"), "{opened}");
    rig.say("/alerts").await;
    let listed = rig.wait_for("open incident(s):").await;
    assert!(
        listed.contains("alert #1 (warning): orion in demo on lab-1: 1 of 1 pods crash-looping"),
        "{listed}"
    );
    assert!(listed.contains("(open for "), "{listed}");
    assert!(!listed.contains("silence"), "the silence expired: {listed}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsilence_tells_what_is_open_at_once_and_viewers_may_only_look() {
    let rig = rig(300).await;
    rig.run("/ge install orion ns=demo").await;
    rig.refused(
        "vic",
        "/silence orion 2h",
        "/silence needs the operator role",
    )
    .await;
    rig.say("/silence node/fake-node-0 2h kernel update").await;
    rig.wait_for("silence #1: node fake-node-0 of lab-1 until")
        .await;
    rig.say("/silence orion 2h").await;
    rig.wait_for("silence #2: orion in demo on lab-1 until")
        .await;
    rig.say_as("vic", "/silence list").await;
    let listed = rig.wait_for("\nsilence #2: orion in demo on lab-1").await;
    assert!(
        listed.starts_with("silence #1: node fake-node-0 of lab-1 until "),
        "{listed}"
    );
    assert!(listed.contains("set by ada: kernel update\n"), "{listed}");

    rig.fake.crash_image("fiware/orion", 1, "Error");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(alerts_sent(&rig).is_empty(), "silenced");
    rig.say_as("vic", "/alerts").await;
    rig.wait_for("no open incidents on lab-1\n2 silences in force")
        .await;

    rig.refused("vic", "/unsilence 2", "/unsilence needs the operator role")
        .await;
    rig.say("/unsilence 9").await;
    rig.wait_for("there is no silence #9 in force; /silence list shows them")
        .await;
    rig.say("/unsilence 2").await;
    rig.wait_for("silence #2 ended: incidents of orion in demo on lab-1 are told again")
        .await;
    let (_, opened) = alert(&rig, "orion in demo on lab-1").await;
    assert!(opened.contains("crash-looping"), "{opened}");
    rig.stop().await;
}
