//! Events (core/v1 `Event`) as the real components write them, seen through the core API:
//! kube-scheduler writes through the `events.k8s.io` recorder (`eventTime` and `series` set,
//! `firstTimestamp`/`lastTimestamp` null, `reportingComponent` only); the older controllers
//! (persistentvolume-controller) through the core recorder (`source.component`,
//! `firstTimestamp`, `lastTimestamp`, `count`). The fake's controllers look again every tick
//! where the real ones back off, so a repeat of the same reason and message for the same object
//! is not recorded again (the real correlator would count it into the one event).
//!
//! Similar core events (same object, type, reason and component, different messages: a
//! controller's `FailedCreate` naming a new generated pod each time) aggregate as client-go's
//! `EventCorrelator` does (`staging/src/k8s.io/client-go/tools/record/events_cache.go`,
//! `EventAggregator`, 10 distinct messages): the tenth and every later one go into one event
//! "(combined from similar events): <latest message>" whose `count` grows.

use super::meta::{self, str_at};
use super::resources::res;
use super::store::State;
use serde_json::{Value, json};

/// The prefix of an aggregated event's message (`EventAggregatorByReasonMessageFunc`).
const COMBINED: &str = "(combined from similar events): ";

/// Distinct messages after which similar events aggregate (`maxEvents` of the default
/// `EventAggregator`).
const AGGREGATE_AFTER: usize = 10;

/// Which recorder writes the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recorder {
    /// `events.k8s.io/v1` (kube-scheduler).
    New,
    /// The core recorder (controller-manager loops).
    Core,
}

/// What happened, to which object.
pub(super) struct Event<'a> {
    /// `Normal` or `Warning`.
    pub type_: &'a str,
    /// `FailedScheduling`, `ProvisioningSucceeded`...
    pub reason: &'a str,
    /// The component's own words.
    pub message: &'a str,
    /// `default-scheduler`, `persistentvolume-controller`...
    pub component: &'a str,
    /// Which recorder.
    pub recorder: Recorder,
}

/// Records `event` about `involved` (in its namespace; `default` for cluster-scoped objects).
pub(super) fn record(st: &mut State, involved: &Value, event: &Event<'_>) {
    let ns = str_at(involved, &["metadata", "namespace"])
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_string();
    let uid = meta::uid(involved).to_string();
    let now = meta::now_rfc3339();
    let about: Vec<Value> = st
        .list(res::EVENTS, Some(&ns))
        .into_iter()
        .filter(|e| {
            str_at(e, &["involvedObject", "uid"]) == Some(uid.as_str())
                && str_at(e, &["reason"]) == Some(event.reason)
        })
        .cloned()
        .collect();
    if about
        .iter()
        .any(|e| str_at(e, &["message"]) == Some(event.message))
    {
        return;
    }
    let mut message = event.message.to_string();
    if event.recorder == Recorder::Core {
        let similar: Vec<&Value> = about
            .iter()
            .filter(|e| {
                str_at(e, &["type"]) == Some(event.type_)
                    && str_at(e, &["source", "component"]) == Some(event.component)
            })
            .collect();
        let combined = format!("{COMBINED}{}", event.message);
        let aggregate = similar
            .iter()
            .find(|e| str_at(e, &["message"]).is_some_and(|m| m.starts_with(COMBINED)));
        if let Some(agg) = aggregate {
            if str_at(agg, &["message"]) != Some(combined.as_str()) {
                let mut agg = (*agg).clone();
                let count = agg.get("count").and_then(Value::as_i64).unwrap_or(1);
                agg["count"] = json!(count + 1);
                agg["lastTimestamp"] = json!(now);
                agg["message"] = json!(combined);
                st.replace(res::EVENTS, agg);
            }
            return;
        }
        if similar.len() + 1 >= AGGREGATE_AFTER {
            message = combined;
        }
    }
    let n = st.next_counter();
    let name = format!(
        "{}.{:016x}",
        meta::name(involved),
        u64::from(meta::fnv32a(uid.as_bytes())) << 32 | n
    );
    let kind = str_at(involved, &["kind"]).unwrap_or_default();
    let api_version = str_at(involved, &["apiVersion"]).unwrap_or("v1");
    let mut involved_ref = json!({
        "kind": kind, "name": meta::name(involved), "uid": uid, "apiVersion": api_version,
        "resourceVersion": str_at(involved, &["metadata", "resourceVersion"]).unwrap_or_default(),
    });
    if let Some(ns) = str_at(involved, &["metadata", "namespace"]) {
        involved_ref["namespace"] = json!(ns);
    }
    let mut e = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": { "name": name, "namespace": ns },
        "involvedObject": involved_ref,
        "reason": event.reason, "message": message, "type": event.type_,
        "reportingComponent": event.component, "reportingInstance": "",
    });
    match event.recorder {
        Recorder::Core => {
            e["source"] = json!({ "component": event.component });
            e["firstTimestamp"] = json!(now);
            e["lastTimestamp"] = json!(now);
            e["count"] = json!(1);
            e["eventTime"] = Value::Null;
        }
        Recorder::New => {
            e["source"] = json!({});
            e["firstTimestamp"] = Value::Null;
            e["lastTimestamp"] = Value::Null;
            e["eventTime"] = json!(micro(&now));
            e["action"] = json!("Scheduling");
            e["reportingInstance"] = json!(format!("{}-fake-cp", event.component));
        }
    }
    st.insert(res::EVENTS, e);
}

/// `2025-01-01T00:00:01Z` as a MicroTime (`2025-01-01T00:00:01.000000Z`).
fn micro(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(t) if !t.contains('.') => format!("{t}.000000Z"),
        _ => rfc3339.to_string(),
    }
}
