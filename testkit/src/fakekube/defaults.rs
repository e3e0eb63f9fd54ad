//! What the real apiserver does to an object before storing it: defaulting, validation of the
//! fields labkube relies on, status handling, Service IP/NodePort allocation, Secret `stringData`.

use super::controllers;
use super::errors::ApiError;
use super::meta::{self, at, str_at};
use super::resources::ResourceDef;
use super::store::State;
use serde_json::{Value, json};

/// Range NodePorts are allocated from.
const NODE_PORTS: std::ops::RangeInclusive<u64> = 30000..=32767;

fn default_at(obj: &mut Value, path: &[&str], v: Value) {
    if at(obj, path).is_none_or(Value::is_null) {
        meta::set_at(obj, path, v);
    }
}

/// Prepares `obj` (about to replace `old`, or be created when `old` is `None`) for storage.
pub(super) fn prepare(
    st: &mut State,
    def: &ResourceDef,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    // Admission runs before the registry's PrepareForCreate sets the pod's QoS class.
    if def.kind == "Pod" && old.is_none() {
        super::admission::admit_pod(st, obj)?;
    }
    if def.status_subresource {
        let status = match old {
            Some(o) => o.get("status").cloned(),
            None => initial_status(st, def, obj),
        };
        match status {
            Some(s) => meta::set_at(obj, &["status"], s),
            None => {
                meta::remove_at(obj, &["status"]);
            }
        }
    }
    if let Some(old) = old {
        super::rbac::check_role_ref(def, old, obj)?;
    }
    match def.kind {
        "Deployment" => {
            default_at(obj, &["spec", "replicas"], json!(1));
            default_at(obj, &["spec", "revisionHistoryLimit"], json!(10));
            default_at(obj, &["spec", "progressDeadlineSeconds"], json!(600));
            default_at(obj, &["spec", "strategy", "type"], json!("RollingUpdate"));
            if str_at(obj, &["spec", "strategy", "type"]) == Some("RollingUpdate") {
                default_at(
                    obj,
                    &["spec", "strategy", "rollingUpdate", "maxSurge"],
                    json!("25%"),
                );
                default_at(
                    obj,
                    &["spec", "strategy", "rollingUpdate", "maxUnavailable"],
                    json!("25%"),
                );
            }
            validate_selector(obj)?;
        }
        "StatefulSet" => {
            default_at(obj, &["spec", "replicas"], json!(1));
            default_at(obj, &["spec", "revisionHistoryLimit"], json!(10));
            default_at(obj, &["spec", "podManagementPolicy"], json!("OrderedReady"));
            default_at(
                obj,
                &["spec", "updateStrategy", "type"],
                json!("RollingUpdate"),
            );
            if str_at(obj, &["spec", "updateStrategy", "type"]) == Some("RollingUpdate") {
                default_at(
                    obj,
                    &["spec", "updateStrategy", "rollingUpdate", "partition"],
                    json!(0),
                );
            }
            default_at(
                obj,
                &["spec", "persistentVolumeClaimRetentionPolicy"],
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            validate_selector(obj)?;
            if let Some(old) = old {
                statefulset_update(old, obj)?;
            }
        }
        "HorizontalPodAutoscaler" => {
            default_at(obj, &["spec", "minReplicas"], json!(1));
            validate_hpa(obj)?;
        }
        "DaemonSet" => {
            default_at(obj, &["spec", "revisionHistoryLimit"], json!(10));
            default_at(
                obj,
                &["spec", "updateStrategy", "type"],
                json!("RollingUpdate"),
            );
            if str_at(obj, &["spec", "updateStrategy", "type"]) == Some("RollingUpdate") {
                default_at(
                    obj,
                    &["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"],
                    json!(1),
                );
                default_at(
                    obj,
                    &["spec", "updateStrategy", "rollingUpdate", "maxSurge"],
                    json!(0),
                );
            }
            validate_selector(obj)?;
            // The registry strategy's deprecated.daemonset.template.generation annotation.
            let key = "deprecated.daemonset.template.generation";
            let template_gen = match old {
                None => 1,
                Some(o) => {
                    let prev = str_at(o, &["metadata", "annotations", key])
                        .and_then(|g| g.parse::<i64>().ok())
                        .unwrap_or(1);
                    if o.get("spec").and_then(|s| s.get("template"))
                        == at(obj, &["spec", "template"])
                    {
                        prev
                    } else {
                        meta::i64_at(o, &["metadata", "generation"]).unwrap_or(prev) + 1
                    }
                }
            };
            meta::with_map(obj, &["metadata", "annotations"], |a| {
                a.insert(key.into(), json!(template_gen.to_string()));
            });
        }
        "Service" => service(st, obj, old)?,
        "Secret" => {
            default_at(obj, &["type"], json!("Opaque"));
            if let Some(Value::Object(sd)) = meta::remove_at(obj, &["stringData"]) {
                meta::with_map(obj, &["data"], |data| {
                    for (k, v) in sd {
                        let text = v.as_str().unwrap_or_default();
                        data.insert(k, json!(meta::base64_encode(text.as_bytes())));
                    }
                });
            }
        }
        "Namespace" => {
            let name = meta::name(obj).to_string();
            meta::with_map(obj, &["metadata", "labels"], |l| {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            });
            default_at(obj, &["spec", "finalizers"], json!(["kubernetes"]));
        }
        "PersistentVolumeClaim" => default_at(obj, &["spec", "volumeMode"], json!("Filesystem")),
        "LimitRange" => super::limits::default_limit_range(obj),
        "StorageClass" => {
            default_at(obj, &["reclaimPolicy"], json!("Delete"));
            default_at(obj, &["volumeBindingMode"], json!("Immediate"));
        }
        "Pod" => {
            default_at(obj, &["spec", "restartPolicy"], json!("Always"));
        }
        _ => {}
    }
    Ok(())
}

/// Status a new object starts with (status of writes to the main resource is ignored).
fn initial_status(st: &mut State, def: &ResourceDef, obj: &mut Value) -> Option<Value> {
    match def.kind {
        "Namespace" => Some(json!({"phase": "Active"})),
        "Pod" => Some(json!({"phase": "Pending", "qosClass": controllers::qos(obj)})),
        "Service" => Some(json!({"loadBalancer": {}})),
        "PersistentVolumeClaim" => {
            // The DefaultStorageClass admission plugin; binding is the PV controller's.
            controllers::volumes::admit_claim(st, obj);
            Some(json!({"phase": "Pending"}))
        }
        _ => Some(json!({})),
    }
}

/// `spec.selector` is required and must select the template's labels (as the real validation).
fn validate_selector(obj: &Value) -> Result<(), ApiError> {
    let Some(sel) = at(obj, &["spec", "selector", "matchLabels"]).and_then(Value::as_object) else {
        if at(obj, &["spec", "selector", "matchExpressions"]).is_some() {
            return Ok(());
        }
        return Err(ApiError::Invalid(format!(
            "{} \"{}\" is invalid: spec.selector: Required value",
            str_at(obj, &["kind"]).unwrap_or_default(),
            meta::name(obj)
        )));
    };
    let tpl = at(obj, &["spec", "template", "metadata", "labels"]);
    let ok = sel
        .iter()
        .all(|(k, v)| tpl.and_then(|t| t.get(k)) == Some(v));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Invalid(format!(
            "{} \"{}\" is invalid: spec.template.metadata.labels: Invalid value: {}: `selector` does not match template `labels`",
            str_at(obj, &["kind"]).unwrap_or_default(),
            meta::name(obj),
            tpl.cloned().unwrap_or(json!({}))
        )))
    }
}

/// The StatefulSet spec fields an update may change (`ValidateStatefulSetUpdate` in the apiserver's
/// `pkg/apis/apps/validation/validation.go`); any other change is refused in its words.
const STATEFULSET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn statefulset_update(old: &Value, new: &Value) -> Result<(), ApiError> {
    let frozen = |o: &Value| {
        let mut spec = o.get("spec").cloned().unwrap_or(json!({}));
        if let Some(m) = spec.as_object_mut() {
            m.retain(|k, _| !STATEFULSET_MUTABLE.contains(&k.as_str()));
        }
        spec
    };
    if frozen(old) == frozen(new) {
        return Ok(());
    }
    Err(ApiError::Invalid(format!(
        "StatefulSet.apps \"{}\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        meta::name(new)
    )))
}

fn service(st: &mut State, obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let name = meta::name(obj).to_string();
    let ns = str_at(obj, &["metadata", "namespace"])
        .unwrap_or_default()
        .to_string();
    default_at(obj, &["spec", "type"], json!("ClusterIP"));
    default_at(obj, &["spec", "sessionAffinity"], json!("None"));
    default_at(obj, &["spec", "ipFamilies"], json!(["IPv4"]));
    default_at(obj, &["spec", "ipFamilyPolicy"], json!("SingleStack"));
    default_at(obj, &["spec", "internalTrafficPolicy"], json!("Cluster"));
    let ty = str_at(obj, &["spec", "type"])
        .unwrap_or("ClusterIP")
        .to_string();
    let with_node_ports = ty == "NodePort" || ty == "LoadBalancer";
    if with_node_ports {
        default_at(obj, &["spec", "externalTrafficPolicy"], json!("Cluster"));
    }
    // Cluster IP: kept from the old object, else allocated.
    let old_ip = old
        .and_then(|o| str_at(o, &["spec", "clusterIP"]))
        .map(str::to_string);
    let ip = match (str_at(obj, &["spec", "clusterIP"]), old_ip) {
        (Some(ip), _) if !ip.is_empty() => ip.to_string(),
        (_, Some(ip)) => ip,
        _ => {
            let n = st.next_counter() as u32;
            let base = u32::from(std::net::Ipv4Addr::new(10, 96, 0, 10));
            std::net::Ipv4Addr::from(base + n % ((1 << 20) - 20)).to_string()
        }
    };
    meta::set_at(obj, &["spec", "clusterIP"], json!(ip));
    meta::set_at(obj, &["spec", "clusterIPs"], json!([ip]));
    // Ports: defaults and NodePorts (stable across updates: taken over from the old object).
    let used: Vec<u64> = st
        .list("services", None)
        .into_iter()
        .filter(|s| {
            !(meta::name(s) == name && str_at(s, &["metadata", "namespace"]) == Some(ns.as_str()))
        })
        .flat_map(node_ports)
        .collect();
    let old_ports: Vec<Value> = old
        .and_then(|o| at(o, &["spec", "ports"]))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(ports) = obj
        .get_mut("spec")
        .and_then(|s| s.get_mut("ports"))
        .and_then(Value::as_array_mut)
    else {
        if ty != "ExternalName" && ip != "None" {
            return Err(ApiError::Invalid(format!(
                "Service \"{name}\" is invalid: spec.ports: Required value"
            )));
        }
        return Ok(());
    };
    let mut taken = used;
    for (i, p) in ports.iter_mut().enumerate() {
        let Some(pm) = p.as_object_mut() else {
            continue;
        };
        pm.entry("protocol").or_insert(json!("TCP"));
        let port = pm.get("port").cloned().unwrap_or(Value::Null);
        pm.entry("targetPort").or_insert(port.clone());
        if !with_node_ports {
            pm.remove("nodePort");
            continue;
        }
        let np = match pm.get("nodePort").and_then(Value::as_u64) {
            Some(np) => {
                if !NODE_PORTS.contains(&np) || taken.contains(&np) {
                    return Err(ApiError::Invalid(format!(
                        "Service \"{name}\" is invalid: spec.ports[{i}].nodePort: Invalid value: {np}: provided port is {}",
                        if taken.contains(&np) {
                            "already allocated"
                        } else {
                            "not in the valid range. The range of valid ports is 30000-32767"
                        }
                    )));
                }
                np
            }
            None => {
                let same = old_ports.iter().find(|o| {
                    o.get("port") == Some(&port) && o.get("protocol") == pm.get("protocol")
                });
                match same.and_then(|o| o.get("nodePort")).and_then(Value::as_u64) {
                    Some(np) if !taken.contains(&np) => np,
                    _ => NODE_PORTS
                        .clone()
                        .find(|c| !taken.contains(c))
                        .ok_or_else(|| ApiError::Internal("range of NodePorts is full".into()))?,
                }
            }
        };
        taken.push(np);
        pm.insert("nodePort".into(), json!(np));
    }
    Ok(())
}

/// The NodePorts a Service holds.
fn node_ports(s: &Value) -> Vec<u64> {
    at(s, &["spec", "ports"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_u64))
                .collect()
        })
        .unwrap_or_default()
}

/// `ValidateHorizontalPodAutoscalerSpec` (pkg/apis/autoscaling/validation/validation.go):
/// minReplicas at least 1 (without the HPAScaleToZero gate), maxReplicas at least 1 and at
/// least minReplicas.
fn validate_hpa(obj: &Value) -> Result<(), ApiError> {
    let min = meta::i64_at(obj, &["spec", "minReplicas"]).unwrap_or(1);
    let max = meta::i64_at(obj, &["spec", "maxReplicas"]).unwrap_or(0);
    let problem = if min < 1 {
        Some(format!(
            "spec.minReplicas: Invalid value: {min}: must be greater than or equal to 1"
        ))
    } else if max < 1 {
        Some(format!(
            "spec.maxReplicas: Invalid value: {max}: must be greater than 0"
        ))
    } else if max < min {
        Some(format!(
            "spec.maxReplicas: Invalid value: {max}: must be greater than or equal to `minReplicas`"
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(ApiError::Invalid(format!(
            "HorizontalPodAutoscaler.autoscaling \"{}\" is invalid: {p}",
            meta::name(obj)
        ))),
        None => Ok(()),
    }
}
