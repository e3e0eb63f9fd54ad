//! The StatefulSet "forced rollback": a pod of an older revision that is not Ready blocks an
//! OrderedReady StatefulSet for good, because the controller stops at the first replica that is
//! not Running and Ready before it replaces anything (`processReplica` in the controller's
//! `stateful_set_control.go`; the StatefulSet docs, "Forced rollback"; kubernetes/kubernetes#67250).
//! Reverting the template is not enough: such pods must be deleted. The wait does that, once per
//! pod, as soon as the controller has observed the latest spec.

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Preconditions};
use kube::{Api, Client};

use crate::kube::status::pods::statefulset_revision;
use crate::kube::status::workload::WorkloadRef;
use crate::kube::watch::decide::{Cache, Watched};

/// A pod of an older revision of an OrderedReady StatefulSet that is not Ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckPod {
    /// Pod name.
    pub name: String,
    /// Pod uid: the deletion is conditional on it, so the controller's replacement (same name)
    /// is never deleted.
    pub uid: String,
}

/// The stuck pods of the watched StatefulSets. Only once a StatefulSet's controller has observed
/// its latest spec (before that, `status.updateRevision` still names the previous revision).
pub fn stuck_pods(workloads: &[WorkloadRef], objects: &[&Cache], pods: &Cache) -> Vec<StuckPod> {
    let mut out = Vec::new();
    for (workload, cache) in workloads.iter().zip(objects) {
        let Some(watched @ Watched::StatefulSet(set)) = cache.get(&workload.name) else {
            continue;
        };
        if !watched.observed() || !ordered_rolling(set) {
            continue;
        }
        let Some(current) = statefulset_revision(set) else {
            continue;
        };
        let owner = set.metadata.name.as_deref().unwrap_or_default();
        for obj in pods.objects() {
            let Watched::Pod(pod) = obj else { continue };
            let owned = pod
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "StatefulSet" && o.name == owner);
            if owned
                && !current.matches(pod)
                && !ready(pod)
                && pod.metadata.deletion_timestamp.is_none()
                && let (Some(name), Some(uid)) = (&pod.metadata.name, &pod.metadata.uid)
            {
                out.push(StuckPod {
                    name: name.clone(),
                    uid: uid.clone(),
                });
            }
        }
    }
    out
}

/// OrderedReady pod management with the RollingUpdate strategy (both the API's defaults).
fn ordered_rolling(set: &StatefulSet) -> bool {
    let Some(spec) = set.spec.as_ref() else {
        return false;
    };
    let ordered = spec.pod_management_policy.as_deref() != Some("Parallel");
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    ordered && rolling
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Deletes the stuck pods not deleted before (by uid), recording them in `done`; returns the
/// names deleted now. A pod already gone, or replaced under the same name, is skipped.
pub async fn delete_stuck(
    client: &Client,
    namespace: &str,
    stuck: Vec<StuckPod>,
    done: &mut HashSet<String>,
) -> Result<Vec<String>, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut deleted = Vec::new();
    for pod in stuck {
        if done.contains(&pod.uid) {
            continue;
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(pod.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&pod.name, &dp).await {
            Ok(_) => {
                tracing::info!(pod = %pod.name, "deleted a not-Ready pod of an older StatefulSet revision (forced rollback)");
                deleted.push(pod.name);
            }
            // 404: already gone; 409: the uid precondition failed (a replacement holds the name).
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => return Err(e),
        }
        done.insert(pod.uid);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::status::workload::WorkloadKind;
    use crate::kube::watch::decide::tests::cache;
    use serde_json::json;

    fn set(observed: i64, policy: &str) -> Watched {
        Watched::StatefulSet(Box::new(
            serde_json::from_value(json!({
                "metadata": {"name": "mongodb", "generation": 3},
                "spec": {"selector": {}, "serviceName": "mongodb", "template": {}, "podManagementPolicy": policy},
                "status": {"replicas": 1, "observedGeneration": observed, "updateRevision": "mongodb-good", "currentRevision": "mongodb-good"},
            }))
            .unwrap(),
        ))
    }

    fn pod(name: &str, rev: &str, ready: bool, deleting: bool) -> Watched {
        let mut p = json!({
            "metadata": {"name": name, "uid": format!("uid-{name}-{rev}"),
                "labels": {"controller-revision-hash": rev},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "mongodb", "uid": "s"}]},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        });
        if deleting {
            p["metadata"]["deletionTimestamp"] = json!("2026-12-05T12:00:00Z");
        }
        Watched::Pod(Box::new(serde_json::from_value(p).unwrap()))
    }

    fn workloads() -> Vec<WorkloadRef> {
        vec![WorkloadRef {
            kind: WorkloadKind::StatefulSet,
            name: "mongodb".into(),
        }]
    }

    #[test]
    fn only_not_ready_pods_of_older_revisions_once_observed() {
        let pods = cache(vec![
            pod("mongodb-0", "mongodb-bad", false, false),
            pod("mongodb-1", "mongodb-bad", true, false),
            pod("mongodb-2", "mongodb-good", false, false),
            pod("mongodb-3", "mongodb-bad", false, true),
        ]);
        let stuck = stuck_pods(&workloads(), &[&cache(vec![set(3, "OrderedReady")])], &pods);
        assert_eq!(
            stuck,
            vec![StuckPod {
                name: "mongodb-0".into(),
                uid: "uid-mongodb-0-mongodb-bad".into()
            }]
        );
        // Not yet observed: updateRevision may still be the bad one.
        let unobserved = cache(vec![set(2, "OrderedReady")]);
        assert!(stuck_pods(&workloads(), &[&unobserved], &pods).is_empty());
        // Parallel sets replace such pods on their own.
        let parallel = cache(vec![set(3, "Parallel")]);
        assert!(stuck_pods(&workloads(), &[&parallel], &pods).is_empty());
    }
}
