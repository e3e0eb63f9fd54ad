//! LimitRanges: their API defaulting and the LimitRanger admission plugin on pod creation
//! (`plugin/pkg/admission/limitranger/admission.go`).
//!
//! Modelled: limits of `type: Container`. The mutating half fills a container's missing
//! requests from `defaultRequest` and missing limits from `default` (containers and init
//! containers) and says so in the pod's `kubernetes.io/limit-ranger` annotation ("LimitRanger
//! plugin set: cpu, memory request for container app; cpu limit for container app"); the
//! validating half refuses a container outside `min`/`max` in the plugin's words ("maximum cpu
//! usage per Container is 1, but limit is 2"), every error of one LimitRange together as
//! `utilerrors.NewAggregate` joins them. Not modelled: `type: Pod` and
//! `PersistentVolumeClaim` limits, `maxLimitRequestRatio`, LimitRange validation.

use super::meta::{self, at, str_at};
use super::quantity::Quantity;
use super::store::State;
use serde_json::{Map, Value, json};

const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// `SetDefaults_LimitRangeItem` (`pkg/apis/core/v1/defaults.go`): for a Container limit, a
/// missing `default` comes from `max`, a missing `defaultRequest` from `default`, then from `min`.
pub(super) fn default_limit_range(obj: &mut Value) {
    let Some(items) = obj
        .get_mut("spec")
        .and_then(|s| s.get_mut("limits"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for item in items.iter_mut() {
        if str_at(item, &["type"]) != Some("Container") {
            continue;
        }
        fill(item, "default", "max");
        fill(item, "defaultRequest", "default");
        fill(item, "defaultRequest", "min");
    }
}

/// Copies the entries of `item[from]` that `item[to]` lacks into `item[to]`.
fn fill(item: &mut Value, to: &str, from: &str) {
    let Some(source) = item.get(from).and_then(Value::as_object).cloned() else {
        return;
    };
    meta::with_map(item, &[to], |target| {
        for (k, v) in source {
            target.entry(k).or_insert(v);
        }
    });
}

/// The LimitRanges of `ns`, defaulted as the API stores them.
fn limit_ranges(st: &State, ns: &str) -> Vec<Value> {
    st.list_owned("limitranges", Some(ns))
        .into_iter()
        .map(|mut lr| {
            default_limit_range(&mut lr);
            lr
        })
        .collect()
}

/// The Container limit items of a LimitRange.
fn container_items(lr: &Value) -> impl Iterator<Item = &Value> {
    at(lr, &["spec", "limits"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| str_at(i, &["type"]) == Some("Container"))
}

/// The mutating half (`PodMutateLimitFunc`), LimitRange by LimitRange: missing requests and
/// limits filled from the defaults, and the annotation saying which.
pub(super) fn mutate(st: &State, pod: &mut Value) {
    let ns = str_at(pod, &["metadata", "namespace"])
        .unwrap_or_default()
        .to_string();
    for lr in limit_ranges(st, &ns) {
        // defaultContainerResourceRequirements: later items win.
        let (mut requests, mut limits) = (Map::new(), Map::new());
        for item in container_items(&lr) {
            for (dst, key) in [(&mut requests, "defaultRequest"), (&mut limits, "default")] {
                if let Some(m) = item.get(key).and_then(Value::as_object) {
                    dst.extend(m.clone());
                }
            }
        }
        let mut notes = Vec::new();
        for (list, prefix) in [
            ("containers", "container"),
            ("initContainers", "init container"),
        ] {
            let Some(containers) = pod
                .get_mut("spec")
                .and_then(|s| s.get_mut(list))
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for c in containers.iter_mut() {
                let name = str_at(c, &["name"]).unwrap_or_default().to_string();
                let set_limits = merge(c, "limits", &limits);
                let set_requests = merge(c, "requests", &requests);
                if !set_requests.is_empty() {
                    notes.push(format!(
                        "{} request for {prefix} {name}",
                        set_requests.join(", ")
                    ));
                }
                if !set_limits.is_empty() {
                    notes.push(format!(
                        "{} limit for {prefix} {name}",
                        set_limits.join(", ")
                    ));
                }
            }
        }
        if !notes.is_empty() {
            let text = format!("LimitRanger plugin set: {}", notes.join("; "));
            meta::with_map(pod, &["metadata", "annotations"], |a| {
                a.insert(ANNOTATION.into(), json!(text));
            });
        }
    }
}

/// Sets the entries of `defaults` a container's `resources[kind]` lacks; the names set, sorted.
fn merge(container: &mut Value, kind: &str, defaults: &Map<String, Value>) -> Vec<String> {
    if defaults.is_empty() {
        return Vec::new();
    }
    let mut set = Vec::new();
    meta::with_map(container, &["resources", kind], |have| {
        for (k, v) in defaults {
            if !have.contains_key(k) {
                have.insert(k.clone(), v.clone());
                set.push(k.clone());
            }
        }
    });
    set.sort();
    set
}

/// The validating half (`PodValidateLimitFunc`): the first LimitRange a container breaks,
/// with every error it has about the pod.
pub(super) fn validate(st: &State, pod: &Value) -> Result<(), String> {
    let ns = str_at(pod, &["metadata", "namespace"]).unwrap_or_default();
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| at(pod, &["spec", k]).and_then(Value::as_array))
        .flatten()
        .collect();
    for lr in limit_ranges(st, ns) {
        let mut errors: Vec<String> = Vec::new();
        for item in container_items(&lr) {
            for c in &containers {
                for (bound, is_min) in [("min", true), ("max", false)] {
                    let Some(m) = item.get(bound).and_then(Value::as_object) else {
                        continue;
                    };
                    let mut names: Vec<&String> = m.keys().collect();
                    names.sort();
                    for r in names {
                        let Some(enforced) = m.get(r).and_then(Value::as_str) else {
                            continue;
                        };
                        if let Some(e) = check(c, r, enforced, is_min)
                            && !errors.contains(&e)
                        {
                            errors.push(e);
                        }
                    }
                }
            }
        }
        match errors.len() {
            0 => {}
            1 => return Err(errors.remove(0)),
            _ => return Err(format!("[{}]", errors.join(", "))),
        }
    }
    Ok(())
}

/// `minConstraint` / `maxConstraint` for one container and resource.
fn check(container: &Value, r: &str, enforced: &str, is_min: bool) -> Option<String> {
    let limit = Quantity::parse(enforced)?;
    let get = |kind: &str| str_at(container, &["resources", kind, r]).and_then(Quantity::parse);
    let (req, lim) = (get("requests"), get("limits"));
    let shown = limit.to_string();
    if is_min {
        let Some(rq) = req else {
            return Some(format!(
                "minimum {r} usage per Container is {shown}.  No request is specified"
            ));
        };
        if rq < limit {
            return Some(format!(
                "minimum {r} usage per Container is {shown}, but request is {rq}"
            ));
        }
        match lim {
            Some(l) if l < limit => Some(format!(
                "minimum {r} usage per Container is {shown}, but limit is {l}"
            )),
            _ => None,
        }
    } else {
        let Some(l) = lim else {
            return Some(format!(
                "maximum {r} usage per Container is {shown}.  No limit is specified"
            ));
        };
        if l > limit {
            return Some(format!(
                "maximum {r} usage per Container is {shown}, but limit is {l}"
            ));
        }
        match req {
            Some(rq) if rq > limit => Some(format!(
                "maximum {r} usage per Container is {shown}, but request is {rq}"
            )),
            _ => None,
        }
    }
}
