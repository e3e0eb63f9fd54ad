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

use std::sync::Arc;
use std::time::Duration;

use labkube_testkit::lab::bench_site::BenchSite;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::stats::{median, ms_or_s as fmt};

const RUNS: usize = 3;
const PHASE_SECS: u32 = 3;
const FLAVOURS: [Flavour; 5] = [
    Flavour::Ubuntu,
    Flavour::Debian,
    Flavour::Rocky,
    Flavour::Debian,
    Flavour::Ubuntu,
];

/// Five fresh stand-in hosts, the first three able to serve the API, whose `kubeadm init`
/// and `join` take `PHASE_SECS`.
fn hosts() -> BenchSite {
    let names = ["cp1", "cp2", "cp3", "w1", "w2"];
    let specs: Vec<(&str, Flavour)> = names.iter().copied().zip(FLAVOURS).collect();
    BenchSite::new(&specs, 3, |lab| {
        for i in 0..specs.len() {
            lab.write(i, "/.standin/init-seconds", &PHASE_SECS.to_string());
            lab.write(i, "/.standin/join-seconds", &PHASE_SECS.to_string());
        }
    })
}

/// `RUNS` wall times of `scenario`, each on fresh hosts.
async fn measure<F, Fut>(scenario: F) -> Vec<Duration>
where
    F: Fn(BenchSite, Arc<MemoryStore>) -> Fut,
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
        let single =
            measure(|h, store| async move { h.run(&store, h.create(&[0, 3, 4, 1, 2], 1)).await.1 })
                .await;
        let ha =
            measure(|h, store| async move { h.run(&store, h.create(&[0, 1, 2, 3, 4], 3)).await.1 })
                .await;
        let add_worker = measure(|h, store| async move {
            h.run(&store, h.create(&[0, 3], 1)).await;
            h.run(&store, h.add(&[4], false)).await.1
        })
        .await;
        let add_control_planes = measure(|h, store| async move {
            h.run(&store, h.create(&[0, 3, 4], 1)).await;
            h.run(&store, h.add(&[1, 2], true)).await.1
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
