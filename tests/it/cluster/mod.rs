//! `/cluster create | plan | delete` end to end over real SSH: one OpenSSH sshd per fake host on
//! 127.0.0.N (all on one port), whose sessions get the recording stand-ins first on PATH and
//! their own root (`LABKUBE_ROOT`), so the real step scripts run and nothing on this machine
//! changes. The engine, worker and store are the product's own.

mod chains;
mod console;
mod create;
mod dual_stack;
mod failures;
mod ha;
mod kubeconfig;
mod lab_hosts;
mod nodes;
mod run_markers;
mod takeover;
mod upgrade;
mod vip;

use std::sync::Arc;
use std::time::Duration;

use labkube::app::Bot;
use labkube::auth::Policy;
use labkube::config::Config;
use labkube::provision::Engine;
use labkube::store::{ClusterSpec, Job, JobKind, JobStore, NewJob, Origin, Requester, StoreError};
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::recording_sink::RecordingSink;
use tokio_util::sync::CancellationToken;

use labkube_testkit::support::RecordingChat;

use labkube_testkit::fakekube::FakeOptions;
use labkube_testkit::lab::Lab;
use labkube_testkit::lab::apiserver::{LabApi, write_unserved_kubeconfig};
use labkube_testkit::lab::calls::{Call, mutating};
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::sshd::{ClientKey, SshdHost};

/// Waits (bounded) until job `id` in `store` satisfies `ready`, then has bob cancel it
/// through the worker's `handle`.
pub async fn cancel_when(
    store: Arc<MemoryStore>,
    handle: labkube::jobs::WorkerHandle,
    id: u64,
    ready: impl Fn(&Job) -> bool,
) {
    for _ in 0..1500 {
        if ready(&store.get(id).unwrap().unwrap()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bob = Requester {
        platform: "test".into(),
        user: "bob".into(),
    };
    handle.cancel(id, &bob).await.unwrap();
}

/// Fake hosts, their sshd servers, the client key, and the bot's store.
pub struct Site {
    pub lab: Lab,
    pub sshd: Vec<SshdHost>,
    pub key: ClientKey,
    pub store: Arc<MemoryStore>,
    pub sink: Arc<RecordingSink>,
    /// The control planes' API servers (the fake, on each control plane's address, port
    /// 6443, over one state as over one etcd), if they have them.
    pub api: Option<LabApi>,
    /// How many of the first hosts are control planes.
    pub control_planes: usize,
    /// The virtual IP its creates ask for (`endpoint=`), if any.
    pub endpoint: Option<std::net::IpAddr>,
    data: tempfile::TempDir,
}

impl Site {
    /// One host per flavour, the first the control plane, whose API server answers.
    pub fn new(flavours: &[Flavour]) -> Site {
        Site::with_api(flavours, true)
    }

    /// Like [`Site::new`]; without `api` nothing answers on the control plane's port 6443 (a
    /// security group that lets only SSH through).
    pub fn with_api(flavours: &[Flavour], api: bool) -> Site {
        Site::build(flavours, 1, api)
    }

    /// Hosts `cp1..cpN` (`control_planes` of them), then `w1...`, one per flavour, whose
    /// control planes' API servers answer.
    pub fn ha(flavours: &[Flavour], control_planes: usize) -> Site {
        Site::build(flavours, control_planes, true)
    }

    fn build(flavours: &[Flavour], control_planes: usize, api: bool) -> Site {
        let key = ClientKey::ed25519();
        let names: Vec<String> = (0..flavours.len())
            .map(|i| {
                if i < control_planes {
                    format!("cp{}", i + 1)
                } else {
                    format!("w{}", i + 1 - control_planes)
                }
            })
            .collect();
        let specs: Vec<(&str, Flavour)> = flavours
            .iter()
            .enumerate()
            .map(|(i, f)| (names[i].as_str(), *f))
            .collect();
        // Each fake host gets the address of the sshd that serves it.
        let ips = labkube_testkit::sshd::reserve_loopbacks(flavours.len());
        let lab = Lab::at(
            &specs,
            &ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        );
        let sshd = SshdHost::start_many_at(&ips, &[&key], |i| lab.sshd_env(i));
        if !api {
            // kubeadm still writes its admin.conf; only nothing answers on port 6443.
            write_unserved_kubeconfig(std::net::IpAddr::V4(ips[0]), &lab.cluster);
        }
        let api = api.then(|| {
            // As many workers as the site has (a one-host cluster: the fake's one worker).
            let workers = u32::try_from(flavours.len().saturating_sub(control_planes)).unwrap_or(1);
            let more_api_servers = ips[1..control_planes]
                .iter()
                .map(|ip| std::net::SocketAddr::from((*ip, 6443)))
                .collect();
            let opts = FakeOptions {
                nodes: workers.max(1),
                more_api_servers,
                // kubeadm writes cluster-info with the endpoint init was given.
                control_plane_endpoint: Some(format!(
                    "{}:6443",
                    labkube::provision::scripts::API_NAME
                )),
                ..FakeOptions::default()
            };
            LabApi::start(std::net::IpAddr::V4(ips[0]), &lab.cluster, opts)
        });
        Site {
            lab,
            sshd,
            key,
            store: Arc::new(MemoryStore::new()),
            sink: Arc::new(RecordingSink::new()),
            api,
            control_planes,
            endpoint: None,
            data: tempfile::tempdir().unwrap(),
        }
    }

    /// The hosts' addresses, control plane first.
    pub fn ips(&self) -> Vec<std::net::IpAddr> {
        self.sshd
            .iter()
            .map(|h| std::net::IpAddr::V4(h.ip))
            .collect()
    }

    /// The bot's config for this site: connect with `key` as `user` to the sites' sshd port,
    /// short waits and one retry so failures show quickly.
    pub fn config_with(&self, key: &ClientKey, user: &str) -> Config {
        let mut config = Config {
            data_dir: self.data.path().to_path_buf(),
            ..Config::default()
        };
        config.limits.concurrent_jobs = 2;
        config.ssh.user = user.into();
        config.ssh.port = self.sshd[0].port;
        config.ssh.key_path = Some(key.path.clone());
        config.ssh.connect_timeout_secs = 5;
        config.ssh.command_timeout_secs = 60;
        // The hosts are on loopback, which the bot provisions only when a network names it.
        config.ssh.allowed_networks = vec!["127.0.0.0/8".into()];
        config.cluster.step_retries = 1;
        config.cluster.retry_backoff_ms = 20;
        config.cluster.nodes_ready_timeout_secs = 30;
        config.cluster.nodes_poll_ms = 200;
        config
    }

    /// The provisioning engine the bot builds from [`Site::config_with`], over the site's store.
    pub fn engine_with(&self, key: &ClientKey, user: &str) -> Engine {
        Engine::from_config(&self.config_with(key, user), self.store.clone())
    }

    /// Queues a job of `kind` and runs the worker until no job is left; returns the job.
    pub async fn run(&self, kind: JobKind) -> Job {
        self.run_with(kind, self.config_with(&self.key, "root"))
            .await
    }

    /// Like [`Site::run`] with another config.
    pub async fn run_with(&self, kind: JobKind, config: Config) -> Job {
        let id = self.enqueue(kind);
        self.work(config, |_| async {}).await;
        self.store.get(id).unwrap().unwrap()
    }

    /// Queues a job from room `lab`.
    pub fn enqueue(&self, kind: JobKind) -> u64 {
        self.enqueue_from(kind, "lab").unwrap()
    }

    /// Queues a job from `room`, or says why the store refused it.
    pub fn enqueue_from(&self, kind: JobKind, room: &str) -> Result<u64, StoreError> {
        let plan = labkube::jobs::plan(&kind);
        self.enqueue_planned(kind, plan, room)
    }

    /// Queues a job with `plan` as its steps (a plan an earlier release stored), from `room`.
    pub fn enqueue_planned(
        &self,
        kind: JobKind,
        plan: Vec<labkube::store::Step>,
        room: &str,
    ) -> Result<u64, StoreError> {
        let new = NewJob {
            plan,
            kind,
            requested_by: Requester {
                platform: "test".into(),
                user: "alice".into(),
            },
            origin: Origin {
                platform: "test".into(),
                room: room.into(),
                event_id: format!("e{}", fastrand_id()),
            },
            command_text: "/cluster".into(),
        };
        self.store
            .enqueue(new, &format!("k{}", fastrand_id()))
            .map(|e| e.job().id)
    }

    /// Queues a job from `room` and runs the worker until no job is left; returns the job.
    pub async fn run_from(&self, kind: JobKind, room: &str) -> Job {
        let id = self.enqueue_from(kind, room).unwrap();
        self.work(self.config_with(&self.key, "root"), |_| async {})
            .await;
        self.store.get(id).unwrap().unwrap()
    }

    /// Runs the bot's worker (built from `config`) until idle (bounded), calling `during` with
    /// its handle once it started.
    pub async fn work<F, Fut>(&self, config: Config, during: F)
    where
        F: FnOnce(labkube::jobs::WorkerHandle) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let chat = Arc::new(RecordingChat::default());
        let bot = Bot::build(
            config,
            self.store.clone(),
            Policy::new(),
            chat,
            self.sink.clone(),
            labkube::metrics::Metrics::new(),
        )
        .unwrap();
        let worker = bot.worker;
        let handle = worker.handle();
        let stop = CancellationToken::new();
        let task = tokio::spawn(worker.run(stop.clone(), Duration::from_secs(10)));
        during(handle.clone()).await;
        tokio::time::timeout(
            Duration::from_secs(120),
            handle.wait_idle(&CancellationToken::new()),
        )
        .await
        .expect("cluster jobs finish in time")
        .unwrap();
        stop.cancel();
        task.await.unwrap().unwrap();
    }

    /// Asserts that `job` succeeded, showing its state and the end of its log otherwise.
    pub fn assert_succeeded(&self, job: &Job) {
        assert_eq!(
            job.state,
            labkube::store::JobState::Succeeded,
            "{:?}\n{:?}",
            job.state,
            self.store.log_tail(job.id, 60)
        );
    }

    /// A create (or plan) spec over all hosts.
    pub fn spec(&self, name: &str) -> ClusterSpec {
        ClusterSpec {
            name: name.into(),
            hosts: self.ips(),
            user: None,
            port: None,
            k8s: None,
            pod_cidr: None,
            control_planes: u8::try_from(self.control_planes).ok().filter(|n| *n > 1),
            endpoint: self.endpoint,
        }
    }

    /// Runs the create of `name` again and checks it succeeds without changing any host.
    pub async fn create_again_changes_nothing(&self, name: &str) {
        self.take_mutating();
        let again = self
            .run(JobKind::Cluster(labkube::store::ClusterJob::Create(
                self.spec(name),
            )))
            .await;
        assert_eq!(
            again.state,
            labkube::store::JobState::Succeeded,
            "{:?}",
            again.state
        );
        for (host, calls) in self.take_mutating() {
            assert!(
                calls.is_empty(),
                "{host} changed on a converged cluster: {calls:?}"
            );
        }
    }

    /// Runs `/cluster delete` of `name` and checks it succeeded with one `kubeadm reset` on
    /// every host.
    pub async fn delete_resets_every_host_once(&self, name: &str) {
        let deleted = self
            .run(JobKind::Cluster(labkube::store::ClusterJob::Delete {
                cluster: name.into(),
            }))
            .await;
        assert_eq!(
            deleted.state,
            labkube::store::JobState::Succeeded,
            "{:?}",
            deleted.state
        );
        for i in 0..self.lab.hosts.len() {
            assert_eq!(
                labkube_testkit::lab::calls::calls_of(&self.calls(i), "kubeadm", "reset").len(),
                1,
                "host {i}"
            );
        }
    }

    /// Host `i`'s `/etc/hosts` line for the cluster's API endpoint name (empty: none).
    pub fn api_name_line(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.lab.hosts[i].root.join("etc/hosts")).unwrap();
        text.lines()
            .find(|l| l.contains("api.labkube.internal"))
            .unwrap_or_default()
            .to_string()
    }

    /// Host `i` (a worker) reaches the API through its local proxy to every one of
    /// `control_planes`.
    pub fn assert_behind_proxy(&self, i: usize, control_planes: &[std::net::IpAddr]) {
        let line = self.api_name_line(i);
        assert!(line.starts_with("127.0.0.1 api.labkube.internal"), "{line}");
        let proxy =
            std::fs::read_to_string(self.lab.hosts[i].root.join("etc/labkube/api-proxy.cfg"))
                .unwrap();
        for ip in control_planes {
            assert!(proxy.contains(&format!(" {ip}:6443 check")), "{proxy}");
        }
        let active = self.lab.hosts[i]
            .root
            .join(".standin/systemd/labkube-api-proxy.active");
        assert!(active.exists(), "labkube-api-proxy runs on host {i}");
    }

    /// Mutating stand-in calls recorded on every host since the last call, cleared.
    pub fn take_mutating(&self) -> Vec<(String, Vec<String>)> {
        (0..self.lab.hosts.len())
            .map(|i| {
                (
                    self.lab.hosts[i].name.clone(),
                    mutating(&self.lab.take_calls(i)),
                )
            })
            .collect()
    }

    /// Calls on host `i` (not cleared).
    pub fn calls(&self, i: usize) -> Vec<Call> {
        self.lab.calls(i)
    }
}

/// A number unique in this process (dedupe keys and event ids).
fn fastrand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The job's failure reason (panics if it did not fail).
pub fn failure(job: &Job) -> String {
    match &job.state {
        labkube::store::JobState::Failed { reason } => reason.clone(),
        other => panic!(
            "expected job #{} to fail, it is {other:?}; log in store",
            job.id
        ),
    }
}
