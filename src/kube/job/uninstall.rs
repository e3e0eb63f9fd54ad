//! The `uninstall` step: delete a release's objects, keeping its data (PVCs and the
//! credentials that match it) unless `purge`, and forget the release.

use crate::kube::error::KubeError;
use crate::kube::job::GeRun;
use crate::kube::release::Release;
use crate::store::GeJob;

impl GeRun {
    pub(super) async fn uninstall(&mut self) -> Result<(), KubeError> {
        let purge = matches!(self.request, GeJob::Uninstall(_, true));
        let ge = self.ge(&self.target.ge)?;
        let ns = self.target.namespace.clone();
        let Some(release) = self.load(&ge.name)? else {
            // Uninstalled earlier with its data kept (or resumed after the release was
            // forgotten): purge deletes what was kept.
            let text = if purge {
                let n = self.cluster.purge(&ns, &ge).await?;
                format!(
                    "{} is not installed in {ns}; deleted the {n} volume claim(s) and secret(s) it had kept",
                    ge.name
                )
            } else {
                format!("{} is no longer installed in {ns}", ge.name)
            };
            return self.set_summary(text).await;
        };
        let dependents =
            crate::kube::query::dependents(&self.layer, &self.target.cluster, &ns, &ge.name)?;
        crate::kube::precheck::check(&self.request, &ge, Some(&release), &dependents)?;
        // Every object any kept revision applied, so a failed upgrade's extras go too.
        let mut objects: Vec<serde_json::Value> = Vec::new();
        for r in release.revisions.iter().rev() {
            for o in &r.manifests {
                let same = |x: &serde_json::Value| {
                    x.get("kind") == o.get("kind")
                        && x.pointer("/metadata/name") == o.pointer("/metadata/name")
                };
                if !objects.iter().any(same) {
                    objects.push(o.clone());
                }
            }
        }
        let mut removed = 0;
        let mut kept_pvcs = 0;
        for o in &objects {
            if o.get("kind").and_then(|k| k.as_str()) == Some("PersistentVolumeClaim") && !purge {
                kept_pvcs += 1;
                continue;
            }
            removed += usize::from(self.cluster.delete_owned(&ns, o, &ge.name).await?);
        }
        let purged = if purge {
            self.cluster.purge(&ns, &ge).await?
        } else {
            0
        };
        Release::remove(&*self.io.store, &self.target.cluster, &ns, &ge.name)?;
        let data = if purge {
            format!("its data went too ({purged} volume claim(s) and secret(s))")
        } else if ge.has_data() || kept_pvcs > 0 || !ge.secrets.is_empty() {
            format!(
                "its data is kept (persistent volume claims and generated credentials); /ge uninstall {} ns={ns} purge deletes them",
                ge.name
            )
        } else {
            "it kept no data".to_string()
        };
        self.log(&format!("removed {removed} object(s) of {}", ge.name))?;
        self.set_summary(format!(
            "{} uninstalled from {ns} on {}: {removed} object(s) removed; {data}",
            ge.name, self.target.cluster
        ))
        .await
    }
}
