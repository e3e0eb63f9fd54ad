//! Critical-path efficiency of `/cluster create`, labkube against Ansible: run it with
//! `scripts/bench-provision.sh critical_path` (as root, like the tests: it installs ansible-core
//! into a venv, prepares sshd, and runs `cargo bench --bench critical_path`; without Ansible this
//! bench fails, never skips).
//!
//! Ten stand-in hosts behind real OpenSSH sshd on 127.0.0.N (one control plane, nine workers;
//! Ubuntu, Debian and Rocky in turn). Two of them are slow, as lab VMs are: the control plane's
//! `kubeadm init` takes `DELAY_SECS` longer (the stand-in's `init-seconds`), and one worker's
//! Kubernetes packages take `DELAY_SECS` longer to fetch (`install-seconds`, a slow mirror).
//! Measured in the same run, each on fresh hosts:
//! - labkube: the bot's own worker and engine, queue to a Ready, registered cluster;
//! - the critical path of that same run: the longest chain of dependent work through the
//!   durations labkube measured (each host's scripts, in its job log; the steps every host
//!   shares, from the job's step records), where a join depends on its own host's chain and on
//!   the control plane's `kubeadm init`. No schedule of that work can finish sooner;
//! - the linear schedule of the same durations (each script waits for the slowest host's
//!   previous one, as labkube did before per-host chains);
//! - Ansible: `ansible-playbook` running the same step scripts (the product's own bodies and
//!   environment, `labkube_testkit::lab::Lab::engine_env`) with its linear strategy: every host
//!   detects, gathers facts, prepares and installs; the control plane initialises, installs
//!   flannel and Helm and makes a join command; the workers join with it; the control plane
//!   waits for every node Ready, then installs storage, approves the kubelets' certificates,
//!   installs metrics-server and prints the kubeconfig. Process start to exit.

// A benchmark: any failure should stop it loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use labkube::provision::scripts;
use labkube::store::{JobId, JobStore};
use labkube_testkit::ansible::Ansible;
use labkube_testkit::lab::bench_site::BenchSite;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::sshd;
use labkube_testkit::stats::{median, ms_or_s as fmt};

const HOSTS: usize = 10;
/// The worker behind a slow mirror.
const SLOW_WORKER: usize = 5;
const DELAY_SECS: u32 = 20;
const LABKUBE_RUNS: usize = 3;
const ANSIBLE_RUNS: usize = 2;
/// The target from the issue.
const TARGET: f64 = 1.05;
/// Each host's chain in the set-up step, in order; the join last.
const BEFORE_JOIN: [&str; 3] = ["prepare_host", "install_containerd", "install_kube"];
const CONTROL_PLANE: [&str; 3] = ["kubeadm_init", "install_flannel", "install_helm"];
const JOIN: &str = "kubeadm_join";

fn specs() -> Vec<(String, Flavour)> {
    let flavours = [Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky];
    (0..HOSTS)
        .map(|i| {
            let name = if i == 0 {
                "cp1".to_string()
            } else {
                format!("w{i}")
            };
            (name, flavours[i % flavours.len()])
        })
        .collect()
}

fn site() -> BenchSite {
    let specs = specs();
    let specs: Vec<(&str, Flavour)> = specs.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    BenchSite::new(&specs, 1, |lab| {
        lab.write(0, "/.standin/init-seconds", &DELAY_SECS.to_string());
        lab.write(
            SLOW_WORKER,
            "/.standin/install-seconds",
            &DELAY_SECS.to_string(),
        );
    })
}

/// One labkube create and what its own measurements say.
struct LkRun {
    wall: Duration,
    /// The steps every host shares (all but the set-up step), summed.
    shared: Duration,
    /// The set-up step, as it ran.
    set_up: Duration,
    /// The longest chain of dependent work in the set-up step.
    set_up_critical: Duration,
    /// The same work, each script waiting for the slowest host's previous one.
    set_up_linear: Duration,
}

impl LkRun {
    fn critical(&self) -> Duration {
        self.shared + self.set_up_critical
    }
    fn linear(&self) -> Duration {
        self.shared + self.set_up_linear
    }
}

/// Per host (index) and script, how long it took: the job log's `HOST: SCRIPT done in X s`.
fn durations(site: &BenchSite, store: &MemoryStore, id: JobId) -> HashMap<(usize, String), f64> {
    let hosts: Vec<String> = site
        .ips
        .iter()
        .map(|ip| format!("{ip}:{}", site.port))
        .collect();
    let mut out = HashMap::new();
    for line in store.log_tail(id, 10_000).unwrap() {
        let Some((host, rest)) = line.text.split_once(": ") else {
            continue;
        };
        let Some((script, secs)) = rest.split_once(" done in ") else {
            continue;
        };
        let Some(i) = hosts.iter().position(|h| h == host) else {
            continue;
        };
        let secs: f64 = secs.trim_end_matches(" s").parse().unwrap();
        out.insert((i, script.to_string()), secs);
    }
    out
}

async fn labkube_run() -> LkRun {
    let site = site();
    let store = Arc::new(MemoryStore::new());
    let all: Vec<usize> = (0..HOSTS).collect();
    let (id, wall) = site.run(&store, site.create(&all, 1)).await;
    let job = store.get(id).unwrap().unwrap();
    let d = durations(&site, &store, id);
    let took = |i: usize, script: &str| {
        *d.get(&(i, script.to_string()))
            .unwrap_or_else(|| panic!("no duration of {script} on host {i}: {d:?}"))
    };
    let sum = |i: usize, scripts: &[&str]| scripts.iter().map(|s| took(i, s)).sum::<f64>();
    // The control plane's API is up when its init is done; each worker joins after that and
    // after its own chain.
    let api_up = sum(0, &BEFORE_JOIN) + took(0, "kubeadm_init");
    let mut critical = sum(0, &BEFORE_JOIN) + sum(0, &CONTROL_PLANE);
    for w in 1..HOSTS {
        critical = critical.max(sum(w, &BEFORE_JOIN).max(api_up) + took(w, JOIN));
    }
    let slowest = |script: &str, hosts: std::ops::Range<usize>| {
        hosts.map(|i| took(i, script)).fold(0.0, f64::max)
    };
    let linear = BEFORE_JOIN
        .iter()
        .map(|s| slowest(s, 0..HOSTS))
        .sum::<f64>()
        + sum(0, &CONTROL_PLANE)
        + slowest(JOIN, 1..HOSTS);
    let mut shared = Duration::ZERO;
    let mut set_up = Duration::ZERO;
    for s in &job.steps {
        let span = Duration::from_millis(s.finished_ms - s.started_ms);
        if s.name == "set up hosts" {
            set_up = span;
        } else {
            shared += span;
        }
    }
    LkRun {
        wall,
        shared,
        set_up,
        set_up_critical: Duration::from_secs_f64(critical),
        set_up_linear: Duration::from_secs_f64(linear),
    }
}

/// A shell task running `step`'s script of each host with its environment.
fn task(step: &str, extra: &str) -> String {
    format!(
        "    - name: {step}\n      ansible.builtin.shell: \"{{{{ lookup('ansible.builtin.file', \
         inventory_hostname ~ '/{step}.sh') }}}}\"\n      environment: \"{{{{ \
         lookup('ansible.builtin.file', inventory_hostname ~ '/{step}.json') | from_json\
         {extra} }}}}\"\n"
    )
}

/// The playbook: the create as Ansible's linear strategy runs it.
fn playbook() -> String {
    let mut p = String::from(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: connect\n      \
         ansible.builtin.raw: \":\"\n",
    );
    for step in ["os_release", "facts"].iter().chain(BEFORE_JOIN.iter()) {
        p.push_str(&task(step, ""));
    }
    p.push_str("- hosts: cp\n  gather_facts: false\n  tasks:\n");
    for step in CONTROL_PLANE {
        p.push_str(&task(step, ""));
    }
    p.push_str(&task("join_command", ""));
    p.push_str("      register: join\n      no_log: true\n");
    p.push_str("- hosts: workers\n  gather_facts: false\n  tasks:\n");
    let line =
        "(hostvars['h00'].join.stdout_lines | select('match', 'kubeadm join') | first).split()";
    p.push_str(&task(
        JOIN,
        &format!(
            " | combine({{'JOIN_ENDPOINT': {line}[2], 'JOIN_TOKEN': {line}[4], \
             'JOIN_CA_HASH': {line}[6]}})"
        ),
    ));
    p.push_str("      no_log: true\n");
    p.push_str("- hosts: cp\n  gather_facts: false\n  tasks:\n");
    p.push_str(&task("nodes", ""));
    p.push_str(&format!(
        "      register: nodes\n      until: nodes.stdout_lines | length == {HOSTS} and \
         ' NotReady ' not in nodes.stdout\n      retries: 600\n      delay: 1\n"
    ));
    for step in [
        "install_storage",
        "approve_csrs",
        "install_metrics_server",
        "kubeconfig",
    ] {
        p.push_str(&task(step, ""));
    }
    p.push_str("      no_log: true\n");
    p
}

fn ansible_run(work: &std::path::Path) -> Duration {
    let site = site();
    let known_hosts = work.join(format!("known_hosts-{}", site.port));
    site.write_known_hosts(&known_hosts);
    let ansible = Ansible::from_env(&site.key.path, &known_hosts, work);
    let mut inventory = String::from("[cp]\n");
    for (i, ip) in site.ips.iter().enumerate() {
        if i == 1 {
            inventory.push_str("[workers]\n");
        }
        inventory.push_str(&format!("h{i:02} ansible_host={ip}\n"));
    }
    let mut files = Vec::new();
    let steps = ["os_release", "facts", "join_command", "nodes", "kubeconfig"]
        .into_iter()
        .chain(BEFORE_JOIN)
        .chain(CONTROL_PLANE)
        .chain([
            JOIN,
            "install_storage",
            "approve_csrs",
            "install_metrics_server",
        ]);
    for step in steps {
        for (i, h) in site.lab.hosts.iter().enumerate() {
            let body = scripts::resolve(step, &h.os).unwrap();
            let env: serde_json::Map<String, serde_json::Value> = site
                .lab
                .engine_env(i, step)
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            files.push((format!("h{i:02}/{step}.sh"), body));
            files.push((
                format!("h{i:02}/{step}.json"),
                serde_json::to_string(&env).unwrap(),
            ));
        }
    }
    ansible
        .play(&inventory, site.port, HOSTS, &playbook(), &files)
        .total
}

fn main() {
    println!("command: scripts/bench-provision.sh critical_path\n");
    sshd::require_sshd();
    let work = tempfile::Builder::new()
        .prefix("labkube-bench-critical-")
        .tempdir()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let version = labkube_testkit::ansible::version();
    let lk: Vec<LkRun> = (0..LABKUBE_RUNS)
        .map(|n| {
            eprintln!("labkube run {}", n + 1);
            rt.block_on(labkube_run())
        })
        .collect();
    let an: Vec<Duration> = (0..ANSIBLE_RUNS)
        .map(|n| {
            eprintln!("Ansible run {}", n + 1);
            ansible_run(work.path())
        })
        .collect();
    report(&version, &lk, &an);
}

fn report(version: &str, lk: &[LkRun], an: &[Duration]) {
    let med = |f: &dyn Fn(&LkRun) -> Duration| median(&lk.iter().map(f).collect::<Vec<_>>());
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let wall = med(&|r| r.wall);
    let critical = med(&LkRun::critical);
    let lk_ratio = med(&|r| Duration::from_secs_f64(ratio(r.wall, r.critical())));
    let an_wall = median(an);
    println!(
        "{HOSTS} hosts (1 control plane + {} workers); `kubeadm init` +{DELAY_SECS} s on the \
         control plane, the Kubernetes packages +{DELAY_SECS} s on w{SLOW_WORKER}; labkube: \
         median of {LABKUBE_RUNS} runs; Ansible ({version}, linear strategy, pipelining, forks = \
         {HOSTS}): median of {ANSIBLE_RUNS}; each run on fresh hosts.\n",
        HOSTS - 1
    );
    println!("| measure | wall time | against the critical path | target | verdict |");
    println!("|---|---|---|---|---|");
    println!(
        "| critical path (the longest chain of dependent work, labkube's own durations) | {} | 1.00 | | |",
        fmt(critical)
    );
    println!(
        "| **labkube**, queue to a Ready, registered cluster | {} | **{:.2}** | <= {TARGET:.2} | {} |",
        fmt(wall),
        lk_ratio.as_secs_f64(),
        if lk_ratio.as_secs_f64() <= TARGET {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "| the same durations scheduled linearly (labkube before per-host chains) | {} | {:.2} | | |",
        fmt(med(&LkRun::linear)),
        ratio(med(&LkRun::linear), critical)
    );
    println!(
        "| Ansible, the same scripts, linear strategy, process start to exit | {} | {:.2} | | |",
        fmt(an_wall),
        ratio(an_wall, critical)
    );
    println!();
    println!(
        "labkube's set-up step alone (every host's chain): {} as it ran, {} critical path, {} \
         linear; the steps every host shares (connect, detect, facts, preflight, wait Ready, \
         storage, certificates, metrics-server, kubeconfig, register): {}.",
        fmt(med(&|r| r.set_up)),
        fmt(med(&|r| r.set_up_critical)),
        fmt(med(&|r| r.set_up_linear)),
        fmt(med(&|r| r.shared)),
    );
    for (n, r) in lk.iter().enumerate() {
        println!(
            "- labkube run {}: {} wall, {} critical path ({:.2})",
            n + 1,
            fmt(r.wall),
            fmt(r.critical()),
            ratio(r.wall, r.critical())
        );
    }
    for (n, t) in an.iter().enumerate() {
        println!("- Ansible run {}: {}", n + 1, fmt(*t));
    }
}
