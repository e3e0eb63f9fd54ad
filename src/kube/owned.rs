//! Only what is ours: labkube changes or deletes an object in a cluster only when it created it
//! for that release, i.e. it carries `app.kubernetes.io/managed-by: labkube` and the release's
//! `app.kubernetes.io/instance` label (what the renderer puts on everything). An install that
//! would overwrite an object of the same name someone else made is refused naming it, and
//! pruning, uninstall and purge pass over such objects; deletes are preconditioned on the uid
//! that was checked, so a look-alike created in between is not deleted either.

use kube::api::{DeleteParams, ObjectMeta, Preconditions};

use crate::kube::client::{Cluster, INSTANCE, MANAGED_BY, describe};
use crate::kube::error::KubeError;

/// Whether a live object (by its metadata) was made by labkube for release `ge`.
pub(super) fn ours(meta: &ObjectMeta, ge: &str) -> bool {
    let labels = meta.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    label(MANAGED_BY.0) == Some(MANAGED_BY.1) && label(INSTANCE) == Some(ge)
}

/// The release an object of a rendered revision belongs to (its instance label).
pub(super) fn release_of(obj: &serde_json::Value) -> &str {
    obj.pointer("/metadata/labels")
        .and_then(|l| l.get(INSTANCE))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
}

impl Cluster {
    /// Refuses, before anything is applied, when an object of `objects` already exists in
    /// `ns` without being labkube's for the same release.
    pub async fn refuse_foreign(
        &self,
        ns: &str,
        objects: &[serde_json::Value],
    ) -> Result<(), KubeError> {
        for obj in objects {
            let (api, name) = self.dynamic(ns, obj)?;
            let live = self
                .call(format!("reading {}", describe(obj)), api.get_opt(&name))
                .await?;
            let ge = release_of(obj);
            if let Some(live) = live
                && !ours(&live.metadata, ge)
            {
                return Err(KubeError::Refused(format!(
                    "{} already exists in {ns} and labkube did not create it for {ge}, so it is not \
                     overwritten: remove or rename it, or install into another ns=; nothing was changed",
                    describe(obj)
                )));
            }
        }
        Ok(())
    }

    /// Deletes one object of release `ge` if it is there and labkube's; `false` if it was
    /// already gone or is not labkube's (then it is left alone, and logged).
    pub async fn delete_owned(
        &self,
        ns: &str,
        obj: &serde_json::Value,
        ge: &str,
    ) -> Result<bool, KubeError> {
        let (api, name) = self.dynamic(ns, obj)?;
        let Some(live) = self
            .call(format!("reading {}", describe(obj)), api.get_opt(&name))
            .await?
        else {
            return Ok(false);
        };
        if !ours(&live.metadata, ge) {
            tracing::warn!(cluster = %self.name, ns, object = %describe(obj), release = ge,
                "left in place: not labkube's for this release");
            return Ok(false);
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: live.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match tokio::time::timeout(self.timeout, api.delete(&name, &dp)).await {
            Ok(Ok(_)) => Ok(true),
            // Gone meanwhile, or replaced by another object of that name: not ours to delete.
            Ok(Err(kube::Error::Api(s))) if s.code == 404 || s.code == 409 => Ok(false),
            Ok(Err(e)) => Err(KubeError::api(
                &self.name,
                format!("deleting {}", describe(obj)),
                e,
            )),
            Err(_) => Err(KubeError::Timeout {
                cluster: self.name.clone(),
                secs: self.timeout.as_secs(),
                doing: format!("deleting {}", describe(obj)),
            }),
        }
    }
}
