//! Button presses are answered on the button, to the presser alone: a refused Cancel press is
//! an alert for the person who pressed (it was a message to the whole group), an accepted one
//! says what it did the same way, and a stranger's press gets an empty answer. The emulator
//! refuses an answer to a query it never delivered or one answered already, as Telegram does.

use serde_json::{Value, json};

use super::{GROUP, TelegramPlatform};
use labkube_testkit::conformance::tg_user::TgUser;
use labkube_testkit::conformance::{TestUser, wait_for};
use labkube_testkit::support::LogOnPanic;

/// A viewer: may read, may not cancel.
const VIEWER: i64 = 3003;

fn answers(calls: &[Value]) -> Vec<Value> {
    calls
        .iter()
        .filter(|c| c["method"] == "answercallbackquery")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presses_are_answered_on_the_button_to_the_presser_alone() {
    let extra =
        format!("[[users]]\nplatform = \"telegram\"\nid = \"{VIEWER}\"\nrole = \"viewer\"\n");
    let p = TelegramPlatform::new_with(super::SUITE_PACE_MS, &extra).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.op.clone();
    let viewer = TgUser::new(
        &p.api.url(),
        VIEWER,
        "Vera",
        false,
        json!({ "id": GROUP, "type": "supergroup", "title": "lab" }),
    );
    let id = op.send("/selftest steps=40 ms=500").await;
    let ack = wait_for(&*op, "acknowledging", |m| {
        m.reply_to.as_deref() == Some(id.as_str()) && m.original.contains("queued job #")
    })
    .await;
    let n: String = ack
        .original
        .split("queued job #")
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let data = format!("/cancel {n}");

    // The viewer's press is refused in an alert to the viewer; the group sees nothing of it.
    viewer.press(&ack.id, &data).await;
    let deadline = std::time::Instant::now() + labkube_testkit::conformance::WAIT;
    let refusal = loop {
        if let Some(a) = answers(&p.api.calls().await).into_iter().next() {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the press was never answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(refusal["status"], 200, "{refusal}");
    assert_eq!(refusal["show_alert"], true, "{refusal}");
    let text = refusal["text"].as_str().unwrap_or("");
    assert!(text.contains("viewer"), "{text}");
    assert!(text.chars().count() <= 200, "{text}");

    // The operator's press cancels; what it did is the answer on the button too.
    op.press(&ack.id, &data).await;
    wait_for(&*op, "stopping the job", |m| {
        m.text.contains(&format!("job #{n} ")) && m.text.contains("cancelled")
    })
    .await;
    let all = answers(&p.api.calls().await);
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1]["status"], 200, "{all:?}");
    assert_eq!(all[1]["show_alert"], true, "{all:?}");
    assert_ne!(all[0]["query"], all[1]["query"], "{all:?}");
    // Nothing about either press was posted to the group: every bot message replies to the
    // command, or is the outcome.
    let msgs = op.bot_messages().await;
    let posted: Vec<_> = msgs
        .iter()
        .filter(|m| m.reply_to.as_deref() == Some(ack.id.as_str()))
        .collect();
    assert!(
        posted.is_empty(),
        "a press answered in the group: {posted:?}"
    );
    let refused = msgs.iter().any(|m| m.text.contains("viewer"));
    assert!(!refused, "the refusal was posted: {msgs:?}");
}
