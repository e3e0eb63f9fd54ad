//! `/kubeconfig` on a real Synapse: the kubeconfig goes to an encrypted direct room the bot
//! makes with the user (and uses again next time), never to the lab's room, which only hears
//! where it went.

use std::time::{Duration, Instant};

use labkube_testkit::conformance::{self, Platform, TestUser, WAIT};
use labkube_testkit::fakekube::{FakeKube, FakeOptions};
use labkube_testkit::support::{LogOnPanic, kubectl};
use matrix_sdk::RoomState;

use super::MatrixPlatform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_goes_to_an_encrypted_direct_room_made_once() {
    let fake = FakeKube::start(FakeOptions {
        tls: true,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let mut p = MatrixPlatform::prepare(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    p.add_cluster(&fake, "");
    p.start_bot().await;
    p.wait_bot_joined().await;
    let op = p.op.clone();
    let prefix = p.prefix();

    let asked = op
        .send(&format!("{prefix}kubeconfig cluster=lab-1 ttl=1h"))
        .await;
    let pointer = conformance::wait_for(&*op, "the pointer", |m| {
        m.reply_to.as_deref() == Some(asked.as_str())
    })
    .await;
    assert!(
        pointer
            .text
            .starts_with("sent a kubeconfig for lab-1 (namespace default, edit), valid until ")
            && pointer
                .text
                .ends_with(" to an encrypted direct room with you"),
        "{}",
        pointer.text
    );

    // The bot's invite: a direct, encrypted room; the user joins it and finds the file there.
    let deadline = Instant::now() + WAIT;
    let dm = loop {
        if let Some(r) = op.client.invited_rooms().into_iter().next() {
            break r;
        }
        assert!(Instant::now() < deadline, "no invite came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    dm.join().await.unwrap();
    let dm_id = dm.room_id().to_owned();
    // The invite said is_direct; the user's client records the room as direct once joined.
    let deadline = Instant::now() + WAIT;
    while !dm.is_direct().await.unwrap() {
        assert!(Instant::now() < deadline, "not a direct room");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        dm.latest_encryption_state().await.unwrap().is_encrypted(),
        "an encrypted room"
    );
    let deadline = Instant::now() + WAIT;
    let (_, content, bytes) = loop {
        if let Some(f) = op.bot_files_in(&dm_id).await.into_iter().next() {
            break f;
        }
        assert!(Instant::now() < deadline, "no file in the direct room");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(content["filename"], "kubeconfig-lab-1.yaml");
    assert!(
        content["file"]["url"].is_string(),
        "uploaded encrypted: {content}"
    );
    assert!(op.bot_files().await.is_empty(), "nothing in the lab's room");
    let kubeconfig = String::from_utf8(bytes).unwrap();
    let path = p.dir.path().join("mine");
    std::fs::write(&path, &kubeconfig).unwrap();
    let (ok, _, err) = kubectl(&path, &["get", "pods"]);
    assert!(ok, "{err}");

    // Asked again: the same direct room.
    let asked = op
        .send(&format!("{prefix}kubeconfig cluster=lab-1 ttl=1h"))
        .await;
    conformance::wait_for(&*op, "the second pointer", |m| {
        m.reply_to.as_deref() == Some(asked.as_str())
    })
    .await;
    let deadline = Instant::now() + WAIT;
    while op.bot_files_in(&dm_id).await.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the second file did not come to the same room"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let joined = op
        .client
        .joined_rooms()
        .into_iter()
        .filter(|r| r.state() == RoomState::Joined)
        .count();
    assert_eq!(joined, 2, "the lab's room and one direct room");
    assert!(op.client.invited_rooms().is_empty(), "no second invite");
}
