//! Alert latency: `cargo bench --bench alerts`.
//!
//! The in-process bot of the integration tests (`labkube_testkit::ge_rig`, alerts on, a
//! recording chat) against the fake API server with no controllers (a scripted cluster). 200
//! incidents, one at a time: a crash-looping pod of a new release is written to the API server
//! and the clock runs until the incident's alert reaches the chat adapter. The cap per room is
//! raised out of the way (the target is "outside rate-limit waits"). The peer, in the same runs,
//! is a bare kube-runtime watcher of the same pods: the instant it sees the pod, the least any
//! watcher can do.
//!
//! Cost of watching: the real binary (`labkube console`) with one declared cluster holding
//! 1,000 labkube pods in 50 namespaces (healthy, scripted), its resident memory and CPU time
//! over 30 s idle and over 30 s of 10 pod changes per second (a pod going not Ready and back);
//! the peer is the same binary idle with `[alerts] enabled = false` in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, Event, watcher};
use labkube::config::Alerts;
use labkube_testkit::fakekube::{FakeOptions, crash_looping_pod};
use labkube_testkit::ge_rig::{Rig, RigOptions};
use labkube_testkit::report::{ms, table};
use labkube_testkit::support::Sent;

const INCIDENTS: usize = 200;

fn main() {
    println!("command: cargo bench --bench alerts\n");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(latency());
    rt.block_on(watching_cost());
}

/// A Ready labkube pod.
fn healthy(ns: &str, name: &str, release: &str) -> serde_json::Value {
    let mut pod = crash_looping_pod(ns, name, release, 0, 0, "Completed");
    pod["status"]["conditions"][0]["status"] = "True".into();
    pod["status"]["containerStatuses"][0]["ready"] = true.into();
    pod["status"]["containerStatuses"][0]["state"] =
        serde_json::json!({ "running": { "startedAt": "2026-12-07T10:00:00Z" } });
    pod
}

/// CPU seconds (user + system) the process used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Starts `labkube console` on the cluster of `fake` with `alerts` as its `[alerts]` section.
fn console(
    dir: &std::path::Path,
    fake: &labkube_testkit::fakekube::FakeKube,
    alerts: &str,
) -> labkube_testkit::support::Bot {
    let kubeconfig = fake.write_kubeconfig(dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[alerts]\n{alerts}\n[[clusters]]\nname = \"lab-1\"\nkubeconfig = {:?}\n",
            kubeconfig.display().to_string()
        ),
    )
    .unwrap();
    let mut bot = labkube_testkit::support::Bot::console(&config, &dir.join("data"));
    bot.expect("labkube console", Duration::from_secs(30));
    bot
}

async fn watching_cost() {
    use labkube_testkit::memory::Resident;
    const WINDOW: Duration = Duration::from_secs(30);
    let fake = labkube_testkit::fakekube::FakeKube::start(FakeOptions {
        controllers: false,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    for n in 0..50 {
        for i in 0..20 {
            let ns = format!("ns-{n:02}");
            fake.put(healthy(&ns, &format!("ge-{i:02}-0"), &format!("ge-{i:02}")));
        }
    }
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let watching = console(dirs.0.path(), &fake, "rescan_secs = 1");
    let idle = console(dirs.1.path(), &fake, "enabled = false");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (w, i) = (watching.child.id(), idle.child.id());
    let (w0, i0) = (cpu_secs(w), cpu_secs(i));
    tokio::time::sleep(WINDOW).await;
    let (w_idle_cpu, i_idle_cpu) = (cpu_secs(w) - w0, cpu_secs(i) - i0);
    let (w_idle_rss, i_idle_rss) = (Resident::of(w), Resident::of(i));
    let (w1, i1) = (cpu_secs(w), cpu_secs(i));
    let start = Instant::now();
    let mut changes = 0u64;
    while start.elapsed() < WINDOW {
        let n = changes % 50;
        let k = (changes / 50) % 20;
        let ns = format!("ns-{n:02}");
        let name = format!("ge-{k:02}-0");
        let mut pod = healthy(&ns, &name, &format!("ge-{k:02}"));
        if changes.is_multiple_of(2) {
            pod["status"]["conditions"][0]["status"] = "False".into();
        }
        fake.put(pod);
        changes += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (w_busy_cpu, i_busy_cpu) = (cpu_secs(w) - w1, cpu_secs(i) - i1);
    let (w_busy_rss, _) = (Resident::of(w), Resident::of(i));
    println!("\n### Cost of watching 1,000 pods in 50 namespaces ({changes} changes in 30 s)\n");
    println!("| bot | resident MB | CPU in 30 s |");
    println!("|---|---|---|");
    let row = |name: &str, r: &Resident, cpu: f64| {
        println!("| {name} | {:.1} | {:.2} s |", r.total_mb(), cpu);
    };
    row("labkube watching, idle", &w_idle_rss, w_idle_cpu);
    row("labkube watching, 10 changes/s", &w_busy_rss, w_busy_cpu);
    row(
        "peer: labkube with alerts off, idle",
        &i_idle_rss,
        i_idle_cpu,
    );
    let _ = i_busy_cpu;
    println!(
        "\nmemory: watching / idle bot = {:.2}; CPU of 10 changes/s = {:.1} % of one core",
        w_busy_rss.total_mb() / i_idle_rss.total_mb(),
        w_busy_cpu / WINDOW.as_secs_f64() * 100.0
    );
    watching.kill();
    idle.kill();
}

async fn latency() {
    let rig = Rig::with(RigOptions {
        alerts: Some(Alerts {
            room_per_minute: 1000,
            rescan_secs: 1,
            ..Alerts::default()
        }),
        fake: FakeOptions {
            controllers: false,
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    // The peer: a bare watcher of the same pods, reporting when it sees each one.
    let client = rig.fake.client().await.unwrap();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    tokio::spawn(async move {
        let api: kube::Api<Pod> = kube::Api::namespaced(client, "demo");
        let mut w = watcher(api, watcher::Config::default()).boxed();
        while let Some(e) = w.next().await {
            if let Ok(Event::Apply(p) | Event::InitApply(p)) = e {
                let _ = seen_tx.send((p.metadata.name.unwrap_or_default(), Instant::now()));
            }
        }
    });
    // Let the bot's watches list the cluster before the first incident.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut bot = Histogram::<u64>::new(3).unwrap();
    let mut peer = Histogram::<u64>::new(3).unwrap();
    for i in 0..INCIDENTS {
        let release = format!("ge-{i:03}");
        let needle = format!(": {release} in demo on lab-1: ");
        let before = rig.chat.log.lock().unwrap().len();
        let written = Instant::now();
        rig.fake.put(crash_looping_pod(
            "demo",
            &format!("{release}-0"),
            &release,
            1,
            137,
            "OOMKilled",
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        let told = loop {
            let found = rig
                .chat
                .log
                .lock()
                .unwrap()
                .iter()
                .skip(before)
                .find_map(|s| match s {
                    Sent::Send { text, at, .. } if text.contains(&needle) => Some(at.into_std()),
                    _ => None,
                });
            if let Some(at) = found {
                break at;
            }
            assert!(Instant::now() < deadline, "incident {i} was not told");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        let pod = format!("{release}-0");
        let watched = loop {
            let (name, at) = seen_rx.recv().await.expect("the peer watches");
            if name == pod {
                break at;
            }
        };
        bot.record(told.saturating_duration_since(written).as_micros() as u64)
            .unwrap();
        peer.record(watched.saturating_duration_since(written).as_micros() as u64)
            .unwrap();
    }
    println!("### Alert latency ({INCIDENTS} incidents, one at a time)\n");
    table(&[
        ("labkube: alert sent to the chat adapter", &bot),
        ("peer: a bare kube-runtime watcher sees the pod", &peer),
    ]);
    let p99 = ms(&bot, 0.99);
    println!(
        "\ntarget p99 <= 1000 ms: {}; labkube p99 / peer p99 = {:.2}",
        if p99 <= 1000.0 { "met" } else { "NOT met" },
        p99 / ms(&peer, 0.99).max(0.001)
    );
    rig.stop().await;
}
