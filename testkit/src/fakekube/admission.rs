//! What a new pod goes through between decoding and storage, whoever creates it (a client's
//! POST or apply, or a controller through the API): defaulting, then the admission plugins a
//! kubeadm API server enables that concern pod resources, in their order
//! (`pkg/kubeapiserver/options/plugins.go`): LimitRanger (mutating, then validating), then
//! ResourceQuota (validating).
//!
//! The name of a `generateName` pod is generated before validating admission (the generic
//! registry's `Store.create` fills in the name, "Init metadata as early as possible", before
//! `BeforeCreate` and the validating admission it calls next;
//! `staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go`; the same with
//! RetryGenerateName, alpha in 1.30, default in 1.31, GA in 1.32, whose
//! `createWithGenerateNameRetry` calls that `create` again with a new name), so a refusal names
//! the pod by its generated name: `pods "web-5d4f8c6b7-x2k9p" is forbidden: ...`.

use super::errors::ApiError;
use super::meta;
use super::store::State;
use super::{limits, quota};
use serde_json::Value;

/// Defaulting and admission of a pod about to be created; the 403 the apiserver answers when an
/// admission plugin refuses it.
pub(super) fn admit_pod(st: &State, pod: &mut Value) -> Result<(), ApiError> {
    default_requests_to_limits(pod);
    limits::mutate(st, pod);
    let forbidden = |message: String| ApiError::ObjectForbidden {
        resource: "pods".into(),
        name: meta::name(pod).to_string(),
        message,
    };
    limits::validate(st, pod).map_err(forbidden)?;
    quota::admit(st, pod).map_err(forbidden)
}

/// `SetDefaults_Pod` (`pkg/apis/core/v1/defaults.go`): a container (or init container) with a
/// limit but no request for a resource requests its limit.
fn default_requests_to_limits(pod: &mut Value) {
    for key in ["containers", "initContainers"] {
        let Some(containers) = pod
            .get_mut("spec")
            .and_then(|s| s.get_mut(key))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in containers.iter_mut() {
            let Some(limits) = meta::at(c, &["resources", "limits"])
                .and_then(Value::as_object)
                .filter(|l| !l.is_empty())
                .cloned()
            else {
                continue;
            };
            meta::with_map(c, &["resources", "requests"], |requests| {
                for (k, v) in limits {
                    requests.entry(k).or_insert(v);
                }
            });
        }
    }
}
