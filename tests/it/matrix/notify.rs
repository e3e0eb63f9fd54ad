//! Who the bot's messages notify, as a real Synapse decides it with its default push rules
//! (Matrix 1.7+): `.m.rule.suppress_notices` silences every `m.notice` before any mention rule
//! is read, so a bot that only sends notices never reaches anyone. A job's outcome and the
//! answer to a command are `m.text` replies that mention the person who asked
//! (`.m.rule.is_user_mention`: a highlight); the live progress message and its edits stay
//! quiet. Command hints in the bot's text are written with `!`, as commands are typed here. A
//! declined invite says why; an edited command is not run, and that is said once.

use labkube_testkit::conformance::{self, Platform};
use labkube_testkit::support::LogOnPanic;
use matrix_sdk::ruma::api::client::push::get_notifications;

use super::MatrixPlatform;

/// The events the homeserver notified the operator of, with whether each was a highlight.
pub(super) async fn notified(p: &MatrixPlatform) -> Vec<(String, bool)> {
    let r =
        p.op.client
            .send(get_notifications::v3::Request::new())
            .await
            .unwrap();
    r.notifications
        .iter()
        .map(|n| {
            let event: serde_json::Value = n.event.deserialize_as().unwrap();
            let highlight = n.actions.iter().any(|a| a.is_highlight());
            (event["event_id"].as_str().unwrap().to_string(), highlight)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_and_answers_notify_the_requester_and_progress_stays_quiet() {
    let p = MatrixPlatform::new(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.operator();
    let command = op.send("!selftest steps=3 ms=300").await;
    let outcome = conformance::wait_for(&*op, "the outcome", |m| {
        m.reply_to.as_deref() == Some(command.as_str()) && m.text.contains("succeeded in")
    })
    .await;
    let ack = conformance::wait_for(&*op, "the live progress message", |m| {
        m.reply_to.as_deref() == Some(command.as_str()) && m.id != outcome.id
    })
    .await;
    assert!(ack.edits > 0, "the progress message was edited: {ack:?}");
    let question = op.send("!whoami").await;
    let answer = conformance::wait_for(&*op, "the answer", |m| {
        m.reply_to.as_deref() == Some(question.as_str())
    })
    .await;
    // Hints are written as commands are typed on Matrix: with `!`.
    let typo = op.send("!jbo 1").await;
    let hint = conformance::wait_for(&*op, "the suggestion", |m| {
        m.reply_to.as_deref() == Some(typo.as_str())
    })
    .await;
    assert!(
        hint.text.contains("!job") && !hint.text.contains("/job"),
        "{}",
        hint.text
    );
    let notes = notified(&p).await;
    for (what, id) in [("the outcome", &outcome.id), ("the answer", &answer.id)] {
        assert!(
            notes.iter().any(|(n, highlight)| n == id && *highlight),
            "{what} did not notify the operator as a mention: {notes:?}"
        );
    }
    // Nothing else but the refusal of the typo: not the progress message, not its edits.
    assert!(
        notes
            .iter()
            .all(|(n, _)| *n == outcome.id || *n == answer.id || *n == hint.id),
        "the progress message or an edit notified: {notes:?} (progress message {})",
        ack.id
    );
}

/// An invite the bot declines says why, in the leave event the inviter's client shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_invite_says_why() {
    let p = MatrixPlatform::new(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let room = p.stranger_invite().await;
    let member = room.get_member_no_sync(&p.bot_id).await.unwrap().unwrap();
    assert_eq!(
        *member.membership(),
        matrix_sdk::ruma::events::room::member::MembershipState::Leave
    );
    let reason = member.event().reason();
    assert_eq!(
        reason,
        Some("labkube takes invites only from the people its config lists")
    );
}

/// With no `RUST_LOG`, the bot's log stays about the bot: a handled command adds a few lines of
/// its own, not kilobytes of the Matrix client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_log_is_quiet() {
    let mut p = MatrixPlatform::prepare(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    p.start_bot_logging("");
    p.wait_bot_joined().await;
    let op = p.operator();
    // Settled after the start: then five commands, answered.
    let first = op.send("!whoami").await;
    conformance::wait_for(&*op, "an answer", |m| {
        m.reply_to.as_deref() == Some(first.as_str())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let before = p.bot_log().len();
    for _ in 0..5 {
        let id = op.send("!whoami").await;
        conformance::wait_for(&*op, "an answer", |m| {
            m.reply_to.as_deref() == Some(id.as_str())
        })
        .await;
    }
    let log = p.bot_log();
    let added = &log[before..];
    let sdk: Vec<&str> = added.lines().filter(|l| l.contains("matrix_sdk")).collect();
    assert!(
        sdk.is_empty(),
        "the Matrix client's lines by default:\n{}",
        sdk.join("\n")
    );
    assert!(
        added.len() / 5 < 600,
        "{} bytes per command by default:\n{added}",
        added.len() / 5
    );
}

/// An edit that makes a message a command is not run; its author is told so once, in a reply
/// to the message, however often they edit it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_command_is_not_run_and_that_is_said_once() {
    let p = MatrixPlatform::new(false).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.operator();
    let typed = op.send("hello").await;
    op.edit(&typed, "!selftest steps=1 ms=10").await;
    let told = conformance::wait_for(&*op, "the notice", |m| {
        m.reply_to.as_deref() == Some(typed.as_str())
    })
    .await;
    assert_eq!(
        told.text,
        "edits are not run: to run !selftest steps=1 ms=10, send it as a new message"
    );
    op.edit(&typed, "!selftest steps=2 ms=10").await;
    let probe = op.send("!whoami").await;
    conformance::wait_for(&*op, "the answer after the second edit", |m| {
        m.reply_to.as_deref() == Some(probe.as_str())
    })
    .await;
    let msgs = op.bot_messages().await;
    let about: Vec<_> = msgs
        .iter()
        .filter(|m| m.reply_to.as_deref() == Some(typed.as_str()))
        .collect();
    assert_eq!(about.len(), 1, "told once: {msgs:?}");
    assert!(
        !msgs.iter().any(|m| m.text.contains("queued job")),
        "an edit ran: {msgs:?}"
    );
}
