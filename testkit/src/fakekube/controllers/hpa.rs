//! HorizontalPodAutoscaler controller (autoscaling/v2, CPU utilization only), after
//! kubernetes/kubernetes `pkg/controller/podautoscaler/horizontal.go`:
//!
//! - the target's replicas outside `[minReplicas, maxReplicas]` are brought inside them whether
//!   or not metrics can be read (`normalizeDesiredReplicas`); a target at 0 replicas is left
//!   alone (scaling disabled);
//! - inside the bounds, desired = ceil(current × utilization / target), unless the ratio is
//!   within the 10 % tolerance (`--horizontal-pod-autoscaler-tolerance`);
//! - utilization comes from the resource metrics API, which exists only while the APIService
//!   `v1beta1.metrics.k8s.io` is Available (metrics-server); the fake's load is what
//!   [`FakeKube::set_cpu_load`](crate::fakekube::FakeKube::set_cpu_load) says, spread evenly
//!   over the Deployment's pods, so more pods each use less, as on a real service.
//!   Without it: ScalingActive False, `FailedGetResourceMetric`, with the real message;
//! - it writes the target's `spec.replicas` as the scale subresource does, an Update by the
//!   field manager `kube-controller-manager` (so that manager co-owns the field).

use std::collections::BTreeSet;

use super::super::apply;
use super::super::meta::{self, at, i64_at, str_at};
use super::super::resources::res;
use super::super::store::State;
use super::{condition, set_status_if_changed};
use serde_json::{Value, json};

/// The APIService metrics-server registers.
pub(in super::super) const METRICS_API: &str = "v1beta1.metrics.k8s.io";

/// The controller's default tolerance.
const TOLERANCE: f64 = 0.1;

/// One round over every HPA.
pub(super) fn sync_all(st: &mut State) {
    for hpa in st.list_owned(res::HPAS, None) {
        sync(st, &hpa);
    }
}

/// Whether the resource metrics API answers: its APIService exists and is Available.
fn metrics_api(st: &State) -> bool {
    st.get(res::APISERVICES, "", METRICS_API)
        .and_then(|a| at(a, &["status", "conditions"]))
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                str_at(c, &["type"]) == Some("Available") && str_at(c, &["status"]) == Some("True")
            })
        })
}

fn sync(st: &mut State, hpa: &Value) {
    let (ns, name) = super::ns_name(hpa);
    let prev = |kind: &str| {
        at(hpa, &["status", "conditions"])
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| str_at(c, &["type"]) == Some(kind)))
            .cloned()
    };
    let target_kind = str_at(hpa, &["spec", "scaleTargetRef", "kind"]).unwrap_or_default();
    let target = str_at(hpa, &["spec", "scaleTargetRef", "name"])
        .unwrap_or_default()
        .to_string();
    let deployment = (target_kind == "Deployment")
        .then(|| st.get(res::DEPLOYMENTS, &ns, &target).cloned())
        .flatten();
    let Some(deployment) = deployment else {
        let message = format!(
            "the HPA controller was unable to get the target's current scale: deployments.apps \"{target}\" not found"
        );
        let status = json!({
            "currentReplicas": 0, "desiredReplicas": 0,
            "conditions": [condition("AbleToScale", "False", "FailedGetScale", &message,
                prev("AbleToScale").as_ref(), false)],
        });
        set_status_if_changed(st, res::HPAS, &ns, &name, status);
        return;
    };
    let current = i64_at(&deployment, &["spec", "replicas"]).unwrap_or(1);
    let min = i64_at(hpa, &["spec", "minReplicas"]).unwrap_or(1);
    let max = i64_at(hpa, &["spec", "maxReplicas"]).unwrap_or(min);
    let target_pct = at(hpa, &["spec", "metrics"])
        .and_then(Value::as_array)
        .and_then(|ms| {
            ms.iter().find_map(|m| {
                (str_at(m, &["resource", "name"]) == Some("cpu"))
                    .then(|| i64_at(m, &["resource", "target", "averageUtilization"]))
                    .flatten()
            })
        })
        .unwrap_or(80)
        .max(1);
    let utilization = (metrics_api(st))
        .then_some(st.knobs.cpu_load)
        .flatten()
        .map(|load| i64::from(load) / current.max(1));
    let mut conditions = Vec::new();
    let desired = if current == 0 {
        conditions.push(condition(
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
            prev("ScalingActive").as_ref(),
            false,
        ));
        0
    } else {
        let proposed = match utilization {
            Some(u) => {
                conditions.push(condition(
                    "ScalingActive",
                    "True",
                    "ValidMetricFound",
                    "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
                    prev("ScalingActive").as_ref(),
                    false,
                ));
                let ratio = u as f64 / target_pct as f64;
                if (ratio - 1.0).abs() <= TOLERANCE {
                    current
                } else {
                    (current as f64 * ratio).ceil() as i64
                }
            }
            None => {
                conditions.push(condition(
                    "ScalingActive",
                    "False",
                    "FailedGetResourceMetric",
                    "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)",
                    prev("ScalingActive").as_ref(),
                    false,
                ));
                current
            }
        };
        let (bounded, limited) = if proposed > max {
            (
                max,
                Some((
                    "TooManyReplicas",
                    "the desired replica count is more than the maximum replica count",
                )),
            )
        } else if proposed < min {
            (
                min,
                Some((
                    "TooFewReplicas",
                    "the desired replica count is less than the minimum replica count",
                )),
            )
        } else {
            (proposed, None)
        };
        conditions.push(match limited {
            Some((reason, message)) => condition(
                "ScalingLimited",
                "True",
                reason,
                message,
                prev("ScalingLimited").as_ref(),
                false,
            ),
            None => condition(
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
                prev("ScalingLimited").as_ref(),
                false,
            ),
        });
        bounded
    };
    let rescaled = desired != current;
    if rescaled {
        let mut scaled = deployment.clone();
        meta::set_at(&mut scaled, &["spec", "replicas"], json!(desired));
        let paths: BTreeSet<Vec<String>> = [vec!["spec".to_string(), "replicas".to_string()]]
            .into_iter()
            .collect();
        apply::record_update(
            &mut scaled,
            Some(&deployment),
            "kube-controller-manager",
            "apps/v1",
            paths,
        );
        st.replace(res::DEPLOYMENTS, scaled);
    }
    let able = if rescaled {
        (
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
        )
    } else {
        (
            "ReadyForNewScale",
            "recommended size matches current size".to_string(),
        )
    };
    conditions.insert(
        0,
        condition(
            "AbleToScale",
            "True",
            able.0,
            &able.1,
            prev("AbleToScale").as_ref(),
            false,
        ),
    );
    let mut status = json!({
        "currentReplicas": current,
        "desiredReplicas": desired,
        "conditions": conditions,
    });
    if let Some(u) = utilization {
        status["currentMetrics"] = json!([{ "type": "Resource", "resource": {
            "name": "cpu", "current": { "averageUtilization": u } } }]);
    }
    match (rescaled, at(hpa, &["status", "lastScaleTime"])) {
        (true, _) => status["lastScaleTime"] = json!(meta::now_rfc3339()),
        (false, Some(t)) => status["lastScaleTime"] = t.clone(),
        (false, None) => {}
    }
    set_status_if_changed(st, res::HPAS, &ns, &name, status);
}
