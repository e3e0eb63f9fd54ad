//! ResourceQuotas: what a pod uses of them (`pkg/quota/v1/evaluator/core/pods.go`), the
//! ResourceQuota admission plugin on pod creation
//! (`staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go`,
//! `CheckRequest`), and the usage the resource quota controller writes into `status.used`
//! (`pkg/controller/resourcequota/resource_quota_controller.go`).
//!
//! Admission reads `status.hard` (the controller copies it from `spec.hard`): a quota without
//! status does not constrain yet, as on a real cluster in the moment before its controller ran.
//! Usage is counted from the pods stored now, which is what `status.used` holds on a real
//! cluster once admission has charged each accepted pod and the controller has replenished
//! deleted ones. Object counts (`count/<resource>`, `services`, `configmaps`...) are reported in
//! the status but only pods are admitted against a quota here.

use super::controllers;
use super::meta::{at, str_at};
use super::quantity::Quantity;
use super::resources::{self, res};
use super::store::State;
use serde_json::Value;
use std::collections::BTreeMap;

/// Resource name → quantity (a `ResourceList`), ordered by name as upstream prints them.
pub(super) type Usage = BTreeMap<String, Quantity>;

/// The compute resources whose requests and limits quota tracks for pods.
const COMPUTE: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// The quota names whose presence requires every container to set them (`validationSet`).
const MUST_SPECIFY: [&str; 6] = [
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// Whether the pod evaluator tracks `name` (`podResources`; no hugepages or extended resources).
fn pod_resource(name: &str) -> bool {
    matches!(name, "pods" | "count/pods")
        || COMPUTE.iter().any(|r| {
            name == *r
                || name.strip_prefix("requests.") == Some(r)
                || name.strip_prefix("limits.") == Some(r)
        })
}

/// One `ResourceList` of an object (unparsable quantities left out).
fn list(v: Option<&Value>) -> Usage {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, q)| Some((k.clone(), Quantity::parse(q.as_str()?)?)))
        .collect()
}

/// `addResourceList`.
fn add_into(into: &mut Usage, from: &Usage) {
    for (k, q) in from {
        let sum = into.get(k).map_or(*q, |have| have.add(q));
        into.insert(k.clone(), sum);
    }
}

/// `maxResourceList`.
fn max_into(into: &mut Usage, from: &Usage) {
    for (k, q) in from {
        let max = into.get(k).map_or(*q, |have| have.max(*q));
        into.insert(k.clone(), max);
    }
}

/// `PodRequests` / `PodLimits` (`pkg/api/v1/resource/helpers.go`): the containers' sum, raised
/// to what the init containers need (a sidecar, `restartPolicy: Always`, adds to both), plus
/// the pod overhead.
fn pod_total(pod: &Value, kind: &str) -> Usage {
    let containers = |key: &str| {
        at(pod, &["spec", key])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut total = Usage::new();
    for c in containers("containers") {
        add_into(&mut total, &list(at(&c, &["resources", kind])));
    }
    let (mut sidecars, mut init) = (Usage::new(), Usage::new());
    for c in containers("initContainers") {
        let own = list(at(&c, &["resources", kind]));
        let needs = if str_at(&c, &["restartPolicy"]) == Some("Always") {
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut n = own;
            add_into(&mut n, &sidecars);
            n
        };
        max_into(&mut init, &needs);
    }
    max_into(&mut total, &init);
    let overhead = list(at(pod, &["spec", "overhead"]));
    if kind == "requests" {
        add_into(&mut total, &overhead);
    } else {
        let present: Usage = overhead
            .into_iter()
            .filter(|(k, _)| total.contains_key(k))
            .collect();
        add_into(&mut total, &present);
    }
    total
}

/// `PodUsageFunc`: what a pod counts against quota. A pod that has finished counts only as a
/// stored object (`count/pods`).
pub(super) fn pod_usage(pod: &Value) -> Usage {
    let mut usage = Usage::from([("count/pods".to_string(), Quantity::units(1))]);
    if matches!(
        str_at(pod, &["status", "phase"]),
        Some("Succeeded" | "Failed")
    ) {
        return usage;
    }
    usage.insert("pods".into(), Quantity::units(1));
    let (requests, limits) = (pod_total(pod, "requests"), pod_total(pod, "limits"));
    for r in COMPUTE {
        if let Some(q) = requests.get(r) {
            usage.insert(r.to_string(), *q);
            usage.insert(format!("requests.{r}"), *q);
        }
        if let Some(q) = limits.get(r) {
            usage.insert(format!("limits.{r}"), *q);
        }
    }
    usage
}

/// Whether the pod falls under one scope (`podMatchesScopeFunc`).
fn in_scope(pod: &Value, scope: &str, op: &str, values: &[&str]) -> bool {
    let terminating = at(pod, &["spec", "activeDeadlineSeconds"])
        .and_then(Value::as_i64)
        .is_some_and(|s| s >= 0);
    let best_effort = controllers::qos(pod) == "BestEffort";
    match scope {
        "Terminating" => terminating,
        "NotTerminating" => !terminating,
        "BestEffort" => best_effort,
        "NotBestEffort" => !best_effort,
        "PriorityClass" => {
            let class = str_at(pod, &["spec", "priorityClassName"]).unwrap_or_default();
            let has = !class.is_empty();
            match op {
                "DoesNotExist" => !has,
                "In" => has && values.contains(&class),
                "NotIn" => !has || !values.contains(&class),
                _ => has,
            }
        }
        "CrossNamespacePodAffinity" => ["podAffinity", "podAntiAffinity"].iter().any(|a| {
            let terms = |kind: &str, inner: bool| {
                at(pod, &["spec", "affinity", a, kind])
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(move |t| {
                        if inner {
                            t.get("podAffinityTerm")
                        } else {
                            Some(t)
                        }
                    })
                    .collect::<Vec<_>>()
            };
            terms("requiredDuringSchedulingIgnoredDuringExecution", false)
                .into_iter()
                .chain(terms(
                    "preferredDuringSchedulingIgnoredDuringExecution",
                    true,
                ))
                .flatten()
                .any(|t| {
                    t.get("namespaceSelector").is_some()
                        || t.get("namespaces")
                            .and_then(Value::as_array)
                            .is_some_and(|n| !n.is_empty())
                })
        }),
        _ => false,
    }
}

/// Whether every scope of the quota (`spec.scopes`, `spec.scopeSelector`) takes the pod.
fn scopes_match(quota: &Value, pod: &Value) -> bool {
    let plain = at(quota, &["spec", "scopes"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .all(|s| in_scope(pod, s, "Exists", &[]));
    let selected = at(quota, &["spec", "scopeSelector", "matchExpressions"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let field = |k: &str| str_at(e, &[k]).unwrap_or_default();
            in_scope(pod, field("scopeName"), field("operator"), &values)
        });
    plain && selected
}

/// The pods of `ns` a quota covers, summed over `keys` (each key present, zero by default:
/// `CalculateUsageStats`).
fn pods_usage(st: &State, quota: &Value, ns: &str, keys: &[&String]) -> Usage {
    let mut used: Usage = keys
        .iter()
        .map(|k| ((*k).clone(), Quantity::zero()))
        .collect();
    for pod in st.list(res::PODS, Some(ns)) {
        if !scopes_match(quota, pod) {
            continue;
        }
        let usage = pod_usage(pod);
        for (k, total) in used.iter_mut() {
            if let Some(q) = usage.get(k) {
                *total = total.add(q);
            }
        }
    }
    used
}

/// What the quota controller reports as used for one of the quota's keys in `ns`; `None` for
/// a resource the fake does not measure (hugepages, extended resources, storage classes).
pub(super) fn used(st: &State, quota: &Value, ns: &str, key: &String) -> Option<Quantity> {
    if pod_resource(key) {
        return pods_usage(st, quota, ns, &[key]).remove(key);
    }
    let count = |plural: &str| Quantity::units(st.list(plural, Some(ns)).len() as i64);
    let services = || st.list("services", Some(ns));
    match key.as_str() {
        "services" | "configmaps" | "secrets" | "persistentvolumeclaims" | "resourcequotas" => {
            Some(count(key))
        }
        "replicationcontrollers" => Some(Quantity::zero()),
        "services.loadbalancers" => Some(Quantity::units(
            services()
                .iter()
                .filter(|s| str_at(s, &["spec", "type"]) == Some("LoadBalancer"))
                .count() as i64,
        )),
        "services.nodeports" => Some(Quantity::units(
            services()
                .iter()
                .filter(|s| {
                    matches!(
                        str_at(s, &["spec", "type"]),
                        Some("NodePort" | "LoadBalancer")
                    )
                })
                .flat_map(|s| {
                    at(s, &["spec", "ports"])
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .count() as i64,
        )),
        "requests.storage" => Some(st.list(res::PVCS, Some(ns)).iter().fold(
            Quantity::zero(),
            |sum, c| {
                let q = str_at(c, &["spec", "resources", "requests", "storage"])
                    .and_then(Quantity::parse);
                q.map_or(sum, |q| sum.add(&q))
            },
        )),
        _ => {
            let name = key.strip_prefix("count/")?;
            let (plural, group) = name.split_once('.').unwrap_or((name, ""));
            Some(match resources::by_plural(group, plural) {
                Some(def) => count(def.plural),
                None => Quantity::zero(),
            })
        }
    }
}

/// `prettyPrint`: `requests.cpu=500m,requests.memory=256Mi`, sorted by name.
fn pretty(list: &Usage, keys: &[String]) -> String {
    keys.iter()
        .filter_map(|k| list.get(k).map(|q| format!("{k}={q}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// `Constraints`: a container that does not set a cpu or memory resource the quota tracks.
fn constraints(pod: &Value, restricted: &[String]) -> Result<(), String> {
    let required: Vec<&String> = restricted
        .iter()
        .filter(|r| MUST_SPECIFY.contains(&r.as_str()))
        .collect();
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for key in ["containers", "initContainers"] {
        for c in at(pod, &["spec", key])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let has = |kind: &str, r: &str| at(c, &["resources", kind, r]).is_some();
            for r in &required {
                let set = match r.split_once('.') {
                    Some(("limits", res)) => has("limits", res),
                    Some((_, res)) => has("requests", res),
                    None => has("requests", r),
                };
                if !set {
                    let names = missing.entry(r.as_str()).or_default();
                    names.push(str_at(c, &["name"]).unwrap_or_default().to_string());
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .into_iter()
        .map(|(r, mut names)| {
            names.sort();
            names.dedup();
            format!("{r} for: {}", names.join(","))
        })
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// The ResourceQuota admission of a new pod (after LimitRanger's defaults): `Err` with the
/// reason the apiserver gives after `pods "NAME" is forbidden: `.
pub(super) fn admit(st: &State, pod: &Value) -> Result<(), String> {
    let ns = str_at(pod, &["metadata", "namespace"]).unwrap_or_default();
    // First every quota's constraints and usage stats, then the usage against each.
    let mut interesting = Vec::new();
    for quota in st.list("resourcequotas", Some(ns)) {
        let name = str_at(quota, &["metadata", "name"]).unwrap_or_default();
        let hard = list(at(quota, &["status", "hard"]));
        let restricted: Vec<String> = hard.keys().filter(|k| pod_resource(k)).cloned().collect();
        if restricted.is_empty() || !scopes_match(quota, pod) {
            continue;
        }
        constraints(pod, &restricted).map_err(|e| format!("failed quota: {name}: {e}"))?;
        let recorded = at(quota, &["status", "used"]).and_then(Value::as_object);
        if restricted
            .iter()
            .any(|r| !recorded.is_some_and(|u| u.contains_key(r)))
        {
            return Err(format!(
                "status unknown for quota: {name}, resources: {}",
                restricted.join(",")
            ));
        }
        interesting.push((quota, name, hard));
    }
    let delta: Usage = pod_usage(pod)
        .into_iter()
        .filter(|(_, q)| !q.is_zero())
        .collect();
    for (quota, name, hard) in interesting {
        let requested: Usage = delta
            .iter()
            .filter(|(k, _)| hard.contains_key(*k))
            .map(|(k, q)| (k.clone(), *q))
            .collect();
        let keys: Vec<&String> = requested.keys().collect();
        let used = pods_usage(st, quota, ns, &keys);
        let exceeded: Vec<String> = requested
            .iter()
            .filter(|(k, q)| {
                let after = used.get(*k).map_or(**q, |u| u.add(q));
                hard.get(*k).is_some_and(|h| after > *h)
            })
            .map(|(k, _)| k.clone())
            .collect();
        if !exceeded.is_empty() {
            return Err(format!(
                "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
                pretty(&requested, &exceeded),
                pretty(&used, &exceeded),
                pretty(&hard, &exceeded)
            ));
        }
    }
    Ok(())
}
