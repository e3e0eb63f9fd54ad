//! The dispatcher when the store's disk sync fails or the worker has stopped for good (issue 13,
//! "Supervised work"): an acknowledgement never says "not queued" for a job that will run, and a
//! bot whose worker is down says so to job-creating commands instead of queueing jobs nobody
//! will run, while reading commands keep working.

use std::sync::Arc;
use std::time::Duration;

use labkube::app::{AppError, Bot, supervise};
use labkube::auth::Role;
use labkube::chat::Incoming;
use labkube::config::Config;
use labkube::dispatch::{Dispatcher, WORKER_DOWN};
use labkube::jobs::WorkerHandle;
use labkube::store::{AuditOutcome, JobKind, JobState, JobStore};
use labkube_testkit::faulty_store::{Fault, FaultyStore, Op};
use labkube_testkit::recording_sink::RecordingSink;
use labkube_testkit::support::{RecordingChat, Sent, room_policy};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Rig {
    store: Arc<FaultyStore>,
    chat: Arc<RecordingChat>,
    dispatcher: Dispatcher,
    handle: WorkerHandle,
    worker: Option<labkube::jobs::Worker>,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultyStore::new());
    let chat = Arc::new(RecordingChat::default());
    let policy = room_policy("t", "lab", "demo", &[("ada", Role::Admin)]);
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let sink = Arc::new(RecordingSink::new());
    let bot = Bot::build(
        config,
        store.clone(),
        policy,
        chat.clone(),
        sink,
        labkube::metrics::Metrics::new(),
    )
    .unwrap();
    Rig {
        store,
        chat,
        handle: bot.handle(),
        dispatcher: bot.dispatcher,
        worker: Some(bot.worker),
        _dir: dir,
    }
}

impl Rig {
    /// Starts the worker under its supervisor.
    fn supervise(&mut self) -> (CancellationToken, JoinHandle<Result<(), AppError>>) {
        let stop = CancellationToken::new();
        let worker = self.worker.take().unwrap();
        let task = tokio::spawn(supervise(worker, stop.clone(), Duration::from_secs(5)));
        (stop, task)
    }

    async fn say(&self, event: &str, text: &str) -> String {
        self.dispatcher
            .handle(&Incoming {
                platform: "t".into(),
                room: "lab".into(),
                sender: "ada".into(),
                event_id: event.into(),
                text: text.into(),
                bot_username: None,
                help_note: None,
                sent_at_ms: None,
                private: false,
                edit_of: None,
                handled: None,
            })
            .await;
        let log = self.chat.log.lock().unwrap();
        match log.last() {
            Some(Sent::Send { text, .. } | Sent::Edit { text, .. }) => text.clone(),
            None => panic!("no reply"),
        }
    }

    /// Mutating commands are refused with the worker's reason; reading ones still answer.
    async fn assert_refuses_jobs(&self, reason: &str) {
        let why = self
            .handle
            .unavailable()
            .expect("the worker is marked down");
        assert!(why.contains(reason), "{why}");
        let reply = self.say("e1", "/selftest steps=1 ms=1").await;
        assert_eq!(reply, format!("{WORKER_DOWN}: {why}"));
        assert!(
            self.store.store().recent(10).unwrap().is_empty(),
            "nothing queued"
        );
        let audit = self.store.store().recent_audit(10).unwrap();
        assert!(
            matches!(&audit[..], [e] if matches!(&e.outcome, AuditOutcome::Rejected { reason } if reason == &reply)),
            "{audit:?}"
        );
        let jobs = self.say("e2", "/jobs").await;
        assert!(jobs.contains("no jobs are queued or running"), "{jobs}");
    }
}

#[tokio::test]
async fn a_job_committed_without_a_disk_sync_is_acknowledged_as_queued_and_unconfirmed() {
    let r = rig();
    r.store.inject(Op::Enqueue, Fault::Unsynced, 1);
    let ack = r.say("e1", "/selftest steps=1 ms=1").await;
    assert!(ack.starts_with("queued job #1: selftest"), "{ack}");
    assert!(ack.contains("Not yet confirmed on disk"), "{ack}");
    assert!(ack.contains("The job will run"), "{ack}");
    assert!(!ack.contains("not queued"), "{ack}");
    let job = r.store.store().get(1).unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.kind, JobKind::selftest(1, 1));
    // A later enqueue whose sync works is acknowledged plainly.
    let ack = r.say("e2", "/selftest steps=1 ms=1").await;
    assert!(
        ack.starts_with("queued job #2") && !ack.contains("confirmed"),
        "{ack}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_worker_stopped_by_its_store_makes_job_commands_say_so() {
    let mut r = rig();
    r.store.inject_always(Op::Queued, Fault::Fail);
    let (_stop, task) = r.supervise();
    let ended = tokio::time::timeout(Duration::from_secs(600), task)
        .await
        .expect("the worker gives up in bounded time")
        .unwrap();
    assert!(matches!(ended, Err(AppError::Worker(_))), "{ended:?}");
    r.store.heal();
    r.assert_refuses_jobs("job store kept failing").await;
}

#[tokio::test]
async fn a_crashed_worker_makes_job_commands_say_so() {
    let mut r = rig();
    r.store.inject(Op::Queued, Fault::Panic, 1);
    let (_stop, task) = r.supervise();
    let ended = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the supervisor returns")
        .unwrap();
    assert!(matches!(ended, Err(AppError::WorkerCrashed)), "{ended:?}");
    r.assert_refuses_jobs("job worker crashed").await;
}

#[tokio::test]
async fn a_running_worker_queues_jobs_as_before() {
    let mut r = rig();
    let (stop, task) = r.supervise();
    let ack = r.say("e1", "/selftest steps=1 ms=1").await;
    assert!(ack.starts_with("queued job #1"), "{ack}");
    stop.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(20), task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    assert_eq!(r.handle.unavailable(), None, "a shutdown is not a failure");
}
