//! The in-process bot for GE scenarios: the real dispatcher, worker, live progress and sled
//! store, a recording chat, and the fake API server reached through kube-rs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::app::Bot;
use labkube::auth::Role;
use labkube::chat::{Incoming, LiveProgress};
use labkube::config::{Config, ExistingCluster, Owner};
use labkube::dispatch::Dispatcher;
use labkube::kube::release::Release;
use labkube::metrics::Metrics;
use labkube::store::{Job, JobStore, SledStore};
use tokio_util::sync::CancellationToken;

use crate::fakekube::{FakeKube, FakeOptions};
use crate::support::{RecordingChat, Sent, room_policy};

/// A room the rig's users may talk in that owns no cluster.
pub const OTHER_ROOM: &str = "elsewhere";

/// Generous bound for anything a scenario waits for.
pub const LIMIT: Duration = Duration::from_secs(30);

pub struct Rig {
    pub fake: FakeKube,
    pub store: Arc<SledStore>,
    pub chat: Arc<RecordingChat>,
    pub dispatcher: Dispatcher,
    stop: CancellationToken,
    worker: Option<tokio::task::JoinHandle<Result<(), labkube::jobs::WorkerError>>>,
    events: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
}

/// Settings scenarios may change before the rig starts.
pub struct RigOptions {
    pub auto_rollback: bool,
    pub concurrent_jobs: usize,
    pub fake: FakeOptions,
    /// `[alerts]`; `None`: alerts off (the scenarios about jobs).
    pub alerts: Option<labkube::config::Alerts>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            auto_rollback: true,
            concurrent_jobs: 4,
            fake: FakeOptions::default(),
            alerts: None,
        }
    }
}

impl Rig {
    pub async fn start() -> Rig {
        Rig::with(RigOptions::default()).await
    }

    pub async fn with(opts: RigOptions) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeKube::start(opts.fake).await.unwrap();
        let kubeconfig = fake.write_kubeconfig(dir.path()).unwrap();
        let mut config = Config::default();
        config.limits.concurrent_jobs = opts.concurrent_jobs;
        // As many jobs as may run at once may also wait in the rig's one room.
        config.intake.room_jobs = config.intake.room_jobs.max(opts.concurrent_jobs as u32);
        config.limits.progress_interval_ms = 100;
        config.kube.auto_rollback = opts.auto_rollback;
        config.kube.failure_grace_secs = 1;
        config.kube.rollout_timeout_secs = Some(20);
        config.kube.request_timeout_secs = 3;
        config.kube.connect_timeout_secs = 2;
        config.kube.unreachable_secs = 3;
        config.clusters.push(ExistingCluster {
            name: "lab-1".into(),
            kubeconfig,
            owner: Some(Owner {
                platform: "t".into(),
                room: "lab".into(),
            }),
        });
        config.data_dir = dir.path().to_path_buf();
        match opts.alerts {
            Some(a) => config.alerts = a,
            None => config.alerts.enabled = false,
        }
        let store = Arc::new(SledStore::open(&dir.path().join("data")).unwrap());
        let chat = Arc::new(RecordingChat::default());
        let progress = Arc::new(LiveProgress::new(chat.clone(), Duration::from_millis(100)));
        let policy = room_policy(
            "t",
            "lab",
            "demo",
            &[
                ("root", Role::Admin),
                ("ada", Role::Operator),
                ("vic", Role::Viewer),
            ],
        );
        // A second room, for refusals across rooms; it owns no cluster.
        let mut policy = policy;
        policy.allow_room(
            labkube::auth::RoomRef {
                platform: "t".into(),
                room: OTHER_ROOM.into(),
            },
            labkube::auth::RoomSettings {
                namespace: "other".into(),
                ..Default::default()
            },
        );
        let Bot {
            dispatcher,
            worker,
            alerts,
            ..
        } = Bot::build(
            config,
            store.clone(),
            policy,
            chat.clone(),
            progress,
            Metrics::new(),
        )
        .unwrap();
        let stop = CancellationToken::new();
        if let Some(alerts) = alerts {
            tokio::spawn(alerts.run(stop.clone()));
        }
        let worker = tokio::spawn(worker.run(stop.clone(), Duration::from_secs(5)));
        Rig {
            fake,
            store,
            chat,
            dispatcher,
            stop,
            worker: Some(worker),
            events: Default::default(),
            _dir: dir,
        }
    }

    /// `user` types `text` in the lab room.
    pub async fn say_as(&self, user: &str, text: &str) {
        self.say_in("lab", user, text).await;
    }

    /// `user` types `text` in `room` (`lab`, or [`OTHER_ROOM`], which owns no cluster).
    pub async fn say_in(&self, room: &str, user: &str, text: &str) {
        let n = self
            .events
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let msg = Incoming {
            platform: "t".into(),
            room: room.into(),
            sender: user.into(),
            event_id: format!("$e{n}"),
            text: text.into(),
            bot_username: None,
            help_note: None,
            sent_at_ms: None,
            private: false,
            edit_of: None,
            handled: None,
        };
        self.dispatcher.handle(&msg).await;
    }

    /// The folder holding the bot's store (sled) and other data.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The operator `ada` types `text`.
    pub async fn say(&self, text: &str) {
        self.say_as("ada", text).await;
    }

    /// Every text the bot sent or edited, in order.
    pub fn texts(&self) -> Vec<String> {
        self.chat
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|s| match s {
                Sent::Send { text, .. } | Sent::Edit { text, .. } => text.clone(),
            })
            .collect()
    }

    /// Messages sent (not edits), in order.
    pub fn sent(&self) -> Vec<String> {
        self.chat
            .log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|s| match s {
                Sent::Send { text, .. } => Some(text.clone()),
                Sent::Edit { .. } => None,
            })
            .collect()
    }

    /// Waits for a sent or edited text containing `needle`; returns it.
    pub async fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(t) = self.texts().into_iter().find(|t| t.contains(needle)) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "no message containing {needle:?} within {LIMIT:?}; the bot said:\n{}",
                self.texts().join("\n---\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until job `id` is finished; returns it.
    pub async fn finished(&self, id: u64) -> Job {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(job) = self.store.get(id).unwrap()
                && job.state.is_terminal()
            {
                // The outcome message goes out right after the state is stored.
                self.wait_for(&format!("job #{id} ")).await;
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job #{id} did not finish within {LIMIT:?}; the bot said:\n{}",
                self.texts().join("\n---\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Says `text`, expects a job to be queued, waits for it; returns the job and the final
    /// message.
    pub async fn run(&self, text: &str) -> (Job, String) {
        let before = self
            .store
            .recent(1)
            .unwrap()
            .first()
            .map(|j| j.id)
            .unwrap_or(0);
        self.say(text).await;
        let job = self.store.recent(1).unwrap().into_iter().next();
        let id = match job {
            Some(j) if j.id > before => j.id,
            _ => panic!(
                "{text:?} queued no job; the bot said:\n{}",
                self.texts().join("\n---\n")
            ),
        };
        let job = self.finished(id).await;
        let head = format!("job #{id} {} ", job.kind.title());
        let deadline = Instant::now() + LIMIT;
        loop {
            let outcome = self.sent().into_iter().find(|t| {
                t.starts_with(&head)
                    && [" succeeded in ", " failed after ", " cancelled"]
                        .iter()
                        .any(|w| t.contains(w))
            });
            if let Some(outcome) = outcome {
                return (job, outcome);
            }
            assert!(
                Instant::now() < deadline,
                "no outcome message for job #{id}: {:#?}",
                self.texts()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `user` types `text`; the bot answers with `needle`, queues no job and changes nothing
    /// on the cluster.
    pub async fn refused(&self, user: &str, text: &str, needle: &str) {
        let jobs = self.last_job();
        let mutations = self.fake.mutations();
        self.say_as(user, text).await;
        let answer = self.wait_for(needle).await;
        assert_eq!(self.last_job(), jobs, "{text:?} queued a job: {answer}");
        assert_eq!(
            self.fake.mutations(),
            mutations,
            "{text:?} changed the cluster"
        );
    }

    /// The newest job's number (0 if none).
    pub fn last_job(&self) -> u64 {
        self.store
            .recent(1)
            .unwrap()
            .first()
            .map(|j| j.id)
            .unwrap_or(0)
    }

    pub fn release(&self, ns: &str, ge: &str) -> Option<Release> {
        Release::load(&*self.store, "lab-1", ns, ge).unwrap()
    }

    /// A Deployment as the fake holds it.
    pub fn deployment(&self, ns: &str, name: &str) -> serde_json::Value {
        self.fake
            .object("apps/v1", "Deployment", Some(ns), name)
            .unwrap_or_else(|| panic!("no deployment {ns}/{name}"))
    }

    /// The image of the first container of a Deployment.
    pub fn image(&self, ns: &str, deployment: &str) -> String {
        self.deployment(ns, deployment)
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(|v| v.as_str())
            .unwrap()
            .to_string()
    }

    /// The Deployment controller's revision of a Deployment (`deployment.kubernetes.io/revision`).
    pub fn deployment_revision(&self, ns: &str, name: &str) -> String {
        self.deployment(ns, name)
            .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(w) = self.worker.take() {
            let _ = tokio::time::timeout(LIMIT, w).await;
        }
    }
}
