//! When each delivered command was read off a sync, kept until its first reply (the
//! acknowledgement or answer) is sent, so the bot's own share of the time to acknowledge can be
//! told from the homeserver's. Logged at debug level under the target `labkube::latency`: an
//! operator's diagnostic for slow replies (README, "Configuration"), which `benches/matrix.rs`
//! also reads. An entry is dropped when its command is handled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Arrival times by event id.
#[derive(Clone, Default)]
pub(super) struct Arrivals(Arc<Mutex<HashMap<String, Instant>>>);

impl Arrivals {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        // Single inserts and removes: a panic elsewhere cannot leave the map half-changed.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The command `event` was read off a sync at `at`.
    pub fn arrived(&self, event: &str, at: Instant) {
        self.map().insert(event.to_string(), at);
    }

    /// Forgets `event`; returns when it arrived, if it was still known.
    pub fn take(&self, event: &str) -> Option<Instant> {
        self.map().remove(event)
    }
}

/// Logs the times of the first reply to a command that arrived at `arrived`, whose send began
/// at `sending` and ended now.
pub(super) fn log(event: &str, arrived: Instant, sending: Instant) {
    let now = Instant::now();
    tracing::debug!(
        target: "labkube::latency",
        event,
        bot_us = sending.duration_since(arrived).as_micros() as u64,
        homeserver_us = now.duration_since(sending).as_micros() as u64,
        "first reply sent"
    );
}
