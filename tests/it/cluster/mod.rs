//! `/cluster create | plan | delete` end to end over real SSH: one OpenSSH sshd per fake host on
//! 127.0.0.N (all on one port), whose sessions get the recording stand-ins first on PATH and
//! their own root (`LABKUBE_ROOT`), so the real step scripts run and nothing on this machine
//! changes. The engine, worker and store are the product's own.

mod console;
mod create;
mod failures;

use std::sync::Arc;
use std::time::Duration;

use labkube::jobs::{StepCtx, Worker};
use labkube::progress::RecordingSink;
use labkube::provision::remote::Connector;
use labkube::provision::ssh::{SshConfig, SshConnector};
use labkube::provision::{ConnectorFactory, Engine, Settings, StorePins};
use labkube::store::{ClusterSpec, Job, JobKind, JobStore, MemoryStore, NewJob, Origin, Requester};
use tokio_util::sync::CancellationToken;

use labkube_testkit::lab::calls::{Call, mutating};
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::lab::{Lab, standins};
use labkube_testkit::sshd::{ClientKey, SshdHost};

/// Fake hosts, their sshd servers, the client key, and the bot's store.
pub struct Site {
    pub lab: Lab,
    pub sshd: Vec<SshdHost>,
    pub key: ClientKey,
    pub store: Arc<MemoryStore>,
    pub sink: Arc<RecordingSink>,
    data: tempfile::TempDir,
}

const NAMES: [&str; 5] = ["cp1", "w1", "w2", "w3", "w4"];

impl Site {
    /// One host per flavour, the first the control plane.
    pub fn new(flavours: &[Flavour]) -> Site {
        let key = ClientKey::ed25519();
        let specs: Vec<(&str, Flavour)> = flavours
            .iter()
            .enumerate()
            .map(|(i, f)| (NAMES[i], *f))
            .collect();
        // Each fake host gets the address of the sshd that serves it.
        let ips = labkube_testkit::sshd::reserve_loopbacks(flavours.len());
        let lab = Lab::at(
            &specs,
            &ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        );
        let env_of = |i: usize| {
            let h = &lab.hosts[i];
            vec![format!(
                "SetEnv PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                 LABKUBE_ROOT={} LABKUBE_RECORD={} LABKUBE_STANDIN_CLUSTER={} HOME={} TMPDIR={} LC_ALL=C",
                standins().display(),
                h.root.display(),
                h.record.display(),
                lab.cluster.display(),
                h.tmp.display(),
                h.tmp.display()
            )]
        };
        let sshd = SshdHost::start_many_at(&ips, &[&key], env_of);
        Site {
            lab,
            sshd,
            key,
            store: Arc::new(MemoryStore::new()),
            sink: Arc::new(RecordingSink::new()),
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

    /// Engine settings for tests: short waits, one retry.
    pub fn settings(&self, user: &str) -> Settings {
        Settings {
            user: user.into(),
            port: self.sshd[0].port,
            k8s: "1.33".into(),
            pod_cidr: "10.244.0.0/16".into(),
            command_timeout: Duration::from_secs(60),
            parallel_hosts: 50,
            retries: 1,
            retry_backoff: Duration::from_millis(20),
            nodes_ready_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(200),
            remote_env: Vec::new(),
            flannel_version: labkube::config::FLANNEL_VERSION.into(),
            helm_version: labkube::config::HELM_VERSION.into(),
        }
    }

    /// An engine connecting with `key` as `user`, pinning host keys in the site's store.
    pub fn engine_with(&self, key: &ClientKey, user: &str) -> Engine {
        let store: Arc<dyn JobStore> = self.store.clone();
        let key_path = key.path.clone();
        let connect: ConnectorFactory = Arc::new(move || {
            let cfg = SshConfig {
                key_path: key_path.clone(),
                passphrase: None,
                known_hosts: None,
                connect_timeout: Duration::from_secs(5),
                keepalive: Duration::from_secs(15),
            };
            Ok(
                Arc::new(SshConnector::new(cfg, Arc::new(StorePins(store.clone())))?)
                    as Arc<dyn Connector>,
            )
        });
        Engine {
            settings: self.settings(user),
            connect,
        }
    }

    /// Queues a job of `kind` and runs the worker until no job is left; returns the job.
    pub async fn run(&self, kind: JobKind) -> Job {
        self.run_with(kind, self.engine_with(&self.key, "root"))
            .await
    }

    /// Like [`Site::run`] with another engine.
    pub async fn run_with(&self, kind: JobKind, engine: Engine) -> Job {
        let id = self.enqueue(kind);
        self.work(engine, |_| async {}).await;
        self.store.get(id).unwrap().unwrap()
    }

    /// Queues a job.
    pub fn enqueue(&self, kind: JobKind) -> u64 {
        let new = NewJob {
            plan: labkube::jobs::plan(&kind),
            kind,
            requested_by: Requester {
                platform: "test".into(),
                user: "alice".into(),
            },
            origin: Origin {
                platform: "test".into(),
                room: "lab".into(),
                event_id: format!("e{}", fastrand_id()),
            },
            command_text: "/cluster".into(),
        };
        self.store
            .enqueue(new, &format!("k{}", fastrand_id()))
            .unwrap()
            .job()
            .id
    }

    /// Runs a worker until idle (bounded), calling `during` with its handle once it started.
    pub async fn work<F, Fut>(&self, engine: Engine, during: F)
    where
        F: FnOnce(labkube::jobs::WorkerHandle) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let ctx = StepCtx {
            data_dir: self.data.path().to_path_buf(),
            store: self.store.clone(),
            engine: Some(engine),
            kube: None,
        };
        let worker = Worker::new(self.store.clone(), self.sink.clone(), ctx, 2);
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

    /// A create (or plan) spec over all hosts.
    pub fn spec(&self, name: &str) -> ClusterSpec {
        ClusterSpec {
            name: name.into(),
            hosts: self.ips(),
            user: None,
            port: None,
            k8s: None,
            pod_cidr: None,
        }
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
