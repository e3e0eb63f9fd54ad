//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: what containers printed, as the apiserver
//! and the kubelet serve it, refusals in their words. The checks come from
//! `pkg/registry/core/pod/strategy.go` (`LogLocation`, `validateContainer`: "a container name
//! must be specified for pod NAME, choose one of: [...]", "container X is not valid for pod
//! NAME", "pod NAME does not have a host assigned") and the kubelet's
//! `validateContainerLogStatus` (`pkg/kubelet/kubelet_pods.go`: "previous terminated container
//! \"X\" in pod \"NAME\" not found", "container \"X\" in pod \"NAME\" is waiting to start:
//! REASON"). `tailLines` and `limitBytes` bound the answer as the kubelet does (the byte limit
//! counted from the start of the tail).

use super::errors::ApiError;
use super::handlers::Req;
use super::meta::{at, str_at};
use super::resources::res;
use super::store::State;
use serde_json::Value;

/// Lines printed by a container: `(restart count when printed, line)`.
pub(super) type Printed = Vec<(u64, String)>;

/// The container's restart count now.
fn restarts(pod: &Value, container: &str) -> u64 {
    at(pod, &["status", "containerStatuses"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|s| str_at(s, &["name"]) == Some(container))
        .and_then(|s| s.get("restartCount"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Records that `container` of `ns/pod` printed `line` (in its current run).
pub(super) fn print(st: &mut State, ns: &str, pod: &str, container: &str, line: &str) {
    let run = st
        .get(res::PODS, ns, pod)
        .map(|p| restarts(p, container))
        .unwrap_or(0);
    st.ctl
        .logs
        .entry((ns.to_string(), pod.to_string(), container.to_string()))
        .or_default()
        .push((run, line.to_string()));
}

/// The log text the request asks for.
pub(super) fn serve(st: &State, ns: &str, name: &str, req: &Req) -> Result<String, ApiError> {
    let pod = st
        .get(res::PODS, ns, name)
        .ok_or_else(|| ApiError::NotFound {
            resource: "pods".into(),
            name: name.into(),
        })?;
    let names: Vec<&str> = at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| str_at(c, &["name"]))
        .collect();
    let container = match req.q("container") {
        Some(c) if names.contains(&c) => c.to_string(),
        Some(c) => {
            return Err(ApiError::BadRequest(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if names.len() == 1 => names[0].to_string(),
        None => {
            return Err(ApiError::BadRequest(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    if str_at(pod, &["spec", "nodeName"]).is_none_or(str::is_empty) {
        return Err(ApiError::BadRequest(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let status = at(pod, &["status", "containerStatuses"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|s| str_at(s, &["name"]) == Some(container.as_str()));
    let previous = matches!(req.q("previous"), Some("true") | Some("1"));
    let run = restarts(pod, &container);
    let wanted = if previous {
        let terminated = status.and_then(|s| at(s, &["lastState", "terminated"]));
        if terminated.is_none() || run == 0 {
            return Err(ApiError::BadRequest(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        run - 1
    } else {
        let started = status.is_some_and(|s| {
            at(s, &["state", "running"]).is_some() || at(s, &["lastState", "terminated"]).is_some()
        });
        if !started {
            let reason = status
                .and_then(|s| str_at(s, &["state", "waiting", "reason"]))
                .unwrap_or("ContainerCreating");
            return Err(ApiError::BadRequest(format!(
                "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
            )));
        }
        run
    };
    let printed = st
        .ctl
        .logs
        .get(&(ns.to_string(), name.to_string(), container))
        .map(|p| {
            p.iter()
                .filter(|(r, _)| *r == wanted)
                .map(|(_, l)| l.as_str())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let tail = req
        .q("tailLines")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let from = printed.len().saturating_sub(tail);
    let mut text: String = printed[from..].iter().map(|l| format!("{l}\n")).collect();
    if let Some(limit) = req.q("limitBytes").and_then(|n| n.parse::<usize>().ok())
        && text.len() > limit
    {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Ok(text)
}
