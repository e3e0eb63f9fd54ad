//! What is Telegram's own: the Cancel button (authorised and not), flood control (HTTP 429),
//! `/cmd@botname` in a group, other bots, the command menu, HTML, per-chat edit pacing in a
//! private chat, and commands sent while the bot was down.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{GROUP, TelegramPlatform};
use labkube_testkit::conformance::tg_user::TgUser;
use labkube_testkit::conformance::{BotMessage, Platform, TestUser, WAIT, wait_for};
use labkube_testkit::support::LogOnPanic;
use labkube_testkit::tgapi::BOT_USERNAME;

fn job_number(m: &BotMessage) -> String {
    let rest = m.text.split("job #").nth(1).unwrap_or("");
    rest.chars().take_while(char::is_ascii_digit).collect()
}

/// Waits for the acknowledgement of command `id`.
async fn ack_of(u: &TgUser, id: &str) -> BotMessage {
    wait_for(u, "acknowledging", |m| {
        m.reply_to.as_deref() == Some(id) && m.original.contains("queued job #")
    })
    .await
}

fn of(calls: &[Value], method: &str) -> Vec<Value> {
    calls
        .iter()
        .filter(|c| c["method"] == method)
        .cloned()
        .collect()
}

/// Waits until the buttons under message `id` satisfy `pred`.
async fn wait_buttons(
    u: &TgUser,
    id: &str,
    what: &str,
    pred: impl Fn(&[(String, String)]) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        let b = u.buttons(id).await;
        if pred(&b) {
            return;
        }
        assert!(Instant::now() < deadline, "the buttons never {what}: {b:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_button_ignores_a_stranger_and_cancels_for_the_operator() {
    let p = TelegramPlatform::new(super::SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.op.clone();
    let id = op.send("/selftest steps=40 ms=500").await;
    let ack = ack_of(&op, &id).await;
    let n = job_number(&ack);
    let data = format!("/cancel {n}");
    assert_eq!(
        op.buttons(&ack.id).await,
        vec![("Cancel".to_string(), data.clone())]
    );

    // A stranger's press gets nothing (not even a refusal) and changes nothing.
    p.stranger.press(&ack.id, &data).await;
    // The job goes on, its button still there while it runs.
    let before = op
        .bot_messages()
        .await
        .into_iter()
        .find(|m| m.id == ack.id)
        .unwrap()
        .edits;
    wait_for(&*op, "progress after the refusal", |m| {
        m.id == ack.id && m.edits > before && m.text.contains("running")
    })
    .await;
    assert_eq!(op.buttons(&ack.id).await.len(), 1);

    op.press(&ack.id, &data).await;
    wait_for(&*op, "stopping the job", |m| {
        m.text.contains(&format!("job #{n} ")) && m.text.contains("cancelled")
    })
    .await;
    let answered: Vec<_> = op
        .bot_messages()
        .await
        .into_iter()
        .filter(|m| m.text.contains("labkube user") || m.text.contains("does not take"))
        .collect();
    assert!(
        answered.is_empty(),
        "the stranger was answered: {answered:?}"
    );
    wait_buttons(&op, &ack.id, "went away after the job ended", |b| {
        b.is_empty()
    })
    .await;

    // Each press was answered promptly after the bot received it.
    let calls = p.api.calls().await;
    let answers = of(&calls, "answercallbackquery");
    assert_eq!(answers.len(), 2, "{answers:?}");
    for a in &answers {
        let t = a["t"].as_f64().unwrap();
        let got = of(&calls, "getupdates")
            .iter()
            .filter(|g| g["delivered"].as_array().is_some_and(|d| !d.is_empty()))
            .filter_map(|g| g["done"].as_f64())
            .filter(|d| *d <= t)
            .fold(0.0, f64::max);
        assert!(
            t - got < 1000.0,
            "a press was answered {} ms after delivery",
            t - got
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_is_waited_out_for_sends_and_edits() {
    let p = TelegramPlatform::new(super::SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.op.clone();
    p.api.fail("sendMessage", 1, 2).await;
    let started = Instant::now();
    let id = op.send("/whoami").await;
    wait_for(&*op, "answering after the wait", |m| {
        m.reply_to.as_deref() == Some(&id)
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retry_after was not honoured"
    );
    let replies = op
        .bot_messages()
        .await
        .into_iter()
        .filter(|m| m.reply_to.as_deref() == Some(&id))
        .count();
    assert_eq!(replies, 1);

    p.api.fail("editMessageText", 2, 1).await;
    let id = op.send("/selftest steps=3 ms=300").await;
    let ack = ack_of(&op, &id).await;
    wait_for(&*op, "the final edit despite 429s", |m| {
        m.id == ack.id && m.text.contains("3/3")
    })
    .await;
    let calls = p.api.calls().await;
    let limited = calls.iter().filter(|c| c["status"] == 429).count();
    assert_eq!(limited, 3, "every injected 429 was met");
    assert!(p.bot_log().contains("flood control"), "{}", p.bot_log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commands_by_name_other_bots_menu_and_html() {
    let mut p = TelegramPlatform::new(super::SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.op.clone();
    let ours = op.send(&format!("/whoami@{BOT_USERNAME}")).await;
    let m = wait_for(&*op, "answering /whoami@bot", |m| {
        m.reply_to.as_deref() == Some(&ours)
    })
    .await;
    assert!(m.text.contains("admin"), "{}", m.text);
    let theirs = op.send("/whoami@some_other_bot").await;
    let bot = TgUser::new(
        &p.api.url(),
        3003,
        "Robo",
        true,
        json!({ "id": GROUP, "type": "supergroup", "title": "lab" }),
    );
    let from_bot = bot.send("/help").await;
    let probe = op.send("/ge catalog").await;
    let catalog = wait_for(&*op, "answering the probe", |m| {
        m.reply_to.as_deref() == Some(&probe)
    })
    .await;
    let msgs = op.bot_messages().await;
    for skipped in [&theirs, &from_bot] {
        assert!(
            !msgs.iter().any(|m| m.reply_to.as_deref() == Some(skipped)),
            "answered {skipped}: {msgs:?}"
        );
    }
    // HTML: the catalogue's indented lines in <pre>, nothing else unescaped.
    let raw = op.records().await;
    let html = raw
        .iter()
        .find(|r| r["messageId"].as_i64().map(|i| i.to_string()) == Some(catalog.id.clone()))
        .unwrap();
    assert_eq!(html["message"]["parse_mode"], "HTML", "{html}");
    assert!(
        html["message"]["text"]
            .as_str()
            .unwrap()
            .contains("<pre>  cratedb"),
        "{html}"
    );
    for r in &raw {
        let t = r["message"]["text"]
            .as_str()
            .unwrap_or("")
            .replace("<pre>", "")
            .replace("</pre>", "");
        assert!(!t.contains('<') && !t.contains('>'), "unescaped: {t}");
    }
    let calls = p.api.calls().await;
    let menu = of(&calls, "setmycommands");
    let commands = menu
        .first()
        .map(|c| c["commands"].clone())
        .unwrap_or_default();
    let words: Vec<&str> = commands
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["command"].as_str())
        .collect();
    for w in ["cluster", "ge", "rollback", "jobs", "cancel", "help"] {
        assert!(words.contains(&w), "{w} not in the menu {words:?}");
    }
    p.terminate_bot();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_chat_edits_are_paced_and_downtime_commands_run_once() {
    // Telegram's own limit: one change a second in a private chat.
    let mut p = TelegramPlatform::new(1000).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let me = p.op_private.clone();
    let id = me.send("/selftest steps=10 ms=250").await;
    let ack = ack_of(&me, &id).await;
    wait_for(&*me, "the outcome", |m| {
        m.reply_to.as_deref() == Some(&id) && m.text.contains("succeeded in")
    })
    .await;
    wait_for(&*me, "the final edit", |m| {
        m.id == ack.id && m.text.contains("10/10")
    })
    .await;
    let calls = p.api.calls().await;
    let chat = me.chat_id().to_string();
    let changes: Vec<f64> = calls
        .iter()
        .filter(|c| c["status"] == 200 && c["chat"].to_string().trim_matches('"') == chat)
        .filter(|c| c["method"] == "editmessagetext" || c["method"] == "sendmessage")
        .map(|c| c["t"].as_f64().unwrap())
        .collect();
    let edits = of(&calls, "editmessagetext").len();
    assert!(edits >= 2, "{edits} edits");
    // Each edit waits a second after the chat's previous message or edit.
    let edit_times: Vec<f64> = calls
        .iter()
        .filter(|c| {
            c["method"] == "editmessagetext" && c["chat"].to_string().trim_matches('"') == chat
        })
        .map(|c| c["t"].as_f64().unwrap())
        .collect();
    for t in edit_times {
        let before = changes
            .iter()
            .filter(|c| **c < t)
            .fold(0.0, |a: f64, c| a.max(*c));
        assert!(
            t - before >= 950.0,
            "an edit {} ms after the previous change",
            t - before
        );
    }

    // A command sent while the bot is down runs once when it is back; nothing runs twice.
    p.kill_bot().await;
    let missed = me.send("/selftest steps=1 ms=10").await;
    p.start_bot().await;
    wait_for(&*me, "running the missed command", |m| {
        m.reply_to.as_deref() == Some(&missed) && m.text.contains("succeeded in")
    })
    .await;
    p.kill_bot().await;
    p.start_bot().await;
    let probe = me.send("/whoami").await;
    wait_for(&*me, "answering after two restarts", |m| {
        m.reply_to.as_deref() == Some(&probe)
    })
    .await;
    let msgs = me.bot_messages().await;
    let acks = msgs
        .iter()
        .filter(|m| m.original.contains("queued job #"))
        .count();
    assert_eq!(acks, 2, "{msgs:?}");
}

/// SIGKILL after the command was stored but before it was answered (the answer is held by
/// flood control): the offset was not advanced, so Telegram delivers the command again, the
/// dedupe recognises it, the job runs once and the person gets an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_answering_the_command_is_redelivered_not_rerun() {
    let mut p = TelegramPlatform::new(super::SUITE_PACE_MS).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.op.clone();
    p.api.fail("sendMessage", 1, 8).await;
    let id = op.send("/selftest steps=2 ms=100").await;
    let deadline = Instant::now() + WAIT;
    while !p.api.calls().await.iter().any(|c| c["status"] == 429) {
        assert!(Instant::now() < deadline, "the bot never tried to answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.kill_bot().await;
    p.start_bot().await;
    let again = wait_for(&*op, "answering the redelivered command", |m| {
        m.reply_to.as_deref() == Some(&id)
    })
    .await;
    assert!(
        again.text.contains("already handled") && again.text.contains("job #1"),
        "{}",
        again.text
    );
    wait_for(&*op, "finishing the job", |m| {
        m.text.contains("job #1 ") && m.text.contains("succeeded in")
    })
    .await;
    let msgs = op.bot_messages().await;
    assert!(!msgs.iter().any(|m| m.text.contains("job #2")), "{msgs:?}");
}

/// An answer longer than Telegram's 4096 characters arrives split between lines, the first
/// part as the reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_answers_are_split_within_the_limit() {
    // A viewer, with limits that let 40 commands through at once.
    let extra = "[intake]\nuser_burst = 100\nroom_burst = 100\n\
                 [[users]]\nplatform = \"telegram\"\nid = \"3003\"\nrole = \"viewer\"\n";
    let p = TelegramPlatform::new_with(super::SUITE_PACE_MS, extra).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let group = json!({ "id": GROUP, "type": "supergroup", "title": "lab" });
    let viewer = TgUser::new(&p.api.url(), 3003, "Vera", false, group);
    // 40 refusals fill the audit log with lines of about 150 characters.
    let mut last = String::new();
    for _ in 0..40 {
        last = viewer.send("/selftest steps=1 ms=1").await;
    }
    wait_for(&viewer, "refusing the last", |m| {
        m.reply_to.as_deref() == Some(&last)
    })
    .await;
    let op = p.op.clone();
    let id = op.send("/audit 40").await;
    let first = wait_for(&*op, "answering /audit", |m| {
        m.reply_to.as_deref() == Some(&id)
    })
    .await;
    let deadline = Instant::now() + WAIT;
    let parts = loop {
        let msgs = op.bot_messages().await;
        let at = msgs.iter().position(|m| m.id == first.id).unwrap();
        let parts: Vec<BotMessage> = msgs[at..].to_vec();
        let lines: usize = parts
            .iter()
            .map(|m| m.text.lines().filter(|l| l.contains(" refused")).count())
            .sum();
        if lines == 40 {
            break parts;
        }
        assert!(
            Instant::now() < deadline,
            "{lines} of 40 audit lines arrived: {parts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(parts.len() >= 2, "not split: {parts:?}");
    for m in &parts {
        let units: usize = m.text.chars().map(char::len_utf16).sum();
        assert!(units <= 4096, "a part of {units} characters");
    }
    assert!(parts[1..].iter().all(|m| m.reply_to.is_none()), "{parts:?}");
}

/// `/start`, the first thing every Telegram client sends, greets: who the person is to the
/// bot and where to begin (it was "unknown command").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_greets_with_who_you_are_and_where_to_begin() {
    let p = TelegramPlatform::new(100).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let me = p.op_private.clone();
    let id = me.send("/start").await;
    let greeting = wait_for(&*me, "the greeting", |m| {
        m.reply_to.as_deref() == Some(id.as_str())
    })
    .await;
    let text = &greeting.text;
    assert!(
        text.starts_with("Hello! labkube builds Kubernetes clusters"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "you are {} on telegram, with the admin role",
            super::OP
        )),
        "{text}"
    );
    assert!(text.contains("Type /help for the commands"), "{text}");
    assert!(!text.contains("unknown command"), "{text}");
}

/// Tables are monospaced even with one row: `/jobs` with one job is a `<pre>` block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_one_row_is_monospaced() {
    let p = TelegramPlatform::new(100).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let me = p.op_private.clone();
    let id = me.send("/selftest steps=3 ms=1000").await;
    ack_of(&me, &id).await;
    let asked = me.send("/jobs").await;
    let jobs = wait_for(&*me, "the job list", |m| {
        m.reply_to.as_deref() == Some(asked.as_str())
    })
    .await;
    let raw = me.records().await;
    let html = raw
        .iter()
        .find(|r| r["messageId"].as_i64().map(|i| i.to_string()) == Some(jobs.id.clone()))
        .unwrap();
    let text = html["message"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("1 active job(s):\n<pre>  #")
            && text.contains(&format!("  by {}  ", super::OP)),
        "{text}"
    );
}
