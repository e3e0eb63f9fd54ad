//! Cluster shapes and growth over real SSH: `cargo bench --bench cluster_growth` (as root, like
//! the tests: the stand-in hosts run under sshd on 127.0.0.N; `scripts/test.sh` prepares sshd).
//!
//! Five stand-in hosts (Ubuntu, Debian, Rocky, Debian, Ubuntu) whose `kubeadm init` and
//! `kubeadm join` each take `PHASE_SECS` (the stand-ins' `init-seconds` / `join-seconds`; a
//! real init takes about a minute, a join twenty seconds), the bot's own worker and engine, and
//! the lab's API server. Measured in the same run, each `RUNS` times on fresh hosts, median:
//! - the single-control-plane create of the five hosts (1 + 4), the reference;
//! - the HA create of the same five (3 + 2: `control-planes=3`);
//! - `/node add` of one worker to a 1 + 1 cluster;
//! - `/node add` of two control planes to a 1 + 2 cluster (it becomes HA, its workers move
//!   behind their proxy).
//!
//! The wall time is queue to outcome, as a user waits for it.

// A benchmark: any failure should stop it loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::app::Bot;
use labkube::auth::Policy;
use labkube::config::Config;
use labkube::store::{
    ClusterJob, ClusterSpec, JobKind, JobState, JobStore, NewJob, NodeAddSpec, Origin, Requester,
};
use labkube_testkit::fakekube::FakeOptions;
use labkube_testkit::lab::Lab;
use labkube_testkit::lab::apiserver::LabApi;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::recording_sink::RecordingSink;
use labkube_testkit::sshd::{self, ClientKey, SshdHost};
use labkube_testkit::stats::{median, ms_or_s as fmt};
use labkube_testkit::support::RecordingChat;
use tokio_util::sync::CancellationToken;

const RUNS: usize = 3;
const PHASE_SECS: u32 = 3;
const FLAVOURS: [Flavour; 5] = [
    Flavour::Ubuntu,
    Flavour::Debian,
    Flavour::Rocky,
    Flavour::Debian,
    Flavour::Ubuntu,
];

/// Five fresh stand-in hosts behind sshd, the first three able to serve the API.
struct Hosts {
    _lab: Lab,
    _sshd: Vec<SshdHost>,
    _api: LabApi,
    key: ClientKey,
    ips: Vec<IpAddr>,
    port: u16,
    data: tempfile::TempDir,
}

fn hosts() -> Hosts {
    let key = ClientKey::ed25519();
    let names = ["cp1", "cp2", "cp3", "w1", "w2"];
    let specs: Vec<(&str, Flavour)> = names.iter().copied().zip(FLAVOURS).collect();
    let v4 = sshd::reserve_loopbacks(specs.len());
    let lab = Lab::at(
        &specs,
        &v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
    );
    for i in 0..specs.len() {
        lab.write(i, "/.standin/init-seconds", &PHASE_SECS.to_string());
        lab.write(i, "/.standin/join-seconds", &PHASE_SECS.to_string());
    }
    let sshd = SshdHost::start_many_at(&v4, &[&key], |i| lab.sshd_env(i));
    let ips: Vec<IpAddr> = v4.iter().map(|a| IpAddr::V4(*a)).collect();
    let opts = FakeOptions {
        nodes: 2,
        more_api_servers: ips[1..3]
            .iter()
            .map(|ip| std::net::SocketAddr::new(*ip, 6443))
            .collect(),
        control_plane_endpoint: Some(format!("{}:6443", labkube::provision::scripts::API_NAME)),
        ..FakeOptions::default()
    };
    let api = LabApi::start(ips[0], &lab.cluster, opts);
    let port = sshd[0].port;
    Hosts {
        _lab: lab,
        _sshd: sshd,
        _api: api,
        key,
        ips,
        port,
        data: tempfile::tempdir().unwrap(),
    }
}

impl Hosts {
    fn config(&self) -> Config {
        let mut config = Config {
            data_dir: self.data.path().to_path_buf(),
            ..Config::default()
        };
        config.ssh.user = "root".into();
        config.ssh.port = self.port;
        config.ssh.key_path = Some(self.key.path.clone());
        config.ssh.allowed_networks = vec!["127.0.0.0/8".into()];
        config.cluster.nodes_poll_ms = 200;
        config
    }

    fn spec(&self, hosts: &[usize], control_planes: u8) -> ClusterSpec {
        ClusterSpec {
            name: "lab-1".into(),
            hosts: hosts.iter().map(|i| self.ips[*i]).collect(),
            user: None,
            port: None,
            k8s: None,
            pod_cidr: None,
            control_planes: (control_planes > 1).then_some(control_planes),
        }
    }

    fn add(&self, hosts: &[usize], control_plane: bool) -> JobKind {
        JobKind::Cluster(ClusterJob::AddNodes(NodeAddSpec {
            cluster: "lab-1".into(),
            hosts: hosts.iter().map(|i| self.ips[*i]).collect(),
            control_plane,
            user: None,
            port: None,
        }))
    }

    /// Queues `kind` and runs the bot's worker until it is done; the wall time.
    async fn run(&self, store: &Arc<MemoryStore>, kind: JobKind) -> Duration {
        let n = store.recent(1000).unwrap().len();
        let new = NewJob {
            plan: labkube::jobs::plan(&kind),
            kind,
            requested_by: Requester {
                platform: "bench".into(),
                user: "bench".into(),
            },
            origin: Origin {
                platform: "bench".into(),
                room: "lab".into(),
                event_id: format!("e{n}"),
            },
            command_text: "/bench".into(),
        };
        let t0 = Instant::now();
        let id = store.enqueue(new, &format!("k{n}")).unwrap().job().id;
        let bot = Bot::build(
            self.config(),
            store.clone(),
            Policy::new(),
            Arc::new(RecordingChat::default()),
            Arc::new(RecordingSink::new()),
        )
        .unwrap();
        let handle = bot.worker.handle();
        let stop = CancellationToken::new();
        let task = tokio::spawn(bot.worker.run(stop.clone(), Duration::from_secs(10)));
        tokio::time::timeout(
            Duration::from_secs(600),
            handle.wait_idle(&CancellationToken::new()),
        )
        .await
        .unwrap()
        .unwrap();
        let took = t0.elapsed();
        stop.cancel();
        task.await.unwrap().unwrap();
        let job = store.get(id).unwrap().unwrap();
        assert_eq!(
            job.state,
            JobState::Succeeded,
            "{:?}",
            store.log_tail(id, 40)
        );
        took
    }
}

/// `RUNS` wall times of `scenario`, each on fresh hosts.
async fn measure<F, Fut>(scenario: F) -> Vec<Duration>
where
    F: Fn(Hosts, Arc<MemoryStore>) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut times = Vec::new();
    for _ in 0..RUNS {
        times.push(scenario(hosts(), Arc::new(MemoryStore::new())).await);
    }
    times
}

fn main() {
    println!("command: cargo bench --bench cluster_growth\n");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let single = measure(|h, store| async move {
            let spec = h.spec(&[0, 3, 4, 1, 2], 1);
            h.run(&store, JobKind::Cluster(ClusterJob::Create(spec)))
                .await
        })
        .await;
        let ha = measure(|h, store| async move {
            let spec = h.spec(&[0, 1, 2, 3, 4], 3);
            h.run(&store, JobKind::Cluster(ClusterJob::Create(spec)))
                .await
        })
        .await;
        let add_worker = measure(|h, store| async move {
            let spec = h.spec(&[0, 3], 1);
            h.run(&store, JobKind::Cluster(ClusterJob::Create(spec)))
                .await;
            h.run(&store, h.add(&[4], false)).await
        })
        .await;
        let add_control_planes = measure(|h, store| async move {
            let spec = h.spec(&[0, 3, 4], 1);
            h.run(&store, JobKind::Cluster(ClusterJob::Create(spec)))
                .await;
            h.run(&store, h.add(&[1, 2], true)).await
        })
        .await;
        let reference = median(&single);
        println!(
            "{PHASE_SECS} s per kubeadm init and join; median of {RUNS} runs, each on fresh hosts\n"
        );
        println!("| scenario | wall time | runs | against the 1 + 4 create |");
        println!("|---|---|---|---|");
        for (name, times) in [
            ("create, 1 control plane + 4 workers", &single),
            ("create, 3 control planes + 2 workers", &ha),
            ("node add: 1 worker to a 1 + 1 cluster", &add_worker),
            (
                "node add: 2 control planes to a 1 + 2 cluster",
                &add_control_planes,
            ),
        ] {
            let m = median(times);
            let all: Vec<String> = times.iter().map(|t| fmt(*t)).collect();
            println!(
                "| {name} | {} | {} | {:.2} |",
                fmt(m),
                all.join(", "),
                m.as_secs_f64() / reference.as_secs_f64()
            );
        }
    });
}
