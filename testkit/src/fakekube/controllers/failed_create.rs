//! Pod creates the API refused a controller (an admission plugin said no): the Warning event the
//! controller records, and the back-off before it tries again.
//!
//! A controller whose sync fails is requeued through client-go's default controller rate
//! limiter (`staging/src/k8s.io/client-go/util/workqueue/default_rate_limiters.go`,
//! `DefaultControllerRateLimiter`: 5 ms doubling with every failure, at most 1000 s); a change
//! of its spec syncs it at once. Here the ceiling is scaled by `time_scale` like the other
//! durations a test would otherwise wait out, and a new `metadata.generation` starts over.

use super::super::events::{self, Event, Recorder};
use super::super::meta;
use super::super::store::State;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// Retry state of one controller object.
#[derive(Debug, Clone)]
pub(in super::super) struct Backoff {
    /// Refused syncs in a row.
    failures: u32,
    /// Not before then.
    next: Instant,
    /// The object's generation when it last failed.
    generation: i64,
}

/// The first retry delay of the rate limiter.
const BASE: Duration = Duration::from_millis(5);

/// Its ceiling, before `time_scale`.
const CEILING: Duration = Duration::from_secs(1000);

fn generation(owner: &Value) -> i64 {
    meta::i64_at(owner, &["metadata", "generation"]).unwrap_or(0)
}

/// Whether the controller of `owner` may try creating pods this round.
pub(super) fn may_try(st: &State, owner: &Value) -> bool {
    st.ctl
        .backoff
        .get(meta::uid(owner))
        .is_none_or(|b| b.generation != generation(owner) || Instant::now() >= b.next)
}

/// A sync of `owner` ended without a refused create: the back-off is forgotten.
pub(super) fn succeeded(st: &mut State, owner: &Value) {
    st.ctl.backoff.remove(meta::uid(owner));
}

/// A create for `owner` was refused: `event` is recorded by the controller `component` as a
/// Warning `FailedCreate` on `owner`, and the next try waits.
pub(super) fn failed(st: &mut State, owner: &Value, component: &str, event: &str) {
    let current = generation(owner);
    let failures = match st.ctl.backoff.get(meta::uid(owner)) {
        Some(b) if b.generation == current => b.failures + 1,
        _ => 1,
    };
    let ceiling = CEILING.mul_f64(st.knobs.time_scale.max(0.0));
    let delay = BASE
        .saturating_mul(1_u32 << (failures - 1).min(20))
        .min(ceiling.max(BASE));
    st.ctl.backoff.insert(
        meta::uid(owner).to_string(),
        Backoff {
            failures,
            next: Instant::now() + delay,
            generation: current,
        },
    );
    let e = Event {
        type_: "Warning",
        reason: "FailedCreate",
        message: event,
        component,
        recorder: Recorder::Core,
    };
    events::record(st, owner, &e);
}
