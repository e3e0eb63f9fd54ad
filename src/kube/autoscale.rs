//! `/ge autoscale`: a HorizontalPodAutoscaler (autoscaling/v2, CPU utilization) on a
//! release's main Deployment, the one named after the GE whose replicas the catalogue bounds.
//!
//! An autoscaled revision is rendered without that Deployment's `spec.replicas` and with the
//! HPA among its objects, so upgrades and rollbacks keep the autoscaler and `/ge autoscale
//! off` prunes it. Server-side apply deletes a field its only manager stops applying, which
//! would put the Deployment back to one pod at every upgrade; so before such a revision is
//! applied the live count is handed to a field manager of its own ([`HANDOVER_MANAGER`]), the
//! procedure of the Kubernetes docs (Server-Side Apply, "Transferring ownership"), and the HPA
//! controller takes the field from there.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::kube::catalogue::def::GeDef;
use crate::kube::client::Cluster;
use crate::kube::error::KubeError;
use crate::kube::release::Release;
use crate::store::{Autoscale, GeTarget};

/// The field manager that holds `spec.replicas` while an HPA scales the Deployment.
pub const HANDOVER_MANAGER: &str = "labkube-replicas-handover";

/// The APIService through which metrics-server serves the CPU use an HPA reads.
pub const METRICS_API: &str = "v1beta1.metrics.k8s.io";

/// Whether `obj` is the GE's main Deployment: the one named after the GE.
fn is_main_deployment(ge: &GeDef, obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Deployment")
        && obj.pointer("/metadata/name").and_then(Value::as_str) == Some(ge.name.as_str())
}

/// Whether `setting` fits `ge` as its release stands (pure; the job asks again).
pub fn check(
    ge: &GeDef,
    release: &Release,
    setting: Option<&Autoscale>,
    t: &GeTarget,
) -> Result<(), KubeError> {
    let (name, ns) = (&ge.name, &t.namespace);
    let refused = |why: String| Err(KubeError::Refused(format!("{why}; nothing was changed")));
    let current = release.deployed().and_then(|d| d.params.autoscale);
    let Some(a) = setting else {
        if current.is_none() {
            return refused(format!("{name} in {ns} is not autoscaled"));
        }
        return Ok(());
    };
    if ge.has_data() {
        return refused(format!(
            "{name} keeps data in a volume that more pods would not share, so it is not autoscaled"
        ));
    }
    if a.min > a.max {
        return refused(format!("min={} is more than max={}", a.min, a.max));
    }
    let floor = ge.replicas.min.max(1);
    if a.min < floor || a.max > ge.replicas.max {
        return refused(format!(
            "{name} runs with {floor} to {} pods; min={} max={} is outside that",
            ge.replicas.max, a.min, a.max
        ));
    }
    if current.as_ref() == Some(a) {
        return refused(format!("{name} in {ns} is already autoscaled from {a}"));
    }
    let manifests = release
        .live()
        .map(|r| r.manifests.as_slice())
        .unwrap_or_default();
    let Some(deployment) = manifests.iter().find(|o| is_main_deployment(ge, o)) else {
        return refused(format!(
            "{name} runs no Deployment named {name}, which is what an autoscaler would scale"
        ));
    };
    let containers = deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for c in containers {
        if c.pointer("/resources/requests/cpu").is_none() {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("?");
            return refused(format!(
                "container {cname} of {name} requests no CPU, and an autoscaler measures CPU use as a share of the request"
            ));
        }
    }
    Ok(())
}

/// Shapes a revision's rendered objects for `setting`: the main Deployment without
/// `spec.replicas`, and the HPA (with the Deployment's labels) after it.
pub fn shape(ge: &GeDef, manifests: &mut Vec<Value>, setting: &Autoscale) {
    let Some(i) = manifests.iter().position(|o| is_main_deployment(ge, o)) else {
        return;
    };
    if let Some(spec) = manifests[i].get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("replicas");
    }
    let labels = manifests[i]
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hpa = json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": { "name": ge.name, "labels": labels },
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": ge.name },
            "minReplicas": setting.min,
            "maxReplicas": setting.max,
            "metrics": [{ "type": "Resource", "resource": { "name": "cpu",
                "target": { "type": "Utilization", "averageUtilization": setting.cpu } } }],
        },
    });
    manifests.insert(i + 1, hpa);
}

/// Refuses when the cluster has no working resource metrics API (metrics-server).
pub async fn check_metrics(cluster: &Cluster) -> Result<(), KubeError> {
    let api: Api<k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService> =
        Api::all(cluster.client.clone());
    let found = cluster
        .call("looking for metrics-server", api.get_opt(METRICS_API))
        .await?;
    let available = found
        .as_ref()
        .and_then(|a| a.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Available" && c.status == "True")
        });
    if available {
        return Ok(());
    }
    let why = if found.is_some() {
        format!("its APIService {METRICS_API} is not Available (metrics-server is not answering)")
    } else {
        format!("it has no APIService {METRICS_API}")
    };
    Err(KubeError::Refused(format!(
        "cluster {} has no working metrics-server ({why}), so an autoscaler could not read CPU use. Clusters labkube creates have it; on another cluster install metrics-server, then try again; nothing was changed",
        cluster.name
    )))
}

/// Hands the live `spec.replicas` of the GE's Deployment to [`HANDOVER_MANAGER`], so applying
/// a revision without it keeps the count. Nothing to do when the Deployment is gone.
pub async fn hand_over(cluster: &Cluster, ns: &str, ge: &str) -> Result<(), KubeError> {
    let Some(replicas) = live_replicas(cluster, ns, ge).await? else {
        return Ok(());
    };
    let body = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": ge, "namespace": ns },
        "spec": { "replicas": replicas },
    });
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let pp = PatchParams::apply(HANDOVER_MANAGER).force();
    cluster
        .call(
            format!("handing the replica count of deployment/{ge} to its autoscaler"),
            api.patch(ge, &pp, &Patch::Apply(&body)),
        )
        .await?;
    Ok(())
}

/// The live replica count of the GE's Deployment, if it exists.
pub async fn live_replicas(
    cluster: &Cluster,
    ns: &str,
    ge: &str,
) -> Result<Option<u32>, KubeError> {
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let live = cluster
        .call(format!("reading deployment/{ge}"), api.get_opt(ge))
        .await?;
    Ok(live
        .and_then(|d| d.spec)
        .and_then(|s| s.replicas)
        .and_then(|n| u32::try_from(n).ok()))
}

/// What `/ge status` says about the release's autoscaler, from the live HPA.
pub async fn status_line(
    cluster: &Cluster,
    ns: &str,
    ge: &str,
    setting: &Autoscale,
) -> Result<String, KubeError> {
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(cluster.client.clone(), ns);
    let hpa = cluster
        .call(
            format!("reading horizontalpodautoscaler/{ge}"),
            api.get_opt(ge),
        )
        .await?;
    let Some(hpa) = hpa else {
        return Ok(format!(
            "autoscaled from {setting}, but its HorizontalPodAutoscaler is gone; /ge autoscale {ge} min={} max={} puts it back",
            setting.min, setting.max
        ));
    };
    let status = hpa.status.unwrap_or_default();
    let mut out = format!(
        "autoscaled from {setting}: {} pod(s) now, {} wanted",
        status.current_replicas.unwrap_or(0),
        status.desired_replicas
    );
    let cpu = status
        .current_metrics
        .iter()
        .flatten()
        .filter_map(|m| m.resource.as_ref())
        .find(|r| r.name == "cpu")
        .and_then(|r| r.current.average_utilization);
    if let Some(u) = cpu {
        out.push_str(&format!(", CPU at {u}% of requests"));
    }
    for c in status.conditions.iter().flatten() {
        let problem =
            (c.type_ == "ScalingActive" || c.type_ == "AbleToScale") && c.status == "False";
        if problem {
            out.push_str(&format!(
                "; it cannot scale: {} ({})",
                c.message.as_deref().unwrap_or_default(),
                c.reason.as_deref().unwrap_or_default()
            ));
        }
        if c.type_ == "ScalingLimited" && c.status == "True" {
            out.push_str(&format!(
                "; held at its bound ({})",
                c.reason.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(out)
}
