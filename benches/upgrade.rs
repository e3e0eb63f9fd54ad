//! `/cluster upgrade` of ten stand-in hosts over real SSH, by batch size: `cargo bench --bench
//! upgrade` (as root, like the tests: the stand-in hosts run under sshd on 127.0.0.N;
//! `scripts/test.sh` prepares sshd).
//!
//! One control plane and nine workers (Ubuntu, Debian, Rocky mixed), created at 1.35 and
//! upgraded to 1.36 by the bot's own worker and engine, with the stand-ins' timing knobs set to
//! a lab's proportions (seconds instead of minutes): the kubeadm package takes
//! `DOWNLOAD_SECS` to fetch, the control plane's new API server `APPLY_SECS` to come up, and
//! every restarted kubelet `READY_SECS` to report Ready. Measured in the same run, each
//! `RUNS` times on fresh hosts, median: the upgrade one node at a time (the reference;
//! `upgrade_batch_percent = 1`), then at 10 %, 30 % and 100 % of the workers. The wall time is
//! queue to outcome of the upgrade alone, as a user waits for it.

// A benchmark: any failure should stop it loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use labkube_testkit::lab::bench_site::BenchSite;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::stats::{median, ms_or_s as fmt};

const RUNS: usize = 3;
const DOWNLOAD_SECS: u32 = 1;
const APPLY_SECS: u32 = 3;
const READY_SECS: u32 = 2;
const HOSTS: usize = 10;

/// Ten fresh stand-in hosts, `cp1` and `w1`..`w9`, with the lab's timings.
fn hosts() -> BenchSite {
    let flavours = [Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky];
    let names: Vec<String> = (0..HOSTS)
        .map(|i| {
            if i == 0 {
                "cp1".into()
            } else {
                format!("w{i}")
            }
        })
        .collect();
    let specs: Vec<(&str, Flavour)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), flavours[i % flavours.len()]))
        .collect();
    BenchSite::new(&specs, 1, |lab| {
        for i in 0..specs.len() {
            lab.write(i, "/.standin/install-seconds", &DOWNLOAD_SECS.to_string());
            lab.write(i, "/.standin/upgrade-seconds", &APPLY_SECS.to_string());
            lab.write(
                i,
                "/.standin/kubelet-ready-seconds",
                &READY_SECS.to_string(),
            );
        }
    })
}

/// `RUNS` wall times of the upgrade with `percent` of the workers at once, each on a fresh
/// cluster.
async fn measure(percent: u8) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let site = hosts();
        let store = Arc::new(MemoryStore::new());
        let all: Vec<usize> = (0..HOSTS).collect();
        site.run(&store, site.create(&all, 1)).await;
        let mut config = site.config();
        config.cluster.upgrade_batch_percent = percent;
        let (_, took) = site.run_with(&store, site.upgrade("1.36"), config).await;
        times.push(took);
    }
    times
}

fn main() {
    println!("command: cargo bench --bench upgrade\n");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let workers = HOSTS - 1;
        let mut rows = Vec::new();
        for (name, percent) in [
            ("one node at a time (1 %)", 1u8),
            ("10 %", 10),
            ("30 %", 30),
            ("100 %", 100),
        ] {
            let batch = labkube::provision::upgrade::batch_size(
                workers,
                percent,
                labkube::config::Config::default().cluster.parallel_hosts,
            );
            rows.push((name, batch, measure(percent).await));
        }
        let reference = median(&rows[0].2);
        println!(
            "1 control plane + {workers} workers, 1.35 → 1.36; kubeadm download {DOWNLOAD_SECS} s, new API server {APPLY_SECS} s, kubelet Ready {READY_SECS} s after a restart; median of {RUNS} runs, each on fresh hosts\n"
        );
        println!("| upgrade_batch_percent | workers at once | wall time | runs | against one at a time |");
        println!("|---|---|---|---|---|");
        for (name, batch, times) in &rows {
            let m = median(times);
            let all: Vec<String> = times.iter().map(|t| fmt(*t)).collect();
            println!(
                "| {name} | {batch} | {} | {} | {:.2} |",
                fmt(m),
                all.join(", "),
                m.as_secs_f64() / reference.as_secs_f64()
            );
        }
    });
}
