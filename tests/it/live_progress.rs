//! The edit-in-place sink: one live message per job, edits coalesced and never more often than
//! the interval, a final outcome message.

use std::sync::Arc;
use std::time::Duration;

use labkube::chat::LiveProgress;
use labkube::progress::{MessageRef, ProgressEvent, ProgressSink};
use labkube::store::{Job, JobKind, JobState, JobStore, Step};
use labkube_testkit::memory_store::MemoryStore;

use labkube_testkit::support::{RecordingChat, Sent, new_job};

fn job(store: &MemoryStore, steps: u32) -> Job {
    let id = store
        .enqueue(new_job(JobKind::selftest(steps, 1)), "k")
        .unwrap()
        .job()
        .id;
    store
        .update(id, &mut |j| {
            j.plan = (1..=steps).map(Step::Selftest).collect();
            j.started_ms = Some(labkube::store::now_ms());
            Ok(())
        })
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn edits_are_coalesced_and_rate_limited() {
    let chat = Arc::new(RecordingChat::default());
    let interval = Duration::from_secs(2);
    let sink = LiveProgress::new(chat.clone(), interval);
    let store = MemoryStore::new();
    let mut j = job(&store, 50);
    let ack = MessageRef {
        platform: "test".into(),
        room: "r1".into(),
        id: "ack".into(),
    };
    sink.attach(&j, ack).await;
    // 50 step events over 10 s: one every 200 ms.
    for i in 0..50usize {
        j = store
            .update(j.id, &mut |j| {
                j.state = JobState::Running { step: i };
                Ok(())
            })
            .unwrap();
        sink.emit(&j, ProgressEvent::StepStarted { index: i }).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(interval * 2).await;
    let log = chat.log.lock().unwrap().clone();
    let edits: Vec<(String, String, tokio::time::Instant)> = log
        .iter()
        .filter_map(|s| match s {
            Sent::Edit { id, text, at } => Some((id.clone(), text.clone(), *at)),
            Sent::Send { .. } => None,
        })
        .collect();
    assert!(
        log.iter().all(|s| matches!(s, Sent::Edit { .. })),
        "no second message: {log:?}"
    );
    assert!(
        edits.iter().all(|(id, _, _)| id == "ack"),
        "the acknowledgement is the live message"
    );
    assert!(
        edits.len() <= 6 && edits.len() >= 4,
        "10 s at one edit per 2 s, got {}",
        edits.len()
    );
    for w in edits.windows(2) {
        assert!(
            w[1].2 - w[0].2 >= interval,
            "edits {interval:?} apart at least"
        );
    }
    let last = &edits.last().unwrap().1;
    assert!(
        last.contains("step 50/50"),
        "the last edit shows the latest state: {last}"
    );
}

#[tokio::test(start_paused = true)]
async fn finish_sends_an_outcome_and_a_final_edit() {
    let chat = Arc::new(RecordingChat::default());
    let sink = LiveProgress::new(chat.clone(), Duration::from_secs(2));
    let store = MemoryStore::new();
    let j = job(&store, 1);
    sink.attach(
        &j,
        MessageRef {
            platform: "test".into(),
            room: "r1".into(),
            id: "ack".into(),
        },
    )
    .await;
    let j = store
        .update(j.id, &mut |j| {
            j.state = JobState::Succeeded;
            Ok(())
        })
        .unwrap();
    sink.emit(
        &j,
        ProgressEvent::Finished {
            state: JobState::Succeeded,
            elapsed_ms: 1234,
            done: 0,
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let log = chat.log.lock().unwrap().clone();
    assert!(
        log.iter().any(|s| matches!(s, Sent::Send { text, .. } if text.contains("job #1 selftest (1 steps) succeeded in 1.2 s"))),
        "{log:?}"
    );
    assert!(log.iter().any(|s| matches!(s, Sent::Edit { id, text, .. } if id == "ack" && text.contains("succeeded"))), "{log:?}");
}

#[tokio::test(start_paused = true)]
async fn a_resumed_job_announces_itself_in_a_new_message() {
    let chat = Arc::new(RecordingChat::default());
    let sink = LiveProgress::new(chat.clone(), Duration::from_secs(2));
    let store = MemoryStore::new();
    let j = job(&store, 3);
    sink.emit(
        &j,
        ProgressEvent::Started {
            plan: j.plan.clone(),
            resumed_from: Some(1),
        },
    )
    .await;
    let log = chat.log.lock().unwrap().clone();
    assert!(
        matches!(&log[0], Sent::Send { text, .. } if text.contains("resumed after a restart at step 2/3")),
        "{log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_status_is_not_edited_again() {
    let chat = Arc::new(RecordingChat::default());
    let sink = LiveProgress::new(chat.clone(), Duration::from_secs(2));
    let store = MemoryStore::new();
    let j = job(&store, 2);
    let j = store
        .update(j.id, &mut |j| {
            j.state = JobState::Running { step: 0 };
            Ok(())
        })
        .unwrap();
    sink.attach(
        &j,
        MessageRef {
            platform: "test".into(),
            room: "r1".into(),
            id: "ack".into(),
        },
    )
    .await;
    for _ in 0..3 {
        sink.emit(&j, ProgressEvent::StepStarted { index: 0 }).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let edits = chat
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| matches!(s, Sent::Edit { .. }))
        .count();
    assert_eq!(edits, 1, "the same text is shown once");
}

/// A chat whose every send fails, as while the homeserver or the Bot API is down.
struct DownChat;

#[async_trait::async_trait]
impl labkube::chat::Replier for DownChat {
    async fn send(
        &self,
        _platform: &str,
        _room: &str,
        _text: &str,
    ) -> Result<MessageRef, labkube::chat::ChatError> {
        Err(labkube::chat::ChatError::NoAdapter("matrix".into()))
    }

    async fn edit(
        &self,
        _message: &MessageRef,
        _text: &str,
    ) -> Result<(), labkube::chat::ChatError> {
        Err(labkube::chat::ChatError::NoAdapter("matrix".into()))
    }
}

#[tokio::test(start_paused = true)]
async fn an_outcome_that_could_not_be_sent_is_reported_undelivered() {
    let store = MemoryStore::new();
    let j = job(&store, 1);
    let j = store
        .update(j.id, &mut |j| {
            j.state = JobState::Succeeded;
            Ok(())
        })
        .unwrap();
    let finished = ProgressEvent::Finished {
        state: JobState::Succeeded,
        elapsed_ms: 10,
        done: 1,
    };
    let down = LiveProgress::new(Arc::new(DownChat), Duration::from_secs(2));
    assert!(!down.emit(&j, finished.clone()).await);
    let up = LiveProgress::new(Arc::new(RecordingChat::default()), Duration::from_secs(2));
    assert!(up.emit(&j, finished).await);
}
