//! Provisioning benchmark, labkube against Ansible: run it with `scripts/bench-provision.sh`
//! (which installs ansible-core into a venv, prepares sshd, and runs `cargo bench --bench
//! provision` with `LABKUBE_ANSIBLE_PLAYBOOK` set; without it this bench fails, never skips).
//!
//! The same step scripts run by labkube ([`Batch`]: one russh connection per host, each step a
//! channel on every host at once, progress recorded per host) and by `ansible-playbook`
//! (pipelining on, forks = host count, linear strategy, ControlPersist as by default) against the
//! same OpenSSH sshd hosts on 127.0.0.N (`labkube_testkit::sshd`, as the tests), in
//! the same run:
//! - overhead: 20 steps with empty bodies (`:`) on 3 hosts; wall time per step;
//! - fan-out: 10 steps of `sleep 1` on 1 and on 30 hosts; wall time of the 10 steps.
//!
//! Connection setup is timed apart from the steps, the same way for both tools: Ansible's first
//! task (`raw: ":"`, which opens every ControlMaster connection and runs a first command), and
//! labkube's `Batch::connect` followed by one `:` step (a fresh russh connection's first command
//! is markedly slower than the next ones, so it belongs with the connection). Ansible's
//! task times come from a callback plugin written next to the playbook that stamps each task's
//! start with the controller's monotonic clock (the linear strategy starts a task only when
//! every host finished the previous one, as `Batch::step` does). Ansible's steps are measured
//! in two forms, `ansible.builtin.raw` (the command over the multiplexed ssh, no Python on the
//! host) and `ansible.builtin.shell` (the pipelined module); the faster is the peer.
//!
//! Both tools trust the same generated known_hosts file (labkube `known_hosts`, OpenSSH
//! `StrictHostKeyChecking=yes`). labkube's progress goes to a `MemoryStore` (the rows the
//! targets are judged on) and, in extra rows, to a `SledStore` on disk as in the product, where
//! every host state change is a durable write. Two more rows explain the figures: a floor (the
//! same commands as one `RemoteExec::run` per host at once, no progress at all) and the CPU time
//! the machine spends per step (client, sshd and shells all share its cores).

// A benchmark: any failure should stop it loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use labkube::progress::JobIo as Io;
use labkube::provision::remote::{Connector, Script, Target};
use labkube::provision::ssh::{SshConfig, SshConnector};
use labkube::store::{JobKind, JobStore, NewJob, Origin, Requester, SledStore};
use labkube_testkit::ansible::Ansible;
use labkube_testkit::batch::Batch;
use labkube_testkit::host_keys::MemoryHostKeys;
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::recording_sink::RecordingSink;
use labkube_testkit::sshd::{self, ClientKey, SshdHost};
use labkube_testkit::stats::{mean, median, ms_or_s as fmt, percentile};

#[path = "provision/report.rs"]
mod report;
use report::report;

/// Overhead scenario: hosts and empty steps.
const OVERHEAD_HOSTS: usize = 3;
const OVERHEAD_STEPS: usize = 20;
/// Fan-out scenario: steps of one second, on 1 and on 30 hosts.
const FANOUT_STEPS: usize = 10;
const FANOUT_SMALL: usize = 1;
const FANOUT_LARGE: usize = 30;
const EMPTY: &str = ":";
const SLEEP: &str = "sleep 1";
/// labkube runs per scenario (the median is reported); Ansible runs per scenario and form.
const LABKUBE_RUNS: usize = 5;
const LABKUBE_FANOUT_RUNS: usize = 3;
const ANSIBLE_RUNS: usize = 2;
const ANSIBLE_FANOUT_RUNS: usize = 1;
/// labkube's parallelism: the product's default `cluster.parallel_hosts` (at least the host
/// count in every scenario, as Ansible's forks are).
const PARALLEL: usize = 50;
/// Targets from the issue.
const OVERHEAD_TARGET: f64 = 0.10;
const FANOUT_TARGET: f64 = 1.2;

fn main() {
    println!("command: scripts/bench-provision.sh (runs `cargo bench --bench provision`)\n");
    sshd::require_sshd();
    assert!(
        sshd::on_path("ssh"),
        "ssh (openssh-client) is missing: {}",
        sshd::SETUP_HINT
    );
    let key = ClientKey::ed25519();
    let ips = sshd::reserve_loopbacks(FANOUT_LARGE);
    let hosts = SshdHost::start_many_at(&ips, &[&key], |_| vec![]);
    let work = tempfile::Builder::new()
        .prefix("labkube-bench-provision-")
        .tempdir()
        .unwrap();
    let known_hosts = work.path().join("known_hosts");
    let lines: Vec<String> = hosts.iter().map(SshdHost::known_hosts_line).collect();
    sshd::write_known_hosts(&known_hosts, &lines);
    let ansible = Ansible::from_env(&key.path, &known_hosts, work.path());
    let ansible_version = labkube_testkit::ansible::version();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let connector: Arc<dyn Connector> = Arc::new(
        SshConnector::new(
            SshConfig {
                key_path: key.path.clone(),
                passphrase: None,
                known_hosts: Some(known_hosts.clone()),
                connect_timeout: Duration::from_secs(30),
                keepalive: Duration::from_secs(15),
            },
            Arc::new(MemoryHostKeys::new()),
        )
        .unwrap(),
    );
    let memory: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
    let sled_dir = work.path().join("sled");
    std::fs::create_dir(&sled_dir).unwrap();
    let sled: Arc<dyn JobStore> = Arc::new(SledStore::open(&sled_dir).unwrap());
    let lk = |store: &Arc<dyn JobStore>, n: usize, body: &str, steps: usize| {
        rt.block_on(labkube_run(
            &connector,
            store.clone(),
            &targets(&hosts[..n]),
            body,
            steps,
        ))
    };
    let three = &hosts[..OVERHEAD_HOSTS];

    // Warm-up (not reported): page cache, Python bytecode, sshd's first logins.
    eprintln!("warming up");
    lk(&memory, OVERHEAD_HOSTS, EMPTY, 5);
    lk(&sled, OVERHEAD_HOSTS, EMPTY, 5);
    ansible_run(&ansible, three, Form::Raw, EMPTY, 5);
    ansible_run(&ansible, three, Form::Shell, EMPTY, 5);

    eprintln!("overhead: {OVERHEAD_STEPS} x `{EMPTY}` on {OVERHEAD_HOSTS} hosts");
    let ovh_mem: Vec<LkRun> = (0..LABKUBE_RUNS)
        .map(|_| lk(&memory, OVERHEAD_HOSTS, EMPTY, OVERHEAD_STEPS))
        .collect();
    let ovh_sled: Vec<LkRun> = (0..LABKUBE_RUNS)
        .map(|_| lk(&sled, OVERHEAD_HOSTS, EMPTY, OVERHEAD_STEPS))
        .collect();
    let ovh_floor: Vec<Duration> = (0..LABKUBE_RUNS)
        .flat_map(|_| {
            rt.block_on(floor_run(
                &connector,
                &targets(three),
                EMPTY,
                OVERHEAD_STEPS,
            ))
        })
        .collect();
    let ovh_raw: Vec<AnsibleRun> = (0..ANSIBLE_RUNS)
        .map(|_| ansible_run(&ansible, three, Form::Raw, EMPTY, OVERHEAD_STEPS))
        .collect();
    let ovh_shell: Vec<AnsibleRun> = (0..ANSIBLE_RUNS)
        .map(|_| ansible_run(&ansible, three, Form::Shell, EMPTY, OVERHEAD_STEPS))
        .collect();

    let mut fan = Vec::new();
    for n in [FANOUT_SMALL, FANOUT_LARGE] {
        eprintln!("fan-out: {FANOUT_STEPS} x `{SLEEP}` on {n} host(s)");
        let mem: Vec<LkRun> = (0..LABKUBE_FANOUT_RUNS)
            .map(|_| lk(&memory, n, SLEEP, FANOUT_STEPS))
            .collect();
        let sl: Vec<LkRun> = (0..LABKUBE_FANOUT_RUNS)
            .map(|_| lk(&sled, n, SLEEP, FANOUT_STEPS))
            .collect();
        let raw: Vec<AnsibleRun> = (0..ANSIBLE_FANOUT_RUNS)
            .map(|_| ansible_run(&ansible, &hosts[..n], Form::Raw, SLEEP, FANOUT_STEPS))
            .collect();
        let shell: Vec<AnsibleRun> = (0..ANSIBLE_FANOUT_RUNS)
            .map(|_| ansible_run(&ansible, &hosts[..n], Form::Shell, SLEEP, FANOUT_STEPS))
            .collect();
        fan.push(Fan {
            hosts: n,
            mem,
            sled: sl,
            raw,
            shell,
        });
    }

    report(
        &ansible_version,
        &ovh_mem,
        &ovh_sled,
        &ovh_floor,
        &ovh_raw,
        &ovh_shell,
        &fan,
    );
}

/// The targets of `hosts`, as root.
fn targets(hosts: &[SshdHost]) -> Vec<Target> {
    hosts
        .iter()
        .map(|h| Target {
            addr: IpAddr::V4(h.ip),
            port: h.port,
            user: "root".into(),
        })
        .collect()
}

/// One labkube run: connect, the steps one after another, close.
struct LkRun {
    /// `Batch::connect`.
    connect: Duration,
    /// The first step (`:`) after connecting, as Ansible's first task.
    first: Duration,
    steps: Vec<Duration>,
    close: Duration,
    /// CPU time used during the steps: by this process (labkube), and by the whole machine.
    cpu_self: Duration,
    cpu_all: Duration,
}

impl LkRun {
    fn steps_total(&self) -> Duration {
        self.steps.iter().sum()
    }
    fn opening(&self) -> Duration {
        self.connect + self.first
    }
    fn total(&self) -> Duration {
        self.connect + self.first + self.steps_total() + self.close
    }
}

/// A job to record progress in (as the cluster flows do).
fn enqueue(store: &dyn JobStore) -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let new = NewJob {
        plan: Vec::new(),
        kind: JobKind::selftest(1, 0),
        requested_by: Requester {
            platform: "bench".into(),
            user: "bench".into(),
        },
        origin: Origin {
            platform: "bench".into(),
            room: "bench".into(),
            event_id: format!("e{n}"),
        },
        command_text: "/bench".into(),
    };
    store.enqueue(new, &format!("bench-{n}")).unwrap().job().id
}

async fn labkube_run(
    connector: &Arc<dyn Connector>,
    store: Arc<dyn JobStore>,
    targets: &[Target],
    body: &str,
    steps: usize,
) -> LkRun {
    let job = enqueue(&*store);
    let io = Io {
        store,
        sink: Arc::new(RecordingSink::new()),
        job,
    };
    let t0 = Instant::now();
    let batch = Batch::connect(connector.clone(), targets.to_vec(), io, PARALLEL)
        .await
        .unwrap();
    let connect = t0.elapsed();
    let mut script = Script {
        step: "connect".into(),
        body: EMPTY.into(),
        env: Vec::new(),
        privileged: true,
        timeout: Duration::from_secs(60),
    };
    let t0 = Instant::now();
    batch.step(&script).await.unwrap();
    let first = t0.elapsed();
    script.body = body.into();
    let mut times = Vec::with_capacity(steps);
    let cpu0 = (cpu_self(), cpu_all());
    for i in 0..steps {
        script.step = format!("step-{:02}", i + 1);
        let t0 = Instant::now();
        batch.step(&script).await.unwrap();
        times.push(t0.elapsed());
    }
    let cpu1 = (cpu_self(), cpu_all());
    let t0 = Instant::now();
    batch.close().await;
    LkRun {
        connect,
        first,
        steps: times,
        close: t0.elapsed(),
        cpu_self: cpu1.0.saturating_sub(cpu0.0),
        cpu_all: cpu1.1.saturating_sub(cpu0.1),
    }
}

/// The floor under `Batch::step`: the same scripts on the same kind of connections, each step
/// one `RemoteExec::run` per host at once (join_all), with no progress recorded.
async fn floor_run(
    connector: &Arc<dyn Connector>,
    targets: &[Target],
    body: &str,
    steps: usize,
) -> Vec<Duration> {
    let mut execs = Vec::new();
    for t in targets {
        execs.push(connector.connect(t).await.unwrap().exec);
    }
    let mut script = Script {
        step: "floor".into(),
        body: EMPTY.into(),
        env: Vec::new(),
        privileged: true,
        timeout: Duration::from_secs(60),
    };
    // A first command on each connection, untimed, as in the other runs.
    for e in &execs {
        assert!(e.run(&script).await.unwrap().success());
    }
    script.body = body.into();
    let mut times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t0 = Instant::now();
        let outs = futures::future::join_all(execs.iter().map(|e| e.run(&script))).await;
        times.push(t0.elapsed());
        for out in outs {
            assert!(out.unwrap().success());
        }
    }
    for e in execs {
        e.close().await;
    }
    times
}

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    })
}

fn ticks(n: u64) -> Duration {
    Duration::from_secs_f64(n as f64 / clock_ticks() as f64)
}

/// CPU time (user + system) of this process, all threads.
fn cpu_self() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime); `after` starts at field 3.
    ticks(f[11] + f[12])
}

/// Busy CPU time of the whole machine, all cores (everything but idle and iowait).
fn cpu_all() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    // user nice system idle iowait irq softirq steal
    ticks(f[0] + f[1] + f[2] + f[5] + f[6] + f[7])
}

/// How Ansible runs a step's body.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// `ansible.builtin.raw`: the body as the ssh command (through the ControlMaster).
    Raw,
    /// `ansible.builtin.shell`: the pipelined module runs `/bin/sh -c body`.
    Shell,
}

impl Form {
    fn module(self) -> &'static str {
        match self {
            Form::Raw => "ansible.builtin.raw",
            Form::Shell => "ansible.builtin.shell",
        }
    }
}

/// One `ansible-playbook` run.
struct AnsibleRun {
    /// The first task (`raw: ":"`): opens every connection.
    connect: Duration,
    /// Each step task, from its start to the next task's start.
    steps: Vec<Duration>,
    /// The whole process, from spawn to exit.
    total: Duration,
    /// Busy CPU time of the whole machine during the step tasks.
    cpu_steps: Duration,
}

impl AnsibleRun {
    fn steps_total(&self) -> Duration {
        self.steps.iter().sum()
    }
}

/// Runs `steps` tasks of `body` in `form` on `hosts` after a first `raw: ":"` task.
fn ansible_run(
    ansible: &Ansible,
    hosts: &[SshdHost],
    form: Form,
    body: &str,
    steps: usize,
) -> AnsibleRun {
    let mut inventory = String::from("[bench]\n");
    for (i, h) in hosts.iter().enumerate() {
        inventory.push_str(&format!("h{i:02} ansible_host={}\n", h.ip));
    }
    let quoted = serde_json::to_string(body).unwrap();
    let mut playbook = String::from(
        "- hosts: bench\n  gather_facts: false\n  tasks:\n    - name: connect\n      \
         ansible.builtin.raw: \":\"\n",
    );
    for i in 0..steps {
        playbook.push_str(&format!(
            "    - name: step-{:02}\n      {}: {quoted}\n",
            i + 1,
            form.module()
        ));
    }
    let played = ansible.play(&inventory, hosts[0].port, hosts.len(), &playbook, &[]);
    let marks = &played.marks;
    let mut connect = None;
    let mut step_times = Vec::new();
    let mut cpu = 0;
    for (i, (name, _, busy)) in marks.iter().enumerate().take(marks.len() - 1) {
        match name.as_str() {
            "connect" => connect = Some(played.span(i)),
            name if name.starts_with("step-") => {
                step_times.push(played.span(i));
                cpu += marks[i + 1].2 - busy;
            }
            _ => {}
        }
    }
    assert_eq!(step_times.len(), steps, "task marks: {marks:?}");
    AnsibleRun {
        connect: connect.expect("a connect task"),
        steps: step_times,
        total: played.total,
        cpu_steps: ticks(cpu),
    }
}

/// Both tools' runs of one fan-out size.
struct Fan {
    hosts: usize,
    mem: Vec<LkRun>,
    sled: Vec<LkRun>,
    raw: Vec<AnsibleRun>,
    shell: Vec<AnsibleRun>,
}
