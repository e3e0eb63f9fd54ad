//! Pods: building them from templates, and the fake kubelet that moves them through their
//! lifecycle once the scheduler has bound them. Image tags select failure modes: `broken` (ErrImagePull, then ImagePullBackOff),
//! `crash` (CrashLoopBackOff with growing restartCount), `badconfig`
//! (CreateContainerConfigError), `slow` (ready after 10x the ready delay); plus the rules added
//! with `FakeKube::fail_image`.

use super::super::admission;
use super::super::errors::ApiError;
use super::super::events::{self, Event, Recorder};
use super::super::meta::{self, at, str_at};
use super::super::resources::res;
use super::super::store::State;
use super::{PodClock, condition, pod_ready, set_status_if_changed};
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// A new pod object from a template, controlled by `owner`, created through the API: the
/// admission plugins may refuse it (`Err`, the apiserver's answer, and nothing is stored).
pub(super) fn make_pod(
    st: &mut State,
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &[(&str, String)],
    node: Option<&str>,
    generate_name: Option<&str>,
) -> Result<Value, ApiError> {
    let ns = str_at(owner, &["metadata", "namespace"]).unwrap_or_default();
    let mut labels = at(template, &["metadata", "labels"])
        .cloned()
        .unwrap_or(json!({}));
    for (k, v) in extra_labels {
        meta::set_at(&mut labels, &[k], json!(v));
    }
    let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
    // Only DaemonSet pods come with a node; the scheduler places the others.
    if let Some(node) = node {
        meta::set_at(&mut spec, &["nodeName"], json!(node));
    }
    if at(&spec, &["restartPolicy"]).is_none() {
        meta::set_at(&mut spec, &["restartPolicy"], json!("Always"));
    }
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": ns, "labels": labels,
            "ownerReferences": [meta::controller_ref(owner)],
        },
        "spec": spec,
        "status": { "phase": "Pending" },
    });
    if let Some(a) = at(template, &["metadata", "annotations"]) {
        meta::set_at(&mut pod, &["metadata", "annotations"], a.clone());
    }
    if let Some(g) = generate_name {
        meta::set_at(&mut pod, &["metadata", "generateName"], json!(g));
    }
    admission::admit_pod(st, &mut pod)?;
    let qos = super::scheduler::qos(&pod);
    meta::set_at(&mut pod, &["status", "qosClass"], json!(qos));
    super::controller_fields(&mut pod);
    Ok(st.insert(res::PODS, pod))
}

/// What one container is doing.
enum Phase {
    Creating,
    Running,
    Waiting(String, String),
    /// Restarted this many times; each exit with this code and reason.
    Crashing(u64, i32, String),
}

/// The crash rule (`FakeKube::crash_image`) that applies to `image`: exit code and reason.
fn crash_rule(st: &State, image: &str) -> Option<(i32, String)> {
    st.knobs
        .crash_rules
        .iter()
        .find(|(s, _, _)| image.contains(s.as_str()))
        .map(|(_, code, reason)| (*code, reason.clone()))
}

/// Why the kubelet cannot build the container's environment: a `secretKeyRef` (not optional)
/// whose Secret or key is missing, in the kubelet's words (`makeEnvironmentVariables`,
/// pkg/kubelet/kubelet_pods.go; the Secret's absence is the API's NotFound text).
fn missing_secret(st: &State, ns: &str, container: &Value) -> Option<String> {
    let env = at(container, &["env"]).and_then(Value::as_array)?;
    env.iter().find_map(|e| {
        let r = at(e, &["valueFrom", "secretKeyRef"])?;
        if at(r, &["optional"]).and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let name = str_at(r, &["name"]).unwrap_or_default();
        let key = str_at(r, &["key"]).unwrap_or_default();
        let Some(secret) = st.get(res::SECRETS, ns, name) else {
            return Some(format!("secret \"{name}\" not found"));
        };
        let has = |field: &str| at(secret, &[field, key]).is_some();
        (!has("data") && !has("stringData"))
            .then(|| format!("couldn't find key {key} in Secret {ns}/{name}"))
    })
}

fn container_phase(
    st: &State,
    ns: &str,
    container: &Value,
    age: Duration,
    clock: &PodClock,
) -> Phase {
    let delay = st.knobs.ready_delay;
    let image = str_at(container, &["image"]).unwrap_or_default();
    let period = (delay * 2).max(Duration::from_millis(1));
    if let (Some((code, reason)), Some((since, base))) = (crash_rule(st, image), clock.crashing) {
        let n = base + (since.elapsed().as_millis() / period.as_millis()) as u64 + 1;
        return Phase::Crashing(n, code, reason);
    }
    if age >= delay
        && let Some(message) = missing_secret(st, ns, container)
    {
        return Phase::Waiting("CreateContainerConfigError".into(), message);
    }
    if let Some((_, reason)) = st
        .knobs
        .fail_rules
        .iter()
        .find(|(s, _)| image.contains(s.as_str()))
    {
        return if age < delay {
            Phase::Creating
        } else {
            Phase::Waiting(
                reason.clone(),
                format!("fake failure rule for image {image}"),
            )
        };
    }
    match meta::image_tag(image) {
        "broken" if age < delay => Phase::Creating,
        "broken" if age < delay * 2 => Phase::Waiting(
            "ErrImagePull".into(),
            format!("failed to pull and unpack image \"{image}\": not found"),
        ),
        "broken" => Phase::Waiting(
            "ImagePullBackOff".into(),
            format!("Back-off pulling image \"{image}\""),
        ),
        "badconfig" if age >= delay => Phase::Waiting(
            "CreateContainerConfigError".into(),
            "secret \"missing-config\" not found".into(),
        ),
        "crash" if age >= delay => Phase::Crashing(
            ((age - delay).as_millis() / period.as_millis()) as u64 + 1,
            1,
            "Error".into(),
        ),
        "slow" if age >= delay * 10 => Phase::Running,
        "slow" | "badconfig" | "crash" => Phase::Creating,
        _ if age >= delay => Phase::Running,
        _ => Phase::Creating,
    }
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({ "waiting": { "reason": reason, "message": message } })
}

/// The status a pod should have now; timestamps are carried over from `old` where the state is unchanged.
fn pod_status(st: &State, pod: &Value, clock: &PodClock, old: &Value, ip: &str) -> Value {
    let age = clock.created.elapsed();
    let old_statuses: Vec<Value> = at(old, &["containerStatuses"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let containers = at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut all_ready, mut started_any, mut crash_any) = (!containers.is_empty(), false, false);
    let mut statuses = Vec::new();
    for c in &containers {
        let name = str_at(c, &["name"]).unwrap_or_default();
        let image = str_at(c, &["image"]).unwrap_or_default();
        let prev = old_statuses
            .iter()
            .find(|s| str_at(s, &["name"]) == Some(name));
        let prev_started = prev
            .and_then(|p| at(p, &["state", "running", "startedAt"]))
            .cloned();
        let mut cs = Map::new();
        cs.insert("name".into(), json!(name));
        cs.insert("image".into(), json!(image));
        cs.insert("imageID".into(), json!(""));
        cs.insert("lastState".into(), json!({}));
        let ns = str_at(pod, &["metadata", "namespace"]).unwrap_or_default();
        // What the container went through before stays with it (a healed crash loop).
        let prev_restarts = prev
            .and_then(|p| p.get("restartCount"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if let Some(last) = prev.and_then(|p| p.get("lastState")) {
            cs.insert("lastState".into(), last.clone());
        }
        let (ready, state, restarts) = match container_phase(st, ns, c, age, clock) {
            Phase::Creating => (false, waiting("ContainerCreating", ""), 0),
            Phase::Waiting(reason, msg) => (false, waiting(&reason, &msg), 0),
            Phase::Running => {
                started_any = true;
                let since = prev_started.unwrap_or_else(|| json!(meta::now_rfc3339()));
                cs.insert(
                    "imageID".into(),
                    json!(format!(
                        "{image}@sha256:{:064x}",
                        meta::fnv32a(image.as_bytes())
                    )),
                );
                cs.insert(
                    "containerID".into(),
                    json!(format!(
                        "containerd://{:064x}",
                        meta::fnv32a(meta::uid(pod).as_bytes())
                    )),
                );
                (
                    true,
                    json!({ "running": { "startedAt": since } }),
                    prev_restarts,
                )
            }
            Phase::Crashing(n, code, reason) => {
                crash_any = true;
                let same = prev
                    .and_then(|p| p.get("restartCount"))
                    .and_then(Value::as_u64)
                    == Some(n);
                let last = match prev.and_then(|p| p.get("lastState")) {
                    Some(l) if same && l.get("terminated").is_some() => l.clone(),
                    _ => {
                        let t = meta::now_rfc3339();
                        json!({ "terminated": { "exitCode": code, "reason": reason, "startedAt": t, "finishedAt": t,
                            "containerID": format!("containerd://{:064x}", n) } })
                    }
                };
                cs.insert("lastState".into(), last);
                let msg = format!(
                    "back-off 10s restarting failed container={name} pod={}",
                    meta::name(pod)
                );
                (false, waiting("CrashLoopBackOff", &msg), n)
            }
        };
        all_ready &= ready;
        cs.insert("ready".into(), json!(ready));
        cs.insert("started".into(), json!(ready));
        cs.insert("restartCount".into(), json!(restarts));
        cs.insert("state".into(), state);
        statuses.push(Value::Object(cs));
    }
    let phase = if all_ready || crash_any || started_any {
        "Running"
    } else {
        "Pending"
    };
    let prev_cond = |t: &str| {
        at(old, &["conditions"])
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|c| str_at(c, &["type"]) == Some(t)))
            .cloned()
    };
    let cond = |t: &str, ok: bool, reason: &str| {
        let mut c = condition(
            t,
            if ok { "True" } else { "False" },
            reason,
            "",
            prev_cond(t).as_ref(),
            false,
        );
        if let Some(m) = c.as_object_mut() {
            m.insert("lastProbeTime".into(), Value::Null);
            if ok {
                m.remove("reason");
                m.remove("message");
            } else {
                m.insert(
                    "message".into(),
                    json!(format!(
                        "containers with unready status: [{}]",
                        unready_names(&containers, &statuses)
                    )),
                );
            }
        }
        c
    };
    let host_ip = str_at(pod, &["spec", "nodeName"])
        .and_then(|n| st.get(res::NODES, "", n))
        .and_then(|n| at(n, &["status", "addresses"]))
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|a| str_at(a, &["type"]) == Some("InternalIP"))
        })
        .and_then(|a| str_at(a, &["address"]))
        .unwrap_or_default()
        .to_string();
    let start_time = old
        .get("startTime")
        .cloned()
        .unwrap_or_else(|| json!(meta::now_rfc3339()));
    json!({
        "phase": phase,
        "conditions": [
            cond("PodReadyToStartContainers", true, ""),
            cond("Initialized", true, ""),
            cond("Ready", all_ready, "ContainersNotReady"),
            cond("ContainersReady", all_ready, "ContainersNotReady"),
            cond("PodScheduled", true, ""),
        ],
        "hostIP": host_ip, "hostIPs": [{ "ip": host_ip }],
        "podIP": ip, "podIPs": [{ "ip": ip }],
        "startTime": start_time,
        "containerStatuses": statuses,
        "qosClass": super::scheduler::qos(pod),
    })
}

fn unready_names(containers: &[Value], statuses: &[Value]) -> String {
    containers
        .iter()
        .zip(statuses)
        .filter(|(_, s)| s.get("ready") != Some(&json!(true)))
        .map(|(c, _)| str_at(c, &["name"]).unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts or stops the pod's crash clock as crash rules apply to its containers or no longer
/// do; returns its clock.
fn crash_clock(st: &mut State, pod: &Value, uid: &str, old: &Value, clock: PodClock) -> PodClock {
    let images = at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let crashes = images
        .iter()
        .any(|c| crash_rule(st, str_at(c, &["image"]).unwrap_or_default()).is_some());
    let crashing = match (crashes, clock.crashing) {
        (true, Some(c)) => Some(c),
        (true, None) => {
            let restarts = at(old, &["containerStatuses"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("restartCount").and_then(Value::as_u64))
                .max()
                .unwrap_or(0);
            Some((Instant::now(), restarts))
        }
        (false, _) => None,
    };
    let clock = PodClock { crashing, ..clock };
    st.ctl.pods.insert(uid.to_string(), clock.clone());
    clock
}

/// One kubelet round over every pod.
pub(super) fn kubelet(st: &mut State) {
    // The kubelet sees only the pods bound to its node; a stopped one updates nothing.
    let stopped = st.knobs.stopped_kubelets.clone();
    let pods: Vec<Value> = st
        .list_owned(res::PODS, None)
        .into_iter()
        .filter(|p| {
            str_at(p, &["spec", "nodeName"])
                .is_some_and(|n| !n.is_empty() && !stopped.iter().any(|s| s == n))
        })
        .collect();
    let live: std::collections::HashSet<String> =
        pods.iter().map(|p| meta::uid(p).to_string()).collect();
    st.ctl.pods.retain(|uid, _| live.contains(uid));
    for pod in pods {
        let uid = meta::uid(&pod).to_string();
        let clock = match st.ctl.pods.get(&uid) {
            Some(c) => c.clone(),
            None => {
                let c = PodClock {
                    created: Instant::now(),
                    ready_since: None,
                    crashing: None,
                };
                st.ctl.pods.insert(uid.clone(), c.clone());
                st.ctl.pod_ips += 1;
                c
            }
        };
        let old = pod.get("status").cloned().unwrap_or(json!({}));
        let clock = crash_clock(st, &pod, &uid, &old, clock);
        let ip = match str_at(&old, &["podIP"]) {
            Some(ip) => ip.to_string(),
            None => format!(
                "10.244.{}.{}",
                (st.ctl.pod_ips / 250) % 256,
                st.ctl.pod_ips % 250 + 2
            ),
        };
        let status = pod_status(st, &pod, &clock, &old, &ip);
        let mut probe = pod.clone();
        probe["status"] = status.clone();
        let ready = pod_ready(&probe);
        if let Some(c) = st.ctl.pods.get_mut(&uid) {
            c.ready_since = match (ready, c.ready_since) {
                (true, Some(t)) => Some(t),
                (true, None) => Some(Instant::now()),
                (false, _) => None,
            };
        }
        let (ns, name) = super::ns_name(&pod);
        kubelet_events(st, &pod, &status);
        set_status_if_changed(st, res::PODS, &ns, &name, status);
    }
}

/// The events the kubelet records about a container that cannot run, in its words
/// (`pkg/kubelet/images/image_manager.go`: "Failed to pull image", "Back-off pulling image",
/// "Error: <reason>"; `pkg/kubelet/kuberuntime/kuberuntime_manager.go`: "Back-off restarting
/// failed container <name> in pod <name_ns(uid)>"). The core recorder, component `kubelet`.
fn kubelet_events(st: &mut State, pod: &Value, status: &Value) {
    let statuses = at(status, &["containerStatuses"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for cs in &statuses {
        let Some(reason) = str_at(cs, &["state", "waiting", "reason"]) else {
            continue;
        };
        let name = str_at(cs, &["name"]).unwrap_or_default();
        let image = str_at(cs, &["image"]).unwrap_or_default();
        let detail = str_at(cs, &["state", "waiting", "message"]).unwrap_or_default();
        let said: Vec<(&str, &str, String)> = match reason {
            "ErrImagePull" => vec![
                (
                    "Warning",
                    "Failed",
                    format!("Failed to pull image \"{image}\": {detail}"),
                ),
                ("Warning", "Failed", "Error: ErrImagePull".into()),
            ],
            "ImagePullBackOff" => vec![
                (
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                ),
                ("Warning", "Failed", "Error: ImagePullBackOff".into()),
            ],
            "CrashLoopBackOff" => vec![(
                "Warning",
                "BackOff",
                format!(
                    "Back-off restarting failed container {name} in pod {}_{}({})",
                    meta::name(pod),
                    str_at(pod, &["metadata", "namespace"]).unwrap_or_default(),
                    meta::uid(pod)
                ),
            )],
            "CreateContainerConfigError" => {
                vec![("Warning", "Failed", format!("Error: {detail}"))]
            }
            _ => Vec::new(),
        };
        for (type_, reason, message) in said {
            let event = Event {
                type_,
                reason,
                message: &message,
                component: "kubelet",
                recorder: Recorder::Core,
            };
            events::record(st, pod, &event);
        }
    }
}
