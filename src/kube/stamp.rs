//! Which revision of a release reached the cluster. Every object labkube applies carries the
//! number of the release revision it belongs to, in an annotation that is not part of the
//! stored manifests (so two revisions with the same manifests still compare equal). A job
//! resumed after a crash asks the cluster whether its revision got there before the crash,
//! and does not apply it a second time when it did.

use serde_json::Value;

use super::client::{Cluster, describe};
use super::error::KubeError;

/// The annotation holding the revision number (a bare prefix: labkube owns no domain).
pub const ANNOTATION_REVISION: &str = "labkube/revision";

/// `obj` with the annotation of `revision`.
pub(super) fn stamped(obj: &Value, revision: u32) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(
                ANNOTATION_REVISION.to_string(),
                Value::String(revision.to_string()),
            );
        }
    }
    obj
}

impl Cluster {
    /// Whether every object of `objects` exists in `ns` stamped with `revision`.
    pub async fn carries(
        &self,
        ns: &str,
        objects: &[Value],
        revision: u32,
    ) -> Result<bool, KubeError> {
        let want = revision.to_string();
        for obj in objects {
            let (api, name) = self.dynamic(ns, obj)?;
            let live = self
                .call(format!("reading {}", describe(obj)), api.get_opt(&name))
                .await?;
            let stamp = live.as_ref().and_then(|o| {
                o.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(ANNOTATION_REVISION))
            });
            if stamp != Some(&want) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_joins_existing_annotations_and_leaves_the_rest() {
        let obj = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "orion", "annotations": {"a": "b"}},
            "spec": {"replicas": 1}
        });
        let s = stamped(&obj, 7);
        assert_eq!(s["metadata"]["annotations"]["a"], "b");
        assert_eq!(s["metadata"]["annotations"][ANNOTATION_REVISION], "7");
        assert_eq!(s["spec"], obj["spec"]);
        let bare = serde_json::json!({"kind": "Service", "metadata": {"name": "x"}});
        assert_eq!(
            stamped(&bare, 2)["metadata"]["annotations"][ANNOTATION_REVISION],
            "2"
        );
    }
}
