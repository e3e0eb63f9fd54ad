//! A lab for the cluster benchmarks: fresh stand-in hosts behind real OpenSSH sshd on
//! 127.0.0.N, the lab's API server on the first control planes, and the bot's own worker and
//! engine running cluster jobs end to end, timed from queue to outcome as a user waits.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::app::Bot;
use labkube::auth::Policy;
use labkube::config::Config;
use labkube::store::{
    ClusterJob, ClusterSpec, JobId, JobKind, JobState, JobStore, NewJob, NodeAddSpec, Origin,
    Requester,
};
use tokio_util::sync::CancellationToken;

use super::Lab;
use super::apiserver::LabApi;
use super::hosts::Flavour;
use crate::fakekube::FakeOptions;
use crate::memory_store::MemoryStore;
use crate::recording_sink::RecordingSink;
use crate::sshd::{self, ClientKey, SshdHost};
use crate::support::RecordingChat;

/// Fresh stand-in hosts behind sshd, the first `api_servers` able to serve the API.
pub struct BenchSite {
    /// The hosts' roots (write `/.standin/...` delays there).
    pub lab: Lab,
    sshd: Vec<SshdHost>,
    _api: LabApi,
    /// The client key the hosts accept (root logs in with it).
    pub key: ClientKey,
    /// The hosts' addresses, in the order of the specs.
    pub ips: Vec<IpAddr>,
    /// The hosts' sshd port (the same on every address).
    pub port: u16,
    data: tempfile::TempDir,
}

impl BenchSite {
    /// One host per `(name, flavour)`; `prepare` writes each host's stand-in settings before
    /// sshd starts. The first `api_servers` hosts serve the lab's one API state.
    pub fn new(specs: &[(&str, Flavour)], api_servers: usize, prepare: impl Fn(&Lab)) -> Self {
        let key = ClientKey::ed25519();
        let v4 = sshd::reserve_loopbacks(specs.len());
        let lab = Lab::at(
            specs,
            &v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
        );
        prepare(&lab);
        let sshd = SshdHost::start_many_at(&v4, &[&key], |i| lab.sshd_env(i));
        let ips: Vec<IpAddr> = v4.iter().map(|a| IpAddr::V4(*a)).collect();
        let opts = FakeOptions {
            nodes: 2,
            more_api_servers: ips[1..api_servers.max(1)]
                .iter()
                .map(|ip| SocketAddr::new(*ip, 6443))
                .collect(),
            control_plane_endpoint: Some(format!("{}:6443", labkube::provision::scripts::API_NAME)),
            ..FakeOptions::default()
        };
        let api = LabApi::start(ips[0], &lab.cluster, opts);
        let port = sshd[0].port;
        BenchSite {
            lab,
            sshd,
            _api: api,
            key,
            ips,
            port,
            data: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes an OpenSSH known_hosts file that trusts these hosts' keys only.
    pub fn write_known_hosts(&self, path: &std::path::Path) {
        let lines: Vec<String> = self.sshd.iter().map(SshdHost::known_hosts_line).collect();
        sshd::write_known_hosts(path, &lines);
    }

    /// The bot's config for these hosts.
    pub fn config(&self) -> Config {
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

    /// A create of `hosts` (indices), the first `control_planes` of them control planes.
    pub fn create(&self, hosts: &[usize], control_planes: u8) -> JobKind {
        JobKind::Cluster(ClusterJob::Create(ClusterSpec {
            name: "lab-1".into(),
            hosts: hosts.iter().map(|i| self.ips[*i]).collect(),
            user: None,
            port: None,
            k8s: None,
            pod_cidr: None,
            control_planes: (control_planes > 1).then_some(control_planes),
            endpoint: None,
        }))
    }

    /// A node add of `hosts` (indices) to the cluster [`BenchSite::create`] makes.
    pub fn add(&self, hosts: &[usize], control_plane: bool) -> JobKind {
        JobKind::Cluster(ClusterJob::AddNodes(NodeAddSpec {
            cluster: "lab-1".into(),
            hosts: hosts.iter().map(|i| self.ips[*i]).collect(),
            control_plane,
            user: None,
            port: None,
        }))
    }

    /// An upgrade of the cluster [`BenchSite::create`] makes to minor `to`.
    pub fn upgrade(&self, to: &str) -> JobKind {
        JobKind::Cluster(ClusterJob::Upgrade {
            cluster: "lab-1".into(),
            to: to.into(),
        })
    }

    /// Queues `kind` and runs the bot's worker until it is done: the job and its wall time.
    /// Panics unless it succeeded.
    pub async fn run(&self, store: &Arc<MemoryStore>, kind: JobKind) -> (JobId, Duration) {
        self.run_with(store, kind, self.config()).await
    }

    /// [`BenchSite::run`] with the bot built from `config` (from [`BenchSite::config`]).
    pub async fn run_with(
        &self,
        store: &Arc<MemoryStore>,
        kind: JobKind,
        config: Config,
    ) -> (JobId, Duration) {
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
            config,
            store.clone(),
            Policy::new(),
            Arc::new(RecordingChat::default()),
            Arc::new(RecordingSink::new()),
            labkube::metrics::Metrics::new(),
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
        (id, took)
    }
}
