//! `/ge events`: what Kubernetes recorded about a release's pods, ReplicaSets, Deployments,
//! StatefulSets and volume claims, newest first.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::Resource;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use crate::kube::catalogue::render::{LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGER};
use crate::kube::client::Cluster;
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::release::Release;

/// Events shown at most.
const SHOWN: usize = 20;

/// `(kind, name)` of every object of `K` labelled as the release's.
async fn named<K>(
    cluster: &Cluster,
    ns: &str,
    sel: &ListParams,
) -> Result<Vec<(String, String)>, KubeError>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(cluster.client.clone(), ns);
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let list = cluster
        .call(format!("listing the GE's {kind}s"), api.list(sel))
        .await?;
    Ok(list
        .items
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .map(|n| (kind.clone(), n))
        .collect())
}

/// When an event last happened: `lastTimestamp`, else `eventTime`, else `firstTimestamp`, else
/// its creation (Unix ms).
fn at_ms(e: &Event) -> u64 {
    let t = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or(e.event_time.as_ref().map(|t| t.0))
        .or(e.first_timestamp.as_ref().map(|t| t.0))
        .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0));
    t.map_or(0, |t| u64::try_from(t.as_millisecond()).unwrap_or(0))
}

/// The release's recent events, newest first, ready for chat.
pub async fn events(layer: &KubeLayer, release: &Release) -> Result<String, KubeError> {
    let cluster = layer.cluster(&release.cluster).await?;
    let ns = release.namespace.as_str();
    let sel = ListParams::default().labels(&format!(
        "{LABEL_INSTANCE}={},{LABEL_MANAGED_BY}={MANAGER}",
        release.ge
    ));
    let mut ours: BTreeSet<(String, String)> = BTreeSet::new();
    ours.extend(named::<Pod>(&cluster, ns, &sel).await?);
    ours.extend(named::<ReplicaSet>(&cluster, ns, &sel).await?);
    ours.extend(named::<Deployment>(&cluster, ns, &sel).await?);
    ours.extend(named::<StatefulSet>(&cluster, ns, &sel).await?);
    ours.extend(named::<PersistentVolumeClaim>(&cluster, ns, &sel).await?);
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), ns);
    let all = cluster
        .call(
            "listing the namespace's events",
            api.list(&ListParams::default()),
        )
        .await?;
    let mut about: Vec<&Event> = all
        .items
        .iter()
        .filter(|e| {
            let o = &e.involved_object;
            let key = (
                o.kind.clone().unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
            );
            ours.contains(&key)
        })
        .collect();
    // Core events are stamped to the second: within a second, the later write comes first.
    let written = |e: &Event| {
        e.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    about.sort_by_key(|e| std::cmp::Reverse((at_ms(e) / 1000, written(e))));
    let where_ = format!("{} in {ns} on {}", release.ge, release.cluster);
    if about.is_empty() {
        return Ok(format!(
            "no recent events about {where_} (Kubernetes keeps events for an hour by default)"
        ));
    }
    let lines: Vec<String> = about
        .iter()
        .take(SHOWN)
        .map(|e| {
            let o = &e.involved_object;
            let times = match e.count {
                Some(n) if n > 1 => format!(" (x{n})"),
                _ => String::new(),
            };
            format!(
                "{} {} {} {}/{}: {}{times}",
                crate::store::rfc3339(at_ms(e)),
                e.type_.as_deref().unwrap_or("Normal"),
                e.reason.as_deref().unwrap_or_default(),
                o.kind.as_deref().unwrap_or_default().to_lowercase(),
                o.name.as_deref().unwrap_or_default(),
                e.message.as_deref().unwrap_or_default().trim()
            )
        })
        .collect();
    Ok(format!(
        "events of {where_}, newest first ({} of {}):\n{}",
        lines.len(),
        about.len(),
        lines.join("\n")
    ))
}
