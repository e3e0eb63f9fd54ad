//! A real multi-member etcd cluster on loopback, started by the tests themselves (it uses only
//! std and `tempfile`).
//!
//! Why a real one: what a client does when a member dies, when the cluster loses its quorum and
//! when it gets it back is etcd's Raft behaviour, which no fake reproduces faithfully. The
//! cluster is Debian's etcd 3.4 (`etcd-server`, `/usr/bin/etcd`; `etcd-client` gives
//! `/usr/bin/etcdctl`), one process per member.
//!
//! Every [`EtcdCluster`] has its own temporary directory holding one data directory and one log
//! file (the member's stdout and stderr, appended to across restarts) per member, a unique
//! `--initial-cluster-token`, and fresh client and peer ports on 127.0.0.1 (nothing binds
//! elsewhere). Members can be killed (SIGKILL, reaped) and started again on the same ports and
//! data directory; every member is killed on drop. Every wait is bounded and a timeout panics
//! with the tail of the members' logs.
//!
//! Readiness is etcd's own `GET /health` on the client URL, asked by hand over HTTP/1.0 (`crate::http`) with
//! short timeouts: etcd 3.4 answers `200 {"health":"true"}` only when the member knows a leader
//! and a quorum read (its `QGET`) goes through Raft within a second, and `503
//! {"health":"false"}` otherwise (checked by hand on 3.4.23: after killing two of three members
//! the survivor answers 503, logging `/health error; no leader`). So "every member healthy" also
//! means "a leader is elected and the cluster has a quorum".

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// The etcd server binary (Debian's `etcd-server`).
pub const ETCD: &str = "/usr/bin/etcd";

/// The etcd client binary (Debian's `etcd-client`).
pub const ETCDCTL: &str = "/usr/bin/etcdctl";

/// What to tell someone whose machine lacks etcd.
pub const SETUP_HINT: &str =
    "install Debian's etcd-server (apt-get install etcd-server etcd-client)";

/// How long members may take to become healthy after a start or restart.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Lines of a member's log that a panic message quotes.
const TAIL_LINES: usize = 40;

/// The sealing key the tests' etcd stores use (64 hex digits).
pub const TEST_KEY: &str = "4c61626b75626520746573742073746f7265206b65792c206e6f742061207265";

/// Settings for a labkube store on `endpoints` under `/labkube/`, sealed with [`TEST_KEY`].
pub fn store_settings(endpoints: &[String]) -> labkube::store::EtcdSettings {
    store_settings_with_key(endpoints, TEST_KEY)
}

/// Settings for a labkube store on `endpoints` under `/labkube/`, sealed with `key_hex`.
pub fn store_settings_with_key(
    endpoints: &[String],
    key_hex: &str,
) -> labkube::store::EtcdSettings {
    labkube::store::EtcdSettings {
        endpoints: endpoints.to_vec(),
        prefix: "/labkube/".into(),
        timeout: Duration::from_secs(3),
        key: labkube::store::seal::SealKey::from_hex(key_hex).expect("a test key of 64 hex digits"),
    }
}

/// Fails (never skips) if etcd or etcdctl is missing.
pub fn require_etcd() {
    let missing: Vec<&str> = [ETCD, ETCDCTL]
        .into_iter()
        .filter(|bin| !Path::new(bin).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "missing {}: {SETUP_HINT}",
        missing.join(", ")
    );
}

/// One etcd process of a cluster.
struct Member {
    /// `m0`, `m1`, ...
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    /// `None` once killed (or before the first start). In a mutex so that [`EtcdCluster::is_running`]
    /// can reap an exited process through `&self` and the cluster stays `Sync`.
    child: Mutex<Option<Child>>,
}

impl Member {
    fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// Whether the process is alive; an exited one is reaped and forgotten, and its exit
    /// status returned.
    fn poll(&self) -> Result<bool, std::process::ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let Some(c) = child.as_mut() else {
            return Ok(false);
        };
        match c.try_wait().expect("try_wait on an etcd member") {
            None => Ok(true),
            Some(status) => {
                *child = None;
                Err(status)
            }
        }
    }

    fn kill(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(mut c) = child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }
}

/// A running etcd cluster of N members on 127.0.0.1, member `i` named `m{i}`.
///
/// Members are indexed `0..N`. All of them are killed when the cluster is dropped; the temporary
/// directory (data directories and logs) goes with it.
pub struct EtcdCluster {
    dir: TempDir,
    token: String,
    /// `m0=http://127.0.0.1:P0,m1=...`, the same for every member.
    initial_cluster: String,
    members: Vec<Member>,
}

impl EtcdCluster {
    /// Starts a fresh cluster of `members` members (`--initial-cluster-state new`) and waits
    /// until every member answers `/health` with `{"health":"true"}`, which etcd 3.4 does only
    /// once a leader is elected. Panics with the members' log tails if that takes longer than
    /// 30 s or a member exits.
    pub fn start(members: usize) -> EtcdCluster {
        require_etcd();
        assert!(members >= 1, "an etcd cluster needs at least one member");
        let dir = tempfile::Builder::new()
            .prefix("labkube-etcd-")
            .tempdir()
            .expect("tempdir");
        let ports = free_ports(2 * members);
        let members: Vec<Member> = (0..members)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: ports[2 * i],
                peer_port: ports[2 * i + 1],
                data_dir: dir.path().join(format!("m{i}.etcd")),
                log: dir.path().join(format!("m{i}.log")),
                child: Mutex::new(None),
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        // Distinct per cluster, so members of two clusters can never join each other even if a
        // port were reused.
        static CLUSTERS: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let token = format!(
            "labkube-{}-{}-{nanos}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        );
        // Built before the first spawn so that a panic below kills whatever was started.
        let mut cluster = EtcdCluster {
            dir,
            token,
            initial_cluster,
            members,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i, "new");
        }
        let all: Vec<usize> = (0..cluster.members.len()).collect();
        cluster.wait_healthy(&all, "start");
        cluster
    }

    /// The number of members (running or not).
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// Every member's client URL, `http://127.0.0.1:PORT`, in member order (stopped members
    /// included: a client is expected to cope with dead endpoints).
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::client_url).collect()
    }

    /// Member `i`'s client URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self, i: usize) -> String {
        self.members[i].client_url()
    }

    /// The cluster's temporary directory: `m{i}.etcd` (data) and `m{i}.log` per member.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills member `i` (SIGKILL) and reaps it. Does nothing if it is not running.
    ///
    /// Returns at once: if `i` was the leader, the others have none until their election
    /// timeout passes and they elect a new one (about 0.5 to 1.5 s here), and a write
    /// meanwhile may time out. [`Self::wait_ready`] waits for the new leader.
    pub fn kill(&mut self, i: usize) {
        self.members[i].kill();
    }

    /// Waits until every running member is healthy, i.e. the cluster has a leader and serves
    /// quorum reads (say after [`Self::kill`]). Panics at once if the running members are not a
    /// quorum (more than half of all members), and with their log tails if they are not healthy
    /// within 30 s.
    pub fn wait_ready(&self) {
        let running: Vec<usize> = (0..self.members.len())
            .filter(|&i| self.is_running(i))
            .collect();
        assert!(
            running.len() > self.members.len() / 2,
            "only {} of {} etcd members run: no quorum, so no leader",
            running.len(),
            self.members.len()
        );
        self.wait_healthy(&running, "wait_ready");
    }

    /// Starts the stopped member `i` again on the same ports and data directory
    /// (`--initial-cluster-state existing`; etcd restarts from its write-ahead log).
    ///
    /// Waits until it is healthy when the running members, this one included, form a quorum
    /// (more than half); otherwise (e.g. the first member brought back after [`Self::stop_all`])
    /// health is impossible, so it waits only until the member listens on its client port.
    /// Panics if the member is running, exits, or is not ready within 30 s.
    pub fn restart(&mut self, i: usize) {
        assert!(
            !self.is_running(i),
            "etcd member {} is still running",
            self.members[i].name
        );
        self.spawn(i, "existing");
        let running = (0..self.members.len())
            .filter(|&j| self.is_running(j))
            .count();
        if running > self.members.len() / 2 {
            self.wait_healthy(&[i], "restart");
        } else {
            self.wait_listening(i);
        }
    }

    /// Kills every member (SIGKILL) and reaps them.
    pub fn stop_all(&mut self) {
        for m in &mut self.members {
            m.kill();
        }
    }

    /// Starts every stopped member again (as [`Self::restart`] does) and waits until every
    /// member is healthy, i.e. the cluster has a leader again.
    pub fn start_all(&mut self) {
        let stopped: Vec<usize> = (0..self.members.len())
            .filter(|&i| !self.is_running(i))
            .collect();
        for &i in &stopped {
            self.spawn(i, "existing");
        }
        let all: Vec<usize> = (0..self.members.len()).collect();
        self.wait_healthy(&all, "start_all");
    }

    /// Whether member `i`'s process is alive (an exited process is reaped here).
    pub fn is_running(&self, i: usize) -> bool {
        self.members[i].poll().unwrap_or(false)
    }

    /// The last 40 lines of member `i`'s log (its stdout and stderr, every run of it).
    pub fn log_tail(&self, i: usize) -> String {
        self.members[i].tail()
    }

    /// Runs `etcdctl` (API v3) with `args` against every endpoint, with a 1 s dial timeout and a
    /// 2 s command timeout so that a cluster without quorum fails the command quickly, e.g.
    /// `cluster.etcdctl(&["put", "k", "v"])`.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        Command::new(ETCDCTL)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoints().join(",")))
            .args(["--dial-timeout=1s", "--command-timeout=2s"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {ETCDCTL}: {e}: {SETUP_HINT}"))
    }

    /// Spawns member `i` with `--initial-cluster-state state`, its output appended to its log.
    fn spawn(&mut self, i: usize, state: &str) {
        let m = &self.members[i];
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&m.log)
            .expect("open the member's log");
        writeln!(
            log,
            "=== labkube testkit: starting {} (--initial-cluster-state {state}) ===",
            m.name
        )
        .expect("write the member's log");
        let client = m.client_url();
        let peer = m.peer_url();
        let mut cmd = Command::new(ETCD);
        // etcd also reads ETCD_* variables; none of the caller's may change this cluster.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(key);
            }
        }
        cmd.arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(&m.data_dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", state])
            // Fast elections for tests (defaults 100 ms / 1000 ms): a leader within about a
            // second of a start, a lost leader noticed within half a second. Loopback latency
            // makes these safe.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            // zap (3.4 warns that the default capnslog is deprecated), JSON lines on stderr.
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log"))
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {ETCD}: {e}: {SETUP_HINT}"));
        *self.members[i]
            .child
            .get_mut()
            .unwrap_or_else(|p| p.into_inner()) = Some(child);
    }

    /// Panics, quoting its log, if member `i` has exited.
    fn assert_alive(&self, i: usize, after: &str) {
        let m = &self.members[i];
        match m.poll() {
            Ok(true) => {}
            Ok(false) => panic!("etcd member {} is not running ({after})", m.name),
            Err(status) => panic!(
                "etcd member {} exited ({status}) after {after}; its log:\n{}",
                m.name,
                m.tail()
            ),
        }
    }

    /// Waits until every member in `which` answers `/health` with `true`.
    fn wait_healthy(&self, which: &[usize], after: &str) {
        let deadline = Instant::now() + READY_WITHIN;
        let mut pending = which.to_vec();
        loop {
            for &i in &pending {
                self.assert_alive(i, after);
            }
            pending.retain(|&i| !healthy(self.members[i].client_port));
            if pending.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                let tails: String = pending
                    .iter()
                    .map(|&i| {
                        let m = &self.members[i];
                        format!(
                            "\n--- {} ({}) log tail:\n{}",
                            m.name,
                            m.client_url(),
                            m.tail()
                        )
                    })
                    .collect();
                panic!(
                    "etcd members {:?} not healthy within {READY_WITHIN:?} after {after}:{tails}",
                    pending
                        .iter()
                        .map(|&i| self.members[i].name.as_str())
                        .collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until member `i` accepts TCP connections on its client port.
    fn wait_listening(&self, i: usize) {
        let m = &self.members[i];
        let addr = SocketAddr::from(([127, 0, 0, 1], m.client_port));
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            self.assert_alive(i, "restart");
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "etcd member {} did not listen on {addr} within {READY_WITHIN:?}; its log:\n{}",
                m.name,
                m.tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// `n` distinct ports nobody listens on at 127.0.0.1 right now (all bound at once, so they
/// differ, then let go).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// `GET /health` on 127.0.0.1:`port` answered `200` with `{"health":"true"}`. etcd bounds its
/// own check (a quorum read) to one second; the 2 s read timeout covers that and a member that
/// accepted the connection but does not serve yet.
fn healthy(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    crate::http::get(addr, "/health")
        .is_some_and(|(status, body)| status == 200 && body.contains(r#""health":"true""#))
}

#[cfg(test)]
mod tests;
