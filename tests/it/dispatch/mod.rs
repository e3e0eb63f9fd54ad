//! The dispatcher end to end on the in-memory store: one reply per message, durable
//! acknowledgement, dedupe of redelivered events, refusals audited, bad input changing nothing.

use labkube::app::Bot;
use labkube::auth::Role;
use labkube::chat::Incoming;
use labkube::config::Config;
use labkube::dispatch::Dispatcher;
use labkube::metrics::Metrics;
use labkube::store::{
    AuditOutcome, ClusterJob, ClusterRecord, JobKind, JobState, JobStore, NodeRecord, Space,
};
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::recording_sink::RecordingSink;
use std::sync::Arc;

use labkube_testkit::support::{RecordingChat, Sent, room_policy};

mod cluster;

struct Rig {
    store: Arc<MemoryStore>,
    chat: Arc<RecordingChat>,
    sink: Arc<RecordingSink>,
    dispatcher: Dispatcher,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let chat = Arc::new(RecordingChat::default());
    let sink = Arc::new(RecordingSink::new());
    let policy = room_policy(
        "t",
        "lab",
        "demo",
        &[("ada", Role::Admin), ("vic", Role::Viewer)],
    );
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    // The worker is never run here: jobs stay queued, which is what these tests look at.
    let Bot { dispatcher, .. } = Bot::build(
        config,
        store.clone(),
        policy,
        chat.clone(),
        sink.clone(),
        Metrics::new(),
    )
    .unwrap();
    Rig {
        store,
        chat,
        sink,
        dispatcher,
        _dir: dir,
    }
}

fn msg(sender: &str, event: &str, text: &str) -> Incoming {
    Incoming {
        platform: "t".into(),
        room: "lab".into(),
        sender: sender.into(),
        event_id: event.into(),
        text: text.into(),
        bot_username: Some("labkube_bot".into()),
        help_note: None,
        sent_at_ms: None,
        private: false,
        edit_of: None,
        handled: None,
    }
}

fn texts(chat: &RecordingChat) -> Vec<String> {
    chat.log
        .lock()
        .unwrap()
        .iter()
        .map(|s| match s {
            Sent::Send { text, .. } | Sent::Edit { text, .. } => text.clone(),
        })
        .collect()
}

/// The texts once there are `n` of them: answers that ask a cluster's API server come later.
/// Hands `lines` to the dispatcher from ada, one event each (`e0`, `e1`, ...), and returns
/// every text the chat got.
async fn say_all(r: &Rig, lines: &[&str]) -> Vec<String> {
    for (i, text) in lines.iter().enumerate() {
        r.dispatcher
            .handle(&msg("ada", &format!("e{i}"), text))
            .await;
    }
    texts(&r.chat)
}

async fn settled(chat: &RecordingChat, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let t = texts(chat);
        if t.len() >= n {
            return t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} answers expected, got {t:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_redelivered_event_never_creates_a_second_job() {
    let r = rig();
    let m = msg("ada", "$event1", "/selftest steps=2 ms=10");
    r.dispatcher.handle(&m).await;
    r.dispatcher.handle(&m).await;
    let jobs = r.store.recent(10).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, JobKind::selftest(2, 10));
    assert_eq!(jobs[0].state, JobState::Queued);
    let t = texts(&r.chat);
    assert!(
        t[0].starts_with("queued job #1: selftest (2 steps)"),
        "{t:?}"
    );
    assert!(
        t[1].contains("already handled") && t[1].contains("job #1"),
        "{t:?}"
    );
    assert_eq!(
        r.sink.attached().len(),
        1,
        "the acknowledgement becomes the live message"
    );
    assert_eq!(
        r.store.recent_audit(10).unwrap().len(),
        1,
        "one audit entry for one job"
    );
    // A different event with the same text is a new request.
    r.dispatcher
        .handle(&msg("ada", "$event2", "/selftest steps=2 ms=10"))
        .await;
    assert_eq!(r.store.recent(10).unwrap().len(), 2);
}

#[tokio::test]
async fn refusals_get_one_reply_and_an_audit_entry() {
    let r = rig();
    r.dispatcher.handle(&msg("vic", "e1", "/selftest")).await;
    r.dispatcher.handle(&msg("mallory", "e2", "/jobs")).await;
    let t = texts(&r.chat);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(t[0], "/selftest needs the admin role; you are a viewer");
    assert!(t[1].contains("mallory is not a labkube user"), "{t:?}");
    let audit = r.store.recent_audit(10).unwrap();
    assert_eq!(audit.len(), 2);
    assert!(
        matches!(&audit[1].outcome, AuditOutcome::Refused { reason } if reason.contains("admin role"))
    );
    assert!(r.store.recent(10).unwrap().is_empty(), "nothing queued");
}

#[tokio::test]
async fn bad_input_gets_usage_and_changes_nothing() {
    let r = rig();
    let t = say_all(
        &r,
        &[
            "/cluster create 10.0.0.1 10.0.0.1",
            "/ge install orion ns=$(reboot)",
            "/selftest steps=500",
            "/frobnicate",
        ],
    )
    .await;
    assert_eq!(t.len(), 4, "one reply each: {t:?}");
    assert!(
        t[0].contains("10.0.0.1") && t[0].contains("usage: /cluster create"),
        "{}",
        t[0]
    );
    assert!(t[2].contains("steps") && t[2].contains("50"), "{}", t[2]);
    assert!(t[3].contains("unknown command"), "{}", t[3]);
    assert!(r.store.recent(10).unwrap().is_empty());
    assert!(
        r.store.recent_audit(10).unwrap().is_empty(),
        "parse errors are not commands"
    );
}

#[tokio::test]
async fn chat_noise_and_other_bots_are_ignored() {
    let r = rig();
    r.dispatcher.handle(&msg("ada", "e1", "good morning")).await;
    r.dispatcher
        .handle(&msg("ada", "e2", "/jobs@some_other_bot"))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e3", "/jobs@labkube_bot"))
        .await;
    let t = texts(&r.chat);
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(t[0].contains("no jobs are queued or running"));
}
