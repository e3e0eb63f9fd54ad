//! Alert latency: `cargo bench --bench alerts`.
//!
//! The in-process bot of the integration tests (`labkube_testkit::ge_rig`, alerts on, a
//! recording chat) against the fake API server with no controllers (a scripted cluster). 200
//! incidents, one at a time: a crash-looping pod of a new release is written to the API server
//! and the clock runs until the incident's alert reaches the chat adapter. The cap per room is
//! raised out of the way (the target is "outside rate-limit waits"). The peer, in the same runs,
//! is a bare kube-runtime watcher of the same pods: the instant it sees the pod, the least any
//! watcher can do.

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
