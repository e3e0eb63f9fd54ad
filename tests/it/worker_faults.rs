//! The worker when its store misbehaves or a job panics (issue 13, "Supervised work"): store
//! errors in the claim loop are retried with bounded backoff; a job whose task panics, or whose
//! store fails under it, is failed with a clear reason and its room is told; the worker goes on
//! with other jobs, and when it gives up it says why.

use std::sync::Arc;
use std::time::Duration;

use labkube::config::Config;
use labkube::jobs::{PANICKED, STORE_FAILED, Worker, WorkerError, WorkerHandle};
use labkube::progress::ProgressEvent;
use labkube::store::{Enqueued, JobId, JobKind, JobState, JobStore};
use labkube_testkit::faulty_store::{Fault, FaultyStore, Op};
use labkube_testkit::recording_sink::RecordingSink;
use labkube_testkit::support::{bare_worker, new_job};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Rig {
    store: Arc<FaultyStore>,
    sink: Arc<RecordingSink>,
    dir: tempfile::TempDir,
}

/// A worker running in a task.
struct Running {
    handle: WorkerHandle,
    stop: CancellationToken,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            store: Arc::new(FaultyStore::new()),
            sink: Arc::new(RecordingSink::new()),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn worker(&self, max: usize) -> Worker {
        let mut config = Config {
            data_dir: self.dir.path().to_path_buf(),
            ..Config::default()
        };
        config.limits.concurrent_jobs = max;
        bare_worker(config, self.store.clone(), self.sink.clone())
    }

    fn start(&self, max: usize) -> Running {
        let worker = self.worker(max);
        let handle = worker.handle();
        let stop = CancellationToken::new();
        let task = tokio::spawn(worker.run(stop.clone(), Duration::from_secs(5)));
        Running { handle, stop, task }
    }

    fn enqueue(&self, kind: JobKind, key: &str) -> JobId {
        match self.store.store().enqueue(new_job(kind), key).unwrap() {
            Enqueued::New(j) => j.id,
            other => panic!("expected a new job, got {other:?}"),
        }
    }

    fn state(&self, id: JobId) -> JobState {
        self.store.store().get(id).unwrap().unwrap().state
    }

    /// The terminal states reported for job `id`, in order.
    fn finished(&self, id: JobId) -> Vec<JobState> {
        self.sink
            .events()
            .into_iter()
            .filter_map(|(j, e)| match e {
                ProgressEvent::Finished { state, .. } if j == id => Some(state),
                _ => None,
            })
            .collect()
    }
}

impl Running {
    /// Waits (bounded) until no job is queued or running, then stops the worker.
    async fn idle_then_stop(self) {
        let never = CancellationToken::new();
        let idle = self.handle.wait_idle(&never);
        tokio::time::timeout(Duration::from_secs(20), idle)
            .await
            .expect("jobs finish in time")
            .unwrap();
        assert_eq!(self.handle.unavailable(), None, "the worker is still up");
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn the_worker_rides_out_store_failures_in_its_claim_loop() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(1, 10), "k");
    rig.store.inject(Op::Queued, Fault::Fail, 3);
    rig.start(1).idle_then_stop().await;
    assert_eq!(rig.state(id), JobState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_worker_whose_store_keeps_failing_stops_in_bounded_time_and_says_why() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(1, 10), "k");
    rig.store.inject_always(Op::Queued, Fault::Fail);
    let running = rig.start(1);
    let ended = tokio::time::timeout(Duration::from_secs(600), running.task)
        .await
        .expect("the worker gives up in bounded time");
    assert!(matches!(ended, Ok(Err(WorkerError::Store(_)))), "{ended:?}");
    let why = running.handle.unavailable().expect("the worker is down");
    assert!(why.contains("job store kept failing"), "{why}");
    assert_eq!(rig.state(id), JobState::Queued, "the job waits, untouched");
}

#[tokio::test(start_paused = true)]
async fn a_worker_that_gives_up_pauses_its_running_job_and_tells_its_room() {
    let rig = Rig::new();
    // 40 steps of 2 s: still running when the worker gives up (about 50 s in).
    let id = rig.enqueue(JobKind::selftest(40, 2_000), "k");
    // The first listing claims the job; every later one fails.
    rig.store.inject_after(Op::Queued, Fault::Fail, 1, None);
    let running = rig.start(2);
    let ended = tokio::time::timeout(Duration::from_secs(600), running.task)
        .await
        .expect("the worker gives up in bounded time");
    assert!(matches!(ended, Ok(Err(WorkerError::Store(_)))), "{ended:?}");
    assert!(running.handle.unavailable().is_some());
    let paused = rig
        .sink
        .events()
        .into_iter()
        .any(|(j, e)| j == id && e == ProgressEvent::Paused);
    assert!(paused, "the room is told the job paused");
    let job = rig.store.store().get(id).unwrap().unwrap();
    assert!(
        matches!(job.state, JobState::Running { .. }),
        "{:?}",
        job.state
    );
    assert!(
        (1..40).contains(&job.steps.len()),
        "stopped at a checkpoint, to resume on the next start: {}",
        job.steps.len()
    );
}

/// Job "a" meets `fault` on its first look at its own record (before step 1); job "b" waits
/// behind it (one job at a time). "a" must fail with `reason`, its room told once, and "b" run.
async fn first_job_stopped_by(fault: Fault, reason: &str) {
    let rig = Rig::new();
    let broken = rig.enqueue(JobKind::selftest(2, 10), "a");
    let next = rig.enqueue(JobKind::selftest(1, 10), "b");
    rig.store.inject(Op::Get, fault, 1);
    rig.start(1).idle_then_stop().await;
    let failed = JobState::Failed {
        reason: reason.into(),
    };
    assert_eq!(rig.state(broken), failed);
    assert_eq!(rig.finished(broken), vec![failed], "the room is told once");
    assert_eq!(rig.state(next), JobState::Succeeded, "the worker went on");
}

#[tokio::test]
async fn a_panicking_job_fails_with_a_clear_message_and_the_worker_goes_on() {
    first_job_stopped_by(Fault::Panic, PANICKED).await;
}

#[tokio::test]
async fn a_store_failure_under_a_running_job_fails_it_and_tells_the_room() {
    first_job_stopped_by(Fault::Fail, STORE_FAILED).await;
}

#[tokio::test(start_paused = true)]
async fn a_job_that_cannot_even_be_marked_failed_is_still_reported_to_its_room() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(2, 10), "a");
    // The claim's update passes; then the job's record cannot be read or written.
    rig.store.inject(Op::Get, Fault::Fail, 1);
    rig.store.inject_after(Op::Update, Fault::Fail, 1, None);
    let running = rig.start(1);
    let mut notice = None;
    // Polled until it comes, for at most 600 s.
    for _ in 0..12_000 {
        notice = rig.sink.events().into_iter().find_map(|(j, e)| match e {
            ProgressEvent::Notice { text } if j == id => Some(text),
            _ => None,
        });
        if notice.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let notice = notice.expect("the room gets a notice in bounded time");
    assert!(
        notice.starts_with(&format!("job #{id} stopped")),
        "{notice}"
    );
    assert!(
        notice.contains("resumes from its last checkpoint when labkube restarts"),
        "{notice}"
    );
    assert!(matches!(rig.state(id), JobState::Running { .. }));
    running.stop.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(60), running.task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
}
