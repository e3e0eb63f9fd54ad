//! GE benchmark: `cargo bench --bench ge`.
//!
//! The in-process bot of the integration tests (`labkube_testkit::ge_rig`: the real dispatcher,
//! worker, live progress and sled store, with a recording chat) against the fake API server
//! (`labkube_testkit::fakekube`), reached through kube-rs over loopback HTTP.
//!
//! 1. Rollout completion to final chat post, over 50 upgrades of orion: from the moment the
//!    fake's Deployment status first says the rollout is complete (read from the fake's memory
//!    every millisecond) to the moment the outcome message reaches the chat. The peer, in the
//!    same runs, is kube-runtime's own `await_condition(is_deployment_completed)` on a watch of
//!    the same Deployment: the least any watcher can do.
//! 2. Acknowledgements under load: 5 rounds of 20 `/ge install orion ns=…` (each round in new
//!    namespaces, all 20 installs running at once), the time from a command's arrival to its
//!    "queued job" acknowledgement being sent. The peer is the same acknowledgement for
//!    `/selftest` jobs on the idle bot in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::wait::{await_condition, conditions};
use labkube::store::JobStore;
use labkube_testkit::ge_rig::{Rig, RigOptions};
use labkube_testkit::report::{ms, table};
use labkube_testkit::support::Sent;

const ROLLOUTS: usize = 50;
const ROUNDS: usize = 5;
const PER_ROUND: usize = 20;

fn main() {
    println!("command: cargo bench --bench ge\n");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        rollout_to_post().await;
        acks_under_load().await;
    });
}

/// The first time the fake's orion Deployment reads as completely rolled out at generation
/// `> after_generation`.
fn complete(d: &serde_json::Value, after_generation: i64) -> bool {
    let g = d["metadata"]["generation"].as_i64().unwrap_or(0);
    let s = &d["status"];
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    g > after_generation
        && s["observedGeneration"].as_i64().unwrap_or(0) >= g
        && s["updatedReplicas"].as_i64().unwrap_or(0) == want
        && s["replicas"].as_i64().unwrap_or(0) == want
        && s["availableReplicas"].as_i64().unwrap_or(0) == want
}

/// Milliseconds at quantile `q`.
async fn rollout_to_post() {
    let mut opts = RigOptions::default();
    opts.fake.ready_delay = Duration::from_millis(50);
    let rig = Arc::new(Rig::with(opts).await);
    rig.run("/ge install orion").await;
    let client = rig.fake.client().await.unwrap();
    let api: kube::Api<Deployment> = kube::Api::namespaced(client, "demo");
    let mut bot = Histogram::<u64>::new(3).unwrap();
    let mut peer = Histogram::<u64>::new(3).unwrap();
    for i in 0..ROLLOUTS {
        let d = rig
            .fake
            .object("apps/v1", "Deployment", Some("demo"), "orion")
            .unwrap();
        let generation = d["metadata"]["generation"].as_i64().unwrap();
        // The watcher of the fake's memory: marks the instant the rollout completes.
        let done = Arc::new(AtomicBool::new(false));
        let seen = {
            let (rig, done) = (rig.clone(), done.clone());
            tokio::spawn(async move {
                for _ in 0..60_000 {
                    if let Some(d) = rig
                        .fake
                        .object("apps/v1", "Deployment", Some("demo"), "orion")
                        && complete(&d, generation)
                    {
                        return Some(Instant::now());
                    }
                    if done.load(Ordering::SeqCst) {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                None
            })
        };
        let version = format!("4.1.{}", i + 1);
        let before = rig.chat.log.lock().unwrap().len();
        let command = format!("/ge upgrade orion version={version}");
        let peer_wait = {
            let api = api.clone();
            tokio::spawn(async move {
                // Let the upgrade's apply land first, so the condition is about this rollout.
                for _ in 0..5_000 {
                    if let Ok(d) = api.get("orion").await
                        && d.metadata.generation.unwrap_or(0) > generation
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let cond = await_condition(api, "orion", conditions::is_deployment_completed());
                tokio::time::timeout(Duration::from_secs(30), cond)
                    .await
                    .ok()
                    .map(|_| Instant::now())
            })
        };
        let (job, _) = rig.run(&command).await;
        assert!(job.state.is_terminal());
        done.store(true, Ordering::SeqCst);
        let completed = seen.await.unwrap().expect("the rollout completed");
        let peer_done = peer_wait.await.unwrap().expect("the watch saw it");
        let posted = rig
            .chat
            .log
            .lock()
            .unwrap()
            .iter()
            .skip(before)
            .find_map(|s| match s {
                Sent::Send { text, at, .. }
                    if text.starts_with(&format!("job #{} ", job.id))
                        && text.contains(" succeeded in ") =>
                {
                    Some(at.into_std())
                }
                _ => None,
            })
            .expect("the outcome was posted");
        bot.record(posted.saturating_duration_since(completed).as_micros() as u64)
            .unwrap();
        peer.record(peer_done.saturating_duration_since(completed).as_micros() as u64)
            .unwrap();
    }
    println!("## Rollout completion to final chat post ({ROLLOUTS} upgrades of orion)\n");
    table(&[
        ("labkube: outcome posted", &bot),
        ("peer: kube-runtime await_condition", &peer),
    ]);
    println!(
        "\ntarget p99 <= 1000 ms: {}; labkube p99 / peer p99 = {:.2}\n",
        if ms(&bot, 0.99) <= 1000.0 {
            "met"
        } else {
            "MISSED"
        },
        ms(&bot, 0.99) / ms(&peer, 0.99).max(0.001)
    );
    match Arc::try_unwrap(rig) {
        Ok(rig) => rig.stop().await,
        Err(_) => panic!("the rig is still shared"),
    }
}

async fn acks_under_load() {
    let mut opts = RigOptions {
        concurrent_jobs: PER_ROUND,
        ..Default::default()
    };
    // Pods take a while, so all 20 installs of a round are rolling out at once.
    opts.fake.ready_delay = Duration::from_millis(1500);
    let rig = Rig::with(opts).await;
    let mut idle = Histogram::<u64>::new(3).unwrap();
    for i in 0..PER_ROUND * ROUNDS {
        let t = Instant::now();
        rig.say_as("root", &format!("/selftest steps=1 ms={}", 1 + i % 2))
            .await;
        idle.record(t.elapsed().as_micros() as u64).unwrap();
        // One at a time: the idle bot.
        rig.finished(rig.last_job()).await;
    }
    let mut loaded = Histogram::<u64>::new(3).unwrap();
    for round in 0..ROUNDS {
        for k in 0..PER_ROUND {
            let t = Instant::now();
            rig.say_as("ada", &format!("/ge install orion ns=r{round}-n{k}"))
                .await;
            loaded.record(t.elapsed().as_micros() as u64).unwrap();
        }
        let last = rig.last_job();
        for id in last + 1 - PER_ROUND as u64..=last {
            let job = rig.finished(id).await;
            assert!(job.state.is_terminal());
        }
    }
    let running_max = rig
        .store
        .recent(1000)
        .unwrap()
        .iter()
        .filter(|j| j.kind.title().starts_with("ge install"))
        .count();
    println!(
        "## Acknowledgements: {ROUNDS} rounds of {PER_ROUND} concurrent installs ({running_max} installs)\n"
    );
    table(&[
        ("labkube: /ge install ack, 20 installs running", &loaded),
        ("peer: /selftest ack on the idle bot", &idle),
    ]);
    println!(
        "\ntarget p99 <= 50 ms: {}; loaded p99 / idle p99 = {:.2}",
        if ms(&loaded, 0.99) <= 50.0 {
            "met"
        } else {
            "MISSED"
        },
        ms(&loaded, 0.99) / ms(&idle, 0.99).max(0.001)
    );
    rig.stop().await;
}
