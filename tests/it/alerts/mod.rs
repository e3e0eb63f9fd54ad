//! Alerts: incidents in the clusters the bot knows, told to the owning room as one message
//! each, edited as they evolve and closed when they recover; against the fake API server,
//! whose kubelet crashes containers, OOM-kills them and stops as a real one does.

mod control;
mod flood;
mod healing;
mod incidents;
mod outages;

use std::time::{Duration, Instant};

use labkube::config::Alerts;
use labkube_testkit::fakekube::FakeOptions;
use labkube_testkit::ge_rig::{LIMIT, Rig, RigOptions};
use labkube_testkit::support::Sent;

/// `[alerts]` for tests: incidents close 2 s after their problems are gone, the API server is
/// unreachable after 5 s, clusters are looked for every second.
pub fn settings() -> Alerts {
    Alerts {
        recovered_after_secs: 2,
        unreachable_secs: 5,
        claim_pending_secs: 10,
        rescan_secs: 1,
        ..Alerts::default()
    }
}

/// A rig with alerts on and pods Ready after `ready_ms`.
pub async fn rig(ready_ms: u64) -> Rig {
    Rig::with(RigOptions {
        alerts: Some(settings()),
        fake: FakeOptions {
            ready_delay: Duration::from_millis(ready_ms),
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await
}

/// What the recording chat saw, picked by `pick`.
fn picked<T>(rig: &Rig, pick: impl Fn(&Sent) -> Option<T>) -> Vec<T> {
    rig.chat
        .log
        .lock()
        .unwrap()
        .iter()
        .filter_map(pick)
        .collect()
}

/// The alert messages the bot sent (not edits): `(message id, text)`.
pub fn alerts_sent(rig: &Rig) -> Vec<(String, String)> {
    picked(rig, |s| match s {
        Sent::Send { id, text, .. } if text.starts_with("alert #") => {
            Some((id.clone(), text.clone()))
        }
        _ => None,
    })
}

/// The texts message `id` was edited to, in order.
pub fn edits_of(rig: &Rig, id: &str) -> Vec<String> {
    picked(rig, |s| match s {
        Sent::Edit { id: e, text, .. } if e == id => Some(text.clone()),
        _ => None,
    })
}

/// Waits until message `id` shows a text containing `needle` (sent so or edited to it).
pub async fn shows(rig: &Rig, id: &str, needle: &str) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        let texts: Vec<String> = alerts_sent(rig)
            .into_iter()
            .filter(|(i, _)| i == id)
            .map(|(_, t)| t)
            .chain(edits_of(rig, id))
            .collect();
        if let Some(t) = texts.iter().find(|t| t.contains(needle)) {
            return t.clone();
        }
        assert!(
            Instant::now() < deadline,
            "message {id} never showed {needle:?}; it showed:\n{}",
            texts.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the first alert message containing `needle`; returns its id and text.
pub async fn alert(rig: &Rig, needle: &str) -> (String, String) {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(found) = alerts_sent(rig)
            .into_iter()
            .find(|(_, t)| t.contains(needle))
        {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no alert containing {needle:?}; the bot said:\n{}",
            rig.texts().join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
