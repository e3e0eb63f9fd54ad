//! Checks shared by the catalogue loader and the renderer: quantities, typed (k8s-openapi)
//! validation of rendered objects, and the catalogue's manifest policy. Name, tag and image
//! syntax are the rules of [`crate::names`].

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::names::Version;

use crate::kube::catalogue::def::{GeDef, ProbeKind};

pub use crate::names::quantity::bytes as quantity_bytes;

/// Deserializes `value` into the k8s-openapi type of `kind` and refuses fields the type does not
/// know (k8s-openapi ignores them silently, so a misspelt `readinesProbe` would vanish).
pub(crate) fn typed(kind: &str, value: &Value) -> Result<(), String> {
    let round = match kind {
        "Deployment" => roundtrip::<Deployment>(value),
        "StatefulSet" => roundtrip::<StatefulSet>(value),
        "DaemonSet" => roundtrip::<DaemonSet>(value),
        "Service" => roundtrip::<Service>(value),
        "ConfigMap" => roundtrip::<ConfigMap>(value),
        "PersistentVolumeClaim" => roundtrip::<PersistentVolumeClaim>(value),
        other => return Err(format!("kind {other} is not allowed")),
    }?;
    let mut unknown = Vec::new();
    missing_fields(value, &round, &mut String::new(), &mut unknown);
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unknown field(s) for {kind}: {}",
            unknown.join(", ")
        ))
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Paths present (non-null) in `original` but absent from `round`.
fn missing_fields(original: &Value, round: &Value, path: &mut String, out: &mut Vec<String>) {
    match (original, round) {
        (Value::Object(o), Value::Object(r)) => {
            for (k, v) in o {
                if v.is_null() {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match r.get(k) {
                    None => out.push(path.clone()),
                    Some(rv) => missing_fields(v, rv, path, out),
                }
                path.truncate(len);
            }
        }
        (Value::Array(o), Value::Array(r)) => {
            for (i, (v, rv)) in o.iter().zip(r).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                missing_fields(v, rv, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// What a render must satisfy for [`check_policy`].
pub(crate) struct PolicyInput<'a> {
    /// The version rendered.
    pub version: &'a str,
    /// The replicas rendered.
    pub replicas: u32,
    /// Whether Services were to be NodePort.
    pub expose_nodeport: bool,
    /// Secrets the GE may reference: its own and its transitive dependencies' (name → keys).
    pub secrets: &'a BTreeMap<String, BTreeSet<String>>,
}

/// The catalogue's rules for rendered manifests; returns every problem found.
pub(crate) fn check_policy(ge: &GeDef, objects: &[Value], input: &PolicyInput) -> Vec<String> {
    let mut problems = Vec::new();
    let kind_of = |o: &Value| o["kind"].as_str().unwrap_or_default().to_string();
    let name_of = |o: &Value| {
        o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let workloads: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("Deployment" | "StatefulSet" | "DaemonSet")
            )
        })
        .collect();

    let rendered: BTreeSet<(String, String)> =
        workloads.iter().map(|o| (kind_of(o), name_of(o))).collect();
    let declared: BTreeSet<(String, String)> = ge
        .workloads
        .iter()
        .map(|w| (w.kind.as_str().to_string(), w.name.clone()))
        .collect();
    for (k, n) in declared.difference(&rendered) {
        problems.push(format!(
            "[[workloads]] names {k}/{n} but the templates do not render it"
        ));
    }
    for (k, n) in rendered.difference(&declared) {
        problems.push(format!(
            "renders {k}/{n} but [[workloads]] does not list it"
        ));
    }

    let image = ge.image_ref(input.version);
    let mut image_used = false;
    let mut replicas_used = false;
    let mut pod_labels: Vec<&serde_json::Map<String, Value>> = Vec::new();
    for w in &workloads {
        let id = format!("{}/{}", kind_of(w), name_of(w));
        let spec = &w["spec"];
        let labels = spec["template"]["metadata"]["labels"].as_object();
        let selector = spec["selector"]["matchLabels"].as_object();
        match (selector, labels) {
            (Some(sel), Some(lab)) if !sel.is_empty() => {
                if sel.iter().any(|(k, v)| lab.get(k) != Some(v)) {
                    problems.push(format!(
                        "{id}: selector.matchLabels not all on the pod template"
                    ));
                }
                if sel.contains_key(crate::kube::catalogue::render::LABEL_VERSION) {
                    problems.push(format!(
                        "{id}: selector must not use the version label (selectors are immutable)"
                    ));
                }
                pod_labels.push(lab);
            }
            _ => problems.push(format!("{id}: needs a non-empty spec.selector.matchLabels")),
        }
        if spec["replicas"].as_u64() == Some(u64::from(input.replicas)) {
            replicas_used = true;
        }
        match kind_of(w).as_str() {
            "Deployment" => {
                let s = &spec["strategy"];
                if s["type"] != "RollingUpdate"
                    || s["rollingUpdate"]["maxSurge"] != 1
                    || s["rollingUpdate"]["maxUnavailable"] != 0
                {
                    problems.push(format!(
                        "{id}: strategy must be RollingUpdate with maxSurge 1, maxUnavailable 0"
                    ));
                }
                match spec["progressDeadlineSeconds"].as_u64() {
                    Some(p) if p <= ge.rollout_timeout.as_secs() => {}
                    _ => problems.push(format!(
                        "{id}: progressDeadlineSeconds must be set and at most rollout_timeout_secs"
                    )),
                }
            }
            "StatefulSet" if spec["updateStrategy"]["type"] != "RollingUpdate" => {
                problems.push(format!("{id}: updateStrategy must be RollingUpdate"));
            }
            _ => {}
        }
        let pod = &spec["template"]["spec"];
        for c in pod["initContainers"].as_array().into_iter().flatten() {
            check_container(&id, c, false, input, &mut problems, &mut image_used, &image);
        }
        for c in pod["containers"].as_array().into_iter().flatten() {
            check_container(&id, c, true, input, &mut problems, &mut image_used, &image);
        }
    }
    if !image_used {
        problems.push(format!("no container runs the GE image {image}"));
    }
    if !replicas_used {
        problems.push(format!(
            "no workload has spec.replicas = {{{{ replicas }}}} ({})",
            input.replicas
        ));
    }

    let mut main_service = false;
    for s in objects.iter().filter(|o| o["kind"] == "Service") {
        let id = format!("Service/{}", name_of(s));
        let spec = &s["spec"];
        let ty = spec["type"].as_str().unwrap_or("ClusterIP");
        let want = if input.expose_nodeport {
            "NodePort"
        } else {
            "ClusterIP"
        };
        if name_of(s) == ge.name {
            main_service = true;
            if ty != want {
                problems.push(format!(
                    "{id}: type must be {want} (follow expose_nodeport)"
                ));
            }
            for p in &ge.ports {
                let found = spec["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|sp| sp["port"] == u64::from(p.port) && sp["name"] == p.name.as_str());
                if !found {
                    problems.push(format!(
                        "{id}: declared port {} ({}) is not on the Service",
                        p.name, p.port
                    ));
                }
            }
        } else if ty != "ClusterIP" && ty != want {
            problems.push(format!("{id}: type must be ClusterIP or {want}"));
        }
        match spec["selector"].as_object() {
            Some(sel) if !sel.is_empty() => {
                if !pod_labels
                    .iter()
                    .any(|l| sel.iter().all(|(k, v)| l.get(k) == Some(v)))
                {
                    problems.push(format!("{id}: selector matches no pod template"));
                }
            }
            _ => problems.push(format!("{id}: needs a selector")),
        }
    }
    if !main_service {
        problems.push(format!(
            "no Service named {} (the GE's main Service)",
            ge.name
        ));
    }

    for h in &ge.health {
        let Some(w) = workloads.iter().find(|w| name_of(w) == h.workload) else {
            problems.push(format!(
                "[[health]] names workload {} which is not rendered",
                h.workload
            ));
            continue;
        };
        let matches = w["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                let p = &c["readinessProbe"];
                match h.kind {
                    ProbeKind::Http => {
                        p["httpGet"]["path"].as_str() == h.path.as_deref()
                            && p["httpGet"]["port"].as_u64() == h.port.map(u64::from)
                    }
                    ProbeKind::Tcp => p["tcpSocket"]["port"].as_u64() == h.port.map(u64::from),
                    ProbeKind::Exec => p["exec"].is_object(),
                }
            });
        if !matches {
            problems.push(format!(
                "[[health]] {} ({h}) does not match any readinessProbe of that workload",
                h.workload
            ));
        }
    }
    problems
}

/// Env names that must come from a Secret.
fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["PASS", "PWD", "SECRET", "TOKEN"]
        .iter()
        .any(|s| n.contains(s))
}

fn check_container(
    id: &str,
    c: &Value,
    main: bool,
    input: &PolicyInput,
    problems: &mut Vec<String>,
    image_used: &mut bool,
    image: &str,
) {
    let cid = format!("{id} container {}", c["name"].as_str().unwrap_or("?"));
    let img = c["image"].as_str().unwrap_or_default();
    if img == image {
        *image_used = true;
    }
    match img.rsplit_once(':') {
        Some((_, tag)) if tag != "latest" && Version::parse(tag).is_ok() && !tag.contains('/') => {}
        _ => problems.push(format!("{cid}: image {img} must carry a pinned tag")),
    }
    if main {
        for probe in ["readinessProbe", "livenessProbe"] {
            if !c[probe].is_object() {
                problems.push(format!("{cid}: needs a {probe}"));
            }
        }
    }
    for part in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            if c["resources"][part][res].is_null() {
                problems.push(format!("{cid}: needs resources.{part}.{res}"));
            }
        }
    }
    for e in c["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default();
        let key_ref = &e["valueFrom"]["secretKeyRef"];
        if is_sensitive(name) && !key_ref.is_object() {
            problems.push(format!(
                "{cid}: env {name} must come from valueFrom.secretKeyRef"
            ));
        }
        if key_ref.is_object() {
            let secret = key_ref["name"].as_str().unwrap_or_default();
            let key = key_ref["key"].as_str().unwrap_or_default();
            match input.secrets.get(secret) {
                Some(keys) if keys.contains(key) => {}
                Some(_) => problems.push(format!("{cid}: env {name} uses key {key} which secret {secret} does not declare")),
                None => problems.push(format!("{cid}: env {name} uses secret {secret} which neither this GE nor its dependencies declare")),
            }
        }
    }
    if c["envFrom"].is_array() {
        problems.push(format!(
            "{cid}: envFrom is not allowed (name each variable)"
        ));
    }
}
