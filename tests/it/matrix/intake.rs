//! Fair intake on Matrix: a stranger in a room of two with the bot (one the bot had joined)
//! gets one onboarding answer naming their Matrix id, however often they write (in a room with
//! others they get nothing: `conformance::stranger_ignored`).

use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::member::MembershipState;

use super::{MatrixPlatform, membership};
use labkube_testkit::conformance::matrix_user::{MatrixUser, login};
use labkube_testkit::conformance::{Platform, TestUser, wait_for};
use labkube_testkit::support::LogOnPanic;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_alone_with_the_bot_gets_one_onboarding_answer() {
    let mut p = MatrixPlatform::prepare(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let url = p.synapse.url();
    // A second lab room, with the bot and the stranger; the operator leaves it later.
    let mut req = CreateRoom::new();
    req.preset = Some(RoomPreset::PrivateChat);
    req.invite = vec![p.bot_id.clone(), "@stranger:localhost".try_into().unwrap()];
    let room = p.op.client.create_room(req).await.unwrap();
    let room_id = room.room_id().to_owned();
    let config = p.dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[[rooms]]\nplatform = \"matrix\"\nid = \"{room_id}\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let client = login(&url, "stranger", "stranger-password").await;
    client.join_room_by_id(&room_id).await.unwrap();
    let stranger = MatrixUser::watch(client, &room_id, p.bot_id.as_str());
    p.start_bot().await;
    p.wait_bot_joined().await;
    let is_join = |m: &MembershipState| *m == MembershipState::Join;
    membership(&room, &p.bot_id, is_join, "join the second room").await;

    // The operator leaves: the bot and the stranger are alone in the room.
    room.leave().await.unwrap();
    let first = stranger.send("!help").await;
    let again = stranger.send("!selftest").await;
    let onboarding = wait_for(&*stranger, "onboarding the stranger", |m| {
        m.reply_to.as_deref() == Some(&first)
    })
    .await;
    assert!(
        onboarding.text.contains("user id is @stranger:localhost")
            && onboarding.text.contains("id = \"@stranger:localhost\""),
        "{}",
        onboarding.text
    );
    // The lab's room is answered after all of it.
    let op = p.operator();
    let probe = op.send("!whoami").await;
    wait_for(&*op, "answering the lab", |m| {
        m.reply_to.as_deref() == Some(&probe)
    })
    .await;
    let all = stranger.bot_messages().await;
    assert_eq!(all.len(), 1, "one onboarding answer only: {all:?}");
    assert!(all.iter().all(|m| m.reply_to.as_deref() != Some(&again)));
}
