//! The worker against the in-memory store: order, concurrency bound, per-target locks, cancel,
//! resume from checkpoints, shutdown at step boundaries, failures.

use std::sync::Arc;
use std::time::Duration;

use labkube::config::Config;
use labkube::jobs::{CancelOutcome, Worker};
use labkube::progress::ProgressEvent;
use labkube::store::{
    ClusterJob, Enqueued, JobKind, JobState, JobStore, Requester, Space, Step, StepRecord,
};
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::recording_sink::RecordingSink;
use tokio_util::sync::CancellationToken;

use labkube_testkit::support::{bare_worker, new_job};

/// A worker running in a task.
struct Running {
    handle: labkube::jobs::WorkerHandle,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), labkube::jobs::WorkerError>>,
}

impl Running {
    fn start(worker: Worker) -> Running {
        let handle = worker.handle();
        let stop = CancellationToken::new();
        let task = tokio::spawn(worker.run(stop.clone(), Duration::from_secs(5)));
        Running { handle, stop, task }
    }

    /// Waits (bounded) until no job is queued or running, then stops the worker.
    async fn idle_then_stop(self) {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.handle.wait_idle(&CancellationToken::new()),
        )
        .await
        .expect("jobs finish in time")
        .unwrap();
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// The bot's worker over the rig's store, with `data_dir` as its data directory.
fn worker_in(rig: &Rig, data_dir: &std::path::Path, max: usize) -> Worker {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    config.limits.concurrent_jobs = max;
    bare_worker(config, rig.store.clone(), rig.sink.clone())
}

struct Rig {
    store: Arc<MemoryStore>,
    sink: Arc<RecordingSink>,
    dir: tempfile::TempDir,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            store: Arc::new(MemoryStore::new()),
            sink: Arc::new(RecordingSink::new()),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn worker(&self, max: usize) -> Worker {
        worker_in(self, self.dir.path(), max)
    }

    fn enqueue(&self, kind: JobKind, key: &str) -> u64 {
        match self.store.enqueue(new_job(kind), key).unwrap() {
            Enqueued::New(j) => j.id,
            other => panic!("expected a new job, got {other:?}"),
        }
    }

    fn selftest_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("selftest.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Runs a worker until every job is finished (bounded), then stops it.
    async fn run_until_idle(&self, max: usize) {
        Running::start(self.worker(max)).idle_then_stop().await;
    }

    /// Most jobs running at once, read off the event stream.
    fn max_overlap(&self, ids: &[u64]) -> usize {
        let (mut now, mut max) = (0usize, 0usize);
        for (id, e) in self.sink.events() {
            if !ids.contains(&id) {
                continue;
            }
            match e {
                ProgressEvent::Started { .. } => now += 1,
                ProgressEvent::Finished { .. } => now -= 1,
                _ => {}
            }
            max = max.max(now);
        }
        max
    }
}

#[tokio::test]
async fn runs_every_step_once_and_reports_in_order() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(3, 10), "k1");
    rig.run_until_idle(2).await;
    let job = rig.store.get(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(
        job.steps.iter().map(|s| s.index).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(
        rig.selftest_log(),
        vec!["job=1 step=1", "job=1 step=2", "job=1 step=3"]
    );
    let events: Vec<ProgressEvent> = rig.sink.events().into_iter().map(|(_, e)| e).collect();
    assert!(
        matches!(&events[0], ProgressEvent::Started { resumed_from: None, plan } if plan.len() == 3)
    );
    assert!(matches!(events[1], ProgressEvent::StepStarted { index: 0 }));
    assert!(matches!(
        events[2],
        ProgressEvent::StepFinished { index: 0, .. }
    ));
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::Finished {
            state: JobState::Succeeded,
            done: 3,
            ..
        })
    ));
    assert!(
        !rig.store.log_tail(id, 10).unwrap().is_empty(),
        "steps write to the job log"
    );
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let rig = Rig::new();
    let ids: Vec<u64> = (0..5)
        .map(|i| rig.enqueue(JobKind::selftest(1, 150), &format!("k{i}")))
        .collect();
    rig.run_until_idle(2).await;
    assert_eq!(rig.max_overlap(&ids), 2, "two run at once, never more");
    for id in ids {
        assert_eq!(
            rig.store.get(id).unwrap().unwrap().state,
            JobState::Succeeded
        );
    }
}

#[tokio::test]
async fn cancel_queued_and_running_jobs() {
    let rig = Rig::new();
    let running = rig.enqueue(JobKind::selftest(4, 200), "a");
    let queued = rig.enqueue(JobKind::selftest(1, 10), "b");
    // One job at a time: the second waits in the queue.
    let running_worker = Running::start(rig.worker(1));
    let handle = running_worker.handle.clone();
    let bob = Requester {
        platform: "test".into(),
        user: "bob".into(),
    };
    // Wait until the first job is in its first step.
    for _ in 0..100 {
        if matches!(
            rig.store.get(running).unwrap().unwrap().state,
            JobState::Running { .. }
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match handle.cancel(queued, &bob).await.unwrap() {
        CancelOutcome::Cancelled(j) => assert_eq!(j.state, JobState::Cancelled),
        other => panic!("queued job should cancel at once, got {other:?}"),
    }
    assert!(matches!(
        handle.cancel(running, &bob).await.unwrap(),
        CancelOutcome::WillStop(_)
    ));
    running_worker.idle_then_stop().await;
    let job = rig.store.get(running).unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(
        job.steps.len() < 4,
        "stopped at a step boundary before the end"
    );
    assert_eq!(job.cancel_requested.as_ref().unwrap().user, "bob");
    let q = rig.store.get(queued).unwrap().unwrap();
    assert!(
        q.started_ms.is_none() && q.steps.is_empty(),
        "a cancelled queued job never ran"
    );
    assert!(matches!(
        handle.cancel(running, &bob).await.unwrap(),
        CancelOutcome::AlreadyFinished(_)
    ));
    assert_eq!(
        rig.selftest_log().len(),
        job.steps.len(),
        "cancelled work was not done"
    );
}

#[tokio::test]
async fn resumes_from_the_last_checkpoint() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(3, 10), "k");
    // As a crash would leave it: running, plan fixed, step 1 checkpointed, in step 2.
    rig.store
        .update(id, &mut |j| {
            j.state = JobState::Running { step: 1 };
            j.started_ms = Some(1);
            j.plan = (1..=3).map(Step::Selftest).collect();
            j.steps.push(StepRecord {
                index: 0,
                name: "selftest step 1".into(),
                started_ms: 1,
                finished_ms: 2,
            });
            Ok(())
        })
        .unwrap();
    rig.run_until_idle(1).await;
    let job = rig.store.get(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(job.resumes, 1);
    assert_eq!(job.steps.len(), 3);
    assert_eq!(
        rig.selftest_log(),
        vec!["job=1 step=2", "job=1 step=3"],
        "step 1 was not run again"
    );
    assert!(matches!(
        rig.sink.events()[0].1,
        ProgressEvent::Started {
            resumed_from: Some(1),
            ..
        }
    ));
}

#[tokio::test]
async fn shutdown_waits_for_the_step_then_leaves_the_job_resumable() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(3, 300), "k");
    let worker = rig.worker(1);
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker.run(stop.clone(), Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let job = rig.store.get(id).unwrap().unwrap();
    assert!(
        matches!(job.state, JobState::Running { .. }),
        "{:?}",
        job.state
    );
    assert_eq!(
        job.steps.len(),
        1,
        "the step in progress reached its checkpoint"
    );
    rig.run_until_idle(1).await;
    let job = rig.store.get(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert_eq!(rig.selftest_log().len(), 3);
}

#[tokio::test]
async fn a_failing_step_fails_the_job_with_its_name() {
    let rig = Rig::new();
    let id = rig.enqueue(JobKind::selftest(2, 1), "k");
    // The data dir is a file: the step cannot write its record.
    let file = rig.dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    Running::start(worker_in(&rig, &file, 1))
        .idle_then_stop()
        .await;
    match rig.store.get(id).unwrap().unwrap().state {
        JobState::Failed { reason } => assert!(
            reason.contains("step 1/2 (selftest step 1) failed"),
            "{reason}"
        ),
        other => panic!("expected failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cluster_job_whose_cluster_is_gone_fails_cleanly() {
    let rig = Rig::new();
    let id = rig.enqueue(
        JobKind::Cluster(ClusterJob::Delete {
            cluster: "lab-1".into(),
        }),
        "k",
    );
    rig.run_until_idle(1).await;
    match rig.store.get(id).unwrap().unwrap().state {
        JobState::Failed { reason } => {
            assert!(
                reason.contains("there is no cluster named lab-1"),
                "{reason}"
            )
        }
        other => panic!("expected failure, got {other:?}"),
    }
}

/// How many times `id`'s outcome was reported.
fn outcomes(sink: &RecordingSink, id: u64) -> usize {
    sink.events()
        .iter()
        .filter(|(j, e)| *j == id && matches!(e, ProgressEvent::Finished { .. }))
        .count()
}

#[tokio::test]
async fn an_outcome_the_room_did_not_get_is_told_again_at_the_next_start() {
    let rig = Rig::new();
    rig.sink.lose_outcomes(true);
    let id = rig.enqueue(JobKind::selftest(1, 0), "k1");
    Running::start(rig.worker(1)).idle_then_stop().await;
    assert_eq!(outcomes(&rig.sink, id), 1);
    let told = |rig: &Rig| rig.store.kv_get(Space::Told, &id.to_string()).unwrap();
    assert_eq!(
        told(&rig),
        None,
        "not recorded as told while the send failed"
    );

    rig.sink.lose_outcomes(false);
    Running::start(rig.worker(1)).idle_then_stop().await;
    assert_eq!(
        outcomes(&rig.sink, id),
        2,
        "told again when the worker starts"
    );
    assert!(told(&rig).is_some());
    Running::start(rig.worker(1)).idle_then_stop().await;
    assert_eq!(
        outcomes(&rig.sink, id),
        2,
        "once the room has it, never again"
    );
}

#[tokio::test]
async fn jobs_queued_before_outcomes_were_tracked_are_not_told_again() {
    let rig = Rig::new();
    rig.sink.lose_outcomes(true);
    let id = rig.enqueue(JobKind::selftest(1, 0), "k1");
    // As a job stored by a build without the field reads back.
    rig.store
        .update(id, &mut |j| {
            j.tell_outcome = false;
            Ok(())
        })
        .unwrap();
    Running::start(rig.worker(1)).idle_then_stop().await;
    rig.sink.lose_outcomes(false);
    Running::start(rig.worker(1)).idle_then_stop().await;
    assert_eq!(outcomes(&rig.sink, id), 1);
}
