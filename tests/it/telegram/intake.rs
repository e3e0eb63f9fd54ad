//! Fair intake on Telegram: rooms are answered side by side, strangers get nothing but one
//! onboarding answer in their private chat, rate limits and the per-room job cap answer once
//! and clearly, and a command Telegram held while the bot was down is not run.
//! Every check is on order or content, never on speed.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::{GROUP, OP, STRANGER, SUITE_PACE_MS, TelegramPlatform};
use labkube_testkit::conformance::tg_user::TgUser;
use labkube_testkit::conformance::{BotMessage, Platform, TestUser, WAIT, wait_for};
use labkube_testkit::support::LogOnPanic;

/// Another lab member, a viewer (see [`SECOND_USER`]).
const VIEWER: i64 = 3003;
/// The config lines that make [`VIEWER`] a viewer.
const SECOND_USER: &str = "[[users]]\nplatform = \"telegram\"\nid = \"3003\"\nrole = \"viewer\"\n";

async fn replies_to(u: &TgUser, id: &str) -> Vec<BotMessage> {
    let msgs = u.bot_messages().await;
    msgs.into_iter()
        .filter(|m| m.reply_to.as_deref() == Some(id))
        .collect()
}

async fn answer(u: &TgUser, id: &str, what: &str) -> BotMessage {
    wait_for(u, what, |m| m.reply_to.as_deref() == Some(id)).await
}

fn in_group(p: &TelegramPlatform, id: i64, name: &str) -> Arc<TgUser> {
    let group = json!({ "id": GROUP, "type": "supergroup", "title": "lab" });
    Arc::new(TgUser::new(&p.api.url(), id, name, false, group))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_waiting_out_flood_control_does_not_hold_up_another_room() {
    let p = TelegramPlatform::new(SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    // The first answer (the private chat's) meets flood control and waits 8 s.
    p.api.fail("sendMessage", 1, 8).await;
    let private = p.op_private.send("/whoami").await;
    let deadline = Instant::now() + WAIT;
    while !p.api.calls().await.iter().any(|c| c["status"] == 429) {
        assert!(Instant::now() < deadline, "the bot never tried to answer");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let group = p.op.send("/whoami").await;
    answer(&p.op, &group, "answering the group").await;
    let waiting = replies_to(&p.op_private, &private).await;
    assert!(
        waiting.is_empty(),
        "the group was answered only after the private chat: {waiting:?}"
    );
    answer(
        &p.op_private,
        &private,
        "answering the private chat after the wait",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_gets_one_onboarding_answer_in_private_and_nothing_elsewhere() {
    let p = TelegramPlatform::new(SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let url = p.api.url();
    let own = json!({ "id": STRANGER, "type": "private", "first_name": "Sam" });
    let private = TgUser::new(&url, STRANGER, "Sam", false, own);
    let other = json!({ "id": -100777, "type": "group", "title": "not the lab" });
    let elsewhere = TgUser::new(&url, STRANGER, "Sam", false, other);
    // A flood: in their private chat, in a group not in the config, in the lab's group.
    let mut sent = Vec::new();
    for i in 0..10 {
        sent.push(private.send(&format!("/selftest steps={i} ms=10")).await);
        private.send("/nonsense").await;
        private.send("hello").await;
        elsewhere.send("/help").await;
        sent.push(p.stranger.send("/cluster list").await);
    }
    // The lab is answered, and its group handles messages in order: the stranger's there were
    // passed over by then.
    let probe = p.op.send("/whoami").await;
    answer(&p.op, &probe, "answering the lab during the flood").await;
    let onboarding = wait_for(&private, "onboarding the stranger", |_| true).await;
    assert!(
        onboarding.text.contains(&format!("user id is {STRANGER}"))
            && onboarding.text.contains("[[users]]")
            && onboarding.text.contains(&format!("id = \"{STRANGER}\"")),
        "{}",
        onboarding.text
    );
    // Another message after the onboarding answer, then something the lab sees after it.
    private.send("/help").await;
    let probe = p.op.send("/whoami").await;
    answer(&p.op, &probe, "answering the lab again").await;
    let all = private.bot_messages().await;
    assert_eq!(all.len(), 1, "one onboarding answer only: {all:?}");
    let there = elsewhere.bot_messages().await;
    assert!(
        there.is_empty(),
        "a group not in the config was answered: {there:?}"
    );
    for id in sent.iter().skip(1).step_by(2) {
        let r = replies_to(&p.stranger, id).await;
        assert!(r.is_empty(), "the stranger was answered in the lab: {r:?}");
    }
    let jobs = p.op.send("/jobs all").await;
    let listing = answer(&p.op, &jobs, "listing jobs").await;
    assert!(!listing.text.contains("selftest"), "{}", listing.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_over_the_rate_limit_is_told_once() {
    let extra = format!("[intake]\nuser_burst = 2\nuser_per_minute = 1\n{SECOND_USER}");
    let p = TelegramPlatform::new_with(SUITE_PACE_MS, &extra).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(p.op.send("/whoami").await);
    }
    // The viewer's command comes after the operator's in the group's order.
    let viewer = in_group(&p, VIEWER, "Vera");
    let probe = viewer.send("/whoami").await;
    answer(&viewer, &probe, "answering another user in the room").await;
    let mut answers = Vec::new();
    for id in &ids {
        answers.push(replies_to(&p.op, id).await);
    }
    let counts: Vec<usize> = answers.iter().map(Vec::len).collect();
    assert_eq!(counts, [1, 1, 1, 0, 0, 0], "{answers:?}");
    let slow = &answers[2][0].text;
    assert!(
        slow.starts_with("slow down")
            && slow.contains("2 commands at once")
            && slow.contains("1 a minute"),
        "{slow}"
    );
    assert!(!answers[1][0].text.contains("slow down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_at_its_job_cap_is_refused_and_cancel_still_works() {
    let p = TelegramPlatform::new_with(SUITE_PACE_MS, "[intake]\nroom_jobs = 2\n").await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let mut acks = Vec::new();
    for _ in 0..2 {
        let id = p.op.send("/selftest steps=50 ms=1000").await;
        let ack = answer(&p.op, &id, "acknowledging").await;
        assert!(ack.original.contains("queued job #"), "{}", ack.original);
        acks.push(ack);
    }
    let id = p.op.send("/selftest steps=1 ms=10").await;
    let refused = answer(&p.op, &id, "refusing a third job").await;
    assert!(
        refused
            .text
            .contains("room limit: 2 jobs queued or running")
            && refused.text.contains("/cancel"),
        "{}",
        refused.text
    );
    let id = p.op.send("/cancel 1").await;
    let cancel = answer(&p.op, &id, "cancelling").await;
    assert!(cancel.text.contains("#1"), "{}", cancel.text);
    wait_for(&*p.op, "job 1 ending", |m| {
        m.text.contains("job #1 ") && m.text.contains("cancelled")
    })
    .await;
    let id = p.op.send("/selftest steps=1 ms=10").await;
    let again = answer(&p.op, &id, "queueing once a job ended").await;
    assert!(
        again.original.contains("queued job #3"),
        "{}",
        again.original
    );
    let id = p.op.send("/cancel 2").await;
    answer(&p.op, &id, "cancelling the other").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_held_while_the_bot_was_down_is_not_run() {
    let mut p = TelegramPlatform::prepare(SUITE_PACE_MS);
    let _log = LogOnPanic::in_dir(p.dir.path());
    // Sent 15 minutes ago, and 5: Telegram kept both while the bot was away.
    let old = p.op.send_sent_ago("/selftest steps=1 ms=10", 15 * 60).await;
    let recent = p.op.send_sent_ago("/whoami", 5 * 60).await;
    p.start_bot().await;
    let refused = answer(&p.op, &old, "answering the old command").await;
    assert_eq!(refused.text, "not run: sent 15 minutes ago, send it again");
    let ran = answer(&p.op, &recent, "answering the recent one").await;
    assert!(ran.text.contains(&OP.to_string()), "{}", ran.text);
    let jobs = p.op.send("/jobs all").await;
    let listing = answer(&p.op, &jobs, "listing jobs").await;
    assert!(!listing.text.contains("selftest"), "{}", listing.text);
}
