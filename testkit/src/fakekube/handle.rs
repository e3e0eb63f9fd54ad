//! The test-facing handle: start/stop/pause the server, kubeconfig, inspection, runtime knobs.

use super::cluster::{self, FakeStorage};
use super::controllers;
use super::listener::{KillableListener, Peer};
use super::meta;
use super::pki::{ADMIN_GROUP, ADMIN_USER, ClientCert, Pki};
use super::resources;
use super::server;
use super::store::{Knobs, Shared, State};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Options of a fake API server.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Time from pod creation until its containers are ready (`slow` images take 10x).
    pub ready_delay: Duration,
    /// Factor for durations the specs give in seconds (progress deadlines, minReadySeconds).
    pub time_scale: f64,
    /// Number of worker nodes (`fake-node-<i>`; one pod each per DaemonSet), at least 1.
    pub nodes: u32,
    /// Allocatable CPU of every node, a quantity (`4`, `1500m`).
    pub node_cpu: String,
    /// Allocatable memory of every node, a quantity (`8Gi`).
    pub node_memory: String,
    /// Whether the cluster has a control-plane node (`fake-cp`) with kubeadm's NoSchedule
    /// taint: pods that do not tolerate it never land there.
    pub control_plane: bool,
    /// The storage the cluster has.
    pub storage: FakeStorage,
    /// Bearer token the server accepts.
    pub token: String,
    /// Number of watch events retained; watches from older versions get 410 Expired.
    pub history_limit: usize,
    /// Where to listen; `None`: 127.0.0.1 on a free port. A lab's control plane listens on
    /// its own loopback address, port 6443, as kubeadm's API server does.
    pub bind: Option<SocketAddr>,
    /// Whether it speaks TLS like kubeadm's API server: a CA of its own, a serving
    /// certificate for the bind address, and client certificates as the only credentials
    /// ([`FakeKube::kubeconfig_yaml`] is then kubeadm's `admin.conf`). Off: plain HTTP and
    /// [`FakeOptions::token`].
    pub tls: bool,
    /// kubeadm's control-plane endpoint (`api.labkube.internal:6443`), the server of the
    /// `kube-public/cluster-info` ConfigMap nodes join through; `None`: the server's own
    /// address, as kubeadm writes it for a cluster initialised without one.
    pub control_plane_endpoint: Option<String>,
    /// Further API servers of the same cluster (the other control planes of an HA cluster):
    /// they serve the same state, and with TLS one serving certificate names every address,
    /// as each kube-apiserver's names its own advertise address and the shared ones.
    pub more_api_servers: Vec<SocketAddr>,
    /// Whether metrics-server runs: its APIService `v1beta1.metrics.k8s.io` is registered and
    /// Available (as `/cluster create` leaves a cluster); off: no resource metrics API, as
    /// kubeadm leaves one.
    pub metrics_server: bool,
    /// Whether the controllers run. Without them nothing changes but what clients write and
    /// what the test [`put`](FakeKube::put)s: a scripted cluster.
    pub controllers: bool,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            ready_delay: Duration::from_millis(150),
            time_scale: 0.01,
            nodes: 1,
            node_cpu: "4".into(),
            node_memory: "8Gi".into(),
            control_plane: true,
            storage: FakeStorage::LocalPath,
            token: "fake-kube-token".into(),
            history_limit: 10_000,
            controllers: true,
            metrics_server: true,
            control_plane_endpoint: None,
            more_api_servers: Vec::new(),
            bind: None,
            tls: false,
        }
    }
}

/// One request the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path (`/apis/apps/v1/namespaces/x/deployments/y`).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Content type without parameters (empty when absent).
    pub content_type: String,
    /// Response status code.
    pub status: u16,
}

struct Running {
    kill: CancellationToken,
    task: JoinHandle<()>,
}

/// A running fake API server; dropping it shuts it down.
pub struct FakeKube {
    pub(super) shared: Arc<Shared>,
    /// With TLS: the client certificate of `admin.conf` (kubernetes-admin).
    admin: Option<ClientCert>,
    addr: SocketAddr,
    server: tokio::sync::Mutex<Option<Running>>,
    /// [`FakeOptions::more_api_servers`], each running or paused.
    others: tokio::sync::Mutex<Vec<(SocketAddr, Option<Running>)>>,
    controllers_stop: CancellationToken,
    controllers: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeKube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKube")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) -> Running {
    let kill = CancellationToken::new();
    let tls = shared.pki.as_ref().map(|p| p.server_config());
    let listener = KillableListener::new(listener, kill.clone(), tls);
    let app = server::router(shared).into_make_service_with_connect_info::<Peer>();
    let task = tokio::spawn(async move {
        // Runs until aborted; errors only come from the listener, which retries internally.
        let _ = axum::serve(listener, app).await;
    });
    Running { kill, task }
}

impl FakeKube {
    /// Starts the server on [`FakeOptions::bind`] and its controllers, in the current runtime.
    pub async fn start(opts: FakeOptions) -> std::io::Result<FakeKube> {
        let knobs = Knobs {
            ready_delay: opts.ready_delay,
            time_scale: opts.time_scale,
            nodes: opts.nodes.max(1),
            fail_rules: Vec::new(),
            crash_rules: Vec::new(),
            stopped_kubelets: Vec::new(),
            provisioners: Vec::new(),
            latency: Duration::ZERO,
            cpu_load: None,
        };
        let mut state = State::new(opts.history_limit, knobs);
        cluster::populate(&mut state, &opts);
        let bind = opts
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let ips: Vec<std::net::IpAddr> = std::iter::once(bind.ip())
            .chain(opts.more_api_servers.iter().map(SocketAddr::ip))
            .collect();
        let pki = opts.tls.then(|| Arc::new(Pki::for_addresses(&ips)));
        let admin = pki.as_ref().map(|p| p.issue(ADMIN_USER, &[ADMIN_GROUP]));
        let shared = Arc::new(Shared::new(state, opts.token, pki));
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let endpoint = opts
            .control_plane_endpoint
            .clone()
            .unwrap_or_else(|| addr.to_string());
        shared.with(|st| cluster::cluster_info(st, &endpoint));
        let running = serve(shared.clone(), listener).await;
        let mut others = Vec::new();
        for other in &opts.more_api_servers {
            let listener = tokio::net::TcpListener::bind(other).await?;
            others.push((*other, Some(serve(shared.clone(), listener).await)));
        }
        let controllers_stop = CancellationToken::new();
        let controllers = opts
            .controllers
            .then(|| tokio::spawn(controllers::run(shared.clone(), controllers_stop.clone())));
        Ok(FakeKube {
            shared,
            admin,
            addr,
            server: tokio::sync::Mutex::new(Some(running)),
            others: tokio::sync::Mutex::new(others),
            controllers_stop,
            controllers,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig for this server: with TLS, kubeadm's `admin.conf` (the CA, the client
    /// certificate and key of `kubernetes-admin`, as base64 data); without, a token user over
    /// plain HTTP.
    pub fn kubeconfig_yaml(&self) -> String {
        match &self.admin {
            Some(admin) => self.kubeconfig_with(admin),
            None => format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
                 users:\n- name: fake-user\n  user:\n    token: {token}\ncontexts:\n- name: fake\n  context:\n    \
                 cluster: fake\n    user: fake-user\n    namespace: default\ncurrent-context: fake\npreferences: {{}}\n",
                addr = self.addr,
                token = self.shared.token,
            ),
        }
    }

    /// A kubeconfig shaped like kubeadm's `admin.conf` that presents `client` (TLS mode; in
    /// plain HTTP mode the plain kubeconfig).
    pub fn kubeconfig_with(&self, client: &ClientCert) -> String {
        match self.pki() {
            Some(pki) => pki.admin_conf(self.addr, client),
            None => self.kubeconfig_yaml(),
        }
    }

    /// The PKI of a TLS server (`None` in plain HTTP mode).
    pub fn pki(&self) -> Option<&Pki> {
        self.shared.pki.as_deref()
    }

    /// Writes [`FakeKube::kubeconfig_yaml`] to `dir/kubeconfig` and returns the path.
    pub fn write_kubeconfig(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, self.kubeconfig_yaml())?;
        Ok(path)
    }

    /// A kube client for this server, built from the kubeconfig like the bot builds its own.
    pub async fn client(&self) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        Self::client_from(&self.kubeconfig_yaml()).await
    }

    /// A client like [`client`](FakeKube::client) that presents the bearer `token` (with TLS,
    /// instead of the admin's client certificate).
    pub async fn client_with_token(
        &self,
        token: &str,
    ) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        Self::client_from(&self.kubeconfig_for_token(token)).await
    }

    /// A kubeconfig whose user presents the bearer `token` (a service-account token the
    /// server issued, say): with TLS, the server's CA and no client certificate.
    pub fn kubeconfig_for_token(&self, token: &str) -> String {
        match self.pki() {
            Some(pki) => pki.token_conf(self.addr, token),
            None => self.kubeconfig_yaml().replace(
                &format!("token: {}", self.shared.token),
                &format!("token: {token}"),
            ),
        }
    }

    /// A client built from `kubeconfig` by kube's own loader.
    pub async fn client_from(
        kubeconfig: &str,
    ) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        let kc = kube::config::Kubeconfig::from_yaml(kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Stores `obj` (any served kind, found by its `apiVersion` and `kind`) exactly as given,
    /// status and `metadata.generation` included, and tells the watches: what a test scripting
    /// the cluster's state does, usually with [`FakeOptions::controllers`] off. Returns the
    /// stored object.
    pub fn put(&self, obj: Value) -> Value {
        let kind = meta::str_at(&obj, &["kind"]).unwrap_or_default();
        let api_version = meta::str_at(&obj, &["apiVersion"]).unwrap_or_default();
        let def = resources::by_kind(kind)
            .filter(|d| d.api_version() == api_version)
            .unwrap_or_else(|| panic!("the fake does not serve {api_version} {kind}"));
        self.shared.with(|st| st.put(def.plural, obj))
    }

    /// From now on an autoscaled Deployment's pods together use `percent` of one pod's CPU
    /// request, spread evenly (200: two pods' worth); `None`: the resource metrics API reports
    /// nothing (what an HPA then says is in `controllers/hpa.rs`).
    pub fn set_cpu_load(&self, percent: Option<u32>) {
        self.shared.with(|st| st.knobs.cpu_load = percent);
    }

    /// Changes the pod ready delay for pods not yet ready.
    pub fn set_ready_delay(&self, d: Duration) {
        self.shared.with(|st| st.knobs.ready_delay = d);
    }

    /// Every request but watches waits `d` before it is served (a distant API server).
    pub fn set_latency(&self, d: Duration) {
        self.shared.with(|st| st.knobs.latency = d);
    }

    /// Containers whose image contains `substr` stay Waiting with `reason` (e.g. `ErrImagePull`).
    pub fn fail_image(&self, substr: &str, reason: &str) {
        self.shared.with(|st| {
            st.knobs
                .fail_rules
                .push((substr.to_string(), reason.to_string()))
        });
    }

    /// From now on containers whose image contains `substr` crash each time they start,
    /// exiting with `code` and `reason` (`137`, `OOMKilled`): CrashLoopBackOff, restartCount
    /// growing every 2x the ready delay, `lastState.terminated` with that exit, as the kubelet
    /// shows a crashing container. Running pods start crashing too.
    pub fn crash_image(&self, substr: &str, code: i32, reason: &str) {
        self.shared.with(|st| {
            st.knobs
                .crash_rules
                .push((substr.to_string(), code, reason.to_string()))
        });
    }

    /// Containers whose image contains `substr` stop crashing: they run again (Ready), keeping
    /// their restart count and last termination, as a real container that stays up does.
    pub fn heal_image(&self, substr: &str) {
        self.shared
            .with(|st| st.knobs.crash_rules.retain(|(s, _, _)| s != substr));
    }

    /// `node`'s kubelet stops (its host died): after the node monitor grace period the node
    /// lifecycle controller sets the Ready condition to Unknown with its words and taints the
    /// node unreachable; the pods there are no longer updated (here at once).
    pub fn stop_kubelet(&self, node: &str) {
        self.shared
            .with(|st| super::cluster::kubelet_stopped(st, node));
    }

    /// `node`'s kubelet is back and posts Ready again; the unreachable taints go.
    pub fn start_kubelet(&self, node: &str) {
        self.shared
            .with(|st| super::cluster::kubelet_started(st, node));
    }

    /// Container `container` of pod `ns/pod` prints `line` in its current run (what
    /// `pods/log` serves; with `previous`, a run's lines once the container restarted).
    pub fn print(&self, ns: &str, pod: &str, container: &str, line: &str) {
        self.shared
            .with(|st| super::logs::print(st, ns, pod, container, line));
    }

    /// Moves the clock service-account tokens are judged by forward by `by` (the API issues
    /// none shorter than ten minutes; a test sees one expire without waiting).
    pub fn pass_token_time(&self, by: Duration) {
        self.shared.with(|st| st.tokens.pass(by));
    }

    /// How many tokens the TokenRequest API issued that are still valid.
    pub fn live_tokens(&self) -> usize {
        self.shared.with(|st| st.tokens.live())
    }

    /// Drops the watch history: watches from any earlier resourceVersion get 410 Expired.
    pub fn compact(&self) {
        self.shared.with(State::compact);
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.with(|st| st.rv)
    }

    /// Every request seen so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Number of non-GET requests that changed state.
    pub fn mutations(&self) -> usize {
        self.shared.mutations.load(Ordering::SeqCst)
    }

    /// Makes the server unreachable: closes the listener (connects are refused) and cuts every
    /// open connection, watches included. Controllers keep running.
    pub async fn pause(&self) {
        let running = self.server.lock().await.take();
        if let Some(r) = running {
            r.kill.cancel();
            r.task.abort();
            // The task was aborted; awaiting it only makes sure the listener is closed.
            let _ = r.task.await;
        }
    }

    /// Stops the API server at `addr` (the first or one of [`FakeOptions::more_api_servers`]):
    /// a control plane lost, the others still serving.
    pub async fn pause_at(&self, addr: SocketAddr) {
        if addr == self.addr {
            return self.pause().await;
        }
        let running = self
            .others
            .lock()
            .await
            .iter_mut()
            .find(|(a, _)| *a == addr)
            .and_then(|(_, r)| r.take());
        if let Some(r) = running {
            r.kill.cancel();
            r.task.abort();
            let _ = r.task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&self) -> std::io::Result<()> {
        let mut guard = self.server.lock().await;
        if guard.is_none() {
            let listener = tokio::net::TcpListener::bind(self.addr).await?;
            *guard = Some(serve(self.shared.clone(), listener).await);
        }
        Ok(())
    }

    /// Shuts the server and its controllers down.
    pub async fn stop(mut self) {
        self.pause().await;
        let others: Vec<SocketAddr> = self.others.lock().await.iter().map(|(a, _)| *a).collect();
        for addr in others {
            self.pause_at(addr).await;
        }
        self.controllers_stop.cancel();
        if let Some(c) = self.controllers.take() {
            // Ends promptly once cancelled; an abort error is not interesting here.
            let _ = c.await;
        }
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.controllers_stop.cancel();
        if let Some(c) = self.controllers.take() {
            c.abort();
        }
        let others = self
            .others
            .get_mut()
            .iter_mut()
            .filter_map(|(_, r)| r.take());
        for r in self
            .server
            .get_mut()
            .take()
            .into_iter()
            .chain(others.collect::<Vec<_>>())
        {
            r.kill.cancel();
            r.task.abort();
        }
    }
}
