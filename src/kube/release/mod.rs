//! The revision ledger: every set of objects applied for a GE release is a numbered revision,
//! kept in the store's `releases` space (who, when, parameters, rendered manifests, outcome).
//! Helm keeps the same ledger in the cluster as Secrets; labkube keeps it beside its jobs so a
//! rollback needs nothing from the cluster but the API. Generated credentials are never part of
//! a revision: they live in the cluster's Secrets only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::store::{GeTarget, JobId, JobStore, StoreError};

/// Why a revision was applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// First install.
    Install,
    /// Installed as a dependency of another GE.
    Dependency {
        /// The GE that needed it.
        of: String,
    },
    /// `/ge upgrade`.
    Upgrade,
    /// `/ge scale`.
    Scale,
    /// `/ge autoscale` (on, or with other bounds).
    Autoscale,
    /// `/ge autoscale … off`.
    AutoscaleOff,
    /// `/rollback`: re-applied revision `to`.
    Rollback {
        /// The revision whose manifests were re-applied.
        to: u32,
    },
    /// A failed upgrade rolled back on its own.
    AutoRollback {
        /// The revision whose manifests were re-applied.
        to: u32,
        /// The revision that failed.
        failed: u32,
    },
}

impl Action {
    /// A few words for `/ge history`.
    pub fn describe(&self) -> String {
        match self {
            Action::Install => "install".into(),
            Action::Dependency { of } => format!("install (needed by {of})"),
            Action::Upgrade => "upgrade".into(),
            Action::Scale => "scale".into(),
            Action::Autoscale => "autoscale".into(),
            Action::AutoscaleOff => "autoscale off".into(),
            Action::Rollback { to } => format!("rollback to {to}"),
            Action::AutoRollback { to, failed } => {
                format!("automatic rollback to {to} after {failed} failed")
            }
        }
    }
}

/// Where a revision stands (Helm's words).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Applied; its rollout is being watched.
    Pending,
    /// Rolled out; the release runs it now.
    Deployed,
    /// Rolled out once, since replaced by a later revision.
    Superseded,
    /// Its rollout failed.
    Failed {
        /// Why, as told in the room.
        reason: String,
    },
}

impl Status {
    /// One word for listings.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Deployed => "deployed",
            Status::Superseded => "superseded",
            Status::Failed { .. } => "failed",
        }
    }

    /// `true` for revisions that once rolled out completely: rollback targets.
    pub fn good(&self) -> bool {
        matches!(self, Status::Deployed | Status::Superseded)
    }
}

/// The parameters a release was rendered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Image tag of the GE's main image.
    pub version: String,
    /// Replicas of its main workload.
    pub replicas: u32,
    /// Services as NodePorts.
    pub expose_nodeport: bool,
    /// The GE's own parameters as the user gave them at install (`troe=true`); upgrades and
    /// scales keep them. Never a `secret` parameter: those live only in the cluster's Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ge: BTreeMap<String, String>,
    /// The autoscaler on the main Deployment; while set, `replicas` is only where it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<crate::store::Autoscale>,
}

/// One applied set of objects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// 1, 2, 3… per release; never reused.
    pub number: u32,
    /// The job that applied it.
    pub job: JobId,
    /// Whoever asked: their id on their platform, as every message writes the requester
    /// (records of earlier releases hold `platform:user`).
    pub by: String,
    /// Unix ms when it was applied.
    pub at_ms: u64,
    /// Why.
    #[serde(flatten)]
    pub action: Action,
    /// Rendering parameters.
    pub params: Params,
    /// The main image with tag, e.g. `quay.io/fiware/orion:4.1.0`.
    pub image: String,
    /// The rendered objects as applied (no Secrets).
    pub manifests: Vec<serde_json::Value>,
    /// Outcome.
    #[serde(flatten)]
    pub status: Status,
    /// Unix ms when its rollout ended.
    #[serde(default)]
    pub finished_ms: Option<u64>,
    /// e.g. `2/2 pods ready in 12 s`.
    #[serde(default)]
    pub summary: Option<String>,
}

/// A GE installed in one namespace of one cluster, with its history (oldest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Cluster name.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Catalogue name.
    pub ge: String,
    /// The next revision number to hand out.
    pub next: u32,
    /// Revisions, oldest first, capped at the configured history length.
    pub revisions: Vec<Revision>,
}

/// Ledger failures.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record does not decode (written by an incompatible build).
    #[error("the release record {key} cannot be read: {reason}")]
    Corrupt {
        /// Store key.
        key: String,
        /// Decoder message.
        reason: String,
    },
}

/// Reads a stored ledger.
fn decode(place: &GeTarget, text: &str) -> Result<Release, ReleaseError> {
    serde_json::from_str(text).map_err(|e| ReleaseError::Corrupt {
        key: place.path(),
        reason: e.to_string(),
    })
}

impl Release {
    /// A release with no revisions yet.
    pub fn new(cluster: &str, namespace: &str, ge: &str) -> Release {
        Release {
            cluster: cluster.into(),
            namespace: namespace.into(),
            ge: ge.into(),
            next: 1,
            revisions: Vec::new(),
        }
    }

    /// The release's place, which is its key in the store.
    fn place(cluster: &str, namespace: &str, ge: &str) -> GeTarget {
        GeTarget {
            cluster: cluster.into(),
            namespace: namespace.into(),
            ge: ge.into(),
        }
    }

    /// Reads a release; `None` if the GE is not installed there.
    pub fn load(
        store: &dyn JobStore,
        cluster: &str,
        namespace: &str,
        ge: &str,
    ) -> Result<Option<Release>, ReleaseError> {
        let place = Self::place(cluster, namespace, ge);
        match store.release_record(&place)? {
            None => Ok(None),
            Some(text) => decode(&place, &text).map(Some),
        }
    }

    /// Every release on `cluster` (all namespaces), sorted by namespace then GE.
    pub fn all_on(store: &dyn JobStore, cluster: &str) -> Result<Vec<Release>, ReleaseError> {
        let mut out = store
            .release_records_on(cluster)?
            .iter()
            .map(|(place, text)| decode(place, text))
            .collect::<Result<Vec<Release>, _>>()?;
        out.sort_by(|a, b| (&a.namespace, &a.ge).cmp(&(&b.namespace, &b.ge)));
        Ok(out)
    }

    /// Writes the release durably, keeping at most `history_max` revisions: the oldest go
    /// first, but never the deployed one or one still pending.
    pub fn save(&mut self, store: &dyn JobStore, history_max: usize) -> Result<(), ReleaseError> {
        while self.revisions.len() > history_max.max(1) {
            let Some(pos) = self
                .revisions
                .iter()
                .position(|r| !matches!(r.status, Status::Deployed | Status::Pending))
            else {
                break;
            };
            self.revisions.remove(pos);
        }
        let place = Self::place(&self.cluster, &self.namespace, &self.ge);
        let text = serde_json::to_string(self).map_err(|e| ReleaseError::Corrupt {
            key: place.path(),
            reason: e.to_string(),
        })?;
        store.put_release_record(&place, &text)?;
        Ok(())
    }

    /// Forgets the release (after an uninstall).
    pub fn remove(
        store: &dyn JobStore,
        cluster: &str,
        namespace: &str,
        ge: &str,
    ) -> Result<(), ReleaseError> {
        store.remove_release_record(&Self::place(cluster, namespace, ge))?;
        Ok(())
    }

    /// The newest revision.
    pub fn latest(&self) -> Option<&Revision> {
        self.revisions.last()
    }

    /// The revision that runs now: the newest deployed one.
    pub fn deployed(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.status == Status::Deployed)
    }

    /// The revision the cluster was last given: the newest one that is not pending. After a
    /// failed upgrade without automatic rollback that is the failed one, not the deployed one.
    pub fn live(&self) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.status != Status::Pending)
    }

    /// The revision a plain `/rollback` (or an automatic one) returns to: the newest good
    /// revision older than the live one (Helm: the previous `superseded` or `deployed`). After
    /// a failed upgrade that is the deployed revision the upgrade replaced.
    pub fn previous_good(&self) -> Option<&Revision> {
        let live = self.live()?;
        self.revisions
            .iter()
            .rev()
            .find(|r| r.number < live.number && r.status.good())
    }

    /// A revision by number.
    pub fn revision(&self, number: u32) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == number)
    }

    /// A revision by number, to change it.
    pub fn revision_mut(&mut self, number: u32) -> Option<&mut Revision> {
        self.revisions.iter_mut().find(|r| r.number == number)
    }

    /// Adds a pending revision and returns its number.
    pub fn push(&mut self, mut revision: Revision) -> u32 {
        revision.number = self.next;
        revision.status = Status::Pending;
        self.next += 1;
        let n = revision.number;
        self.revisions.push(revision);
        n
    }

    /// Marks revision `number` deployed, and the previously deployed one superseded.
    pub fn mark_deployed(&mut self, number: u32, summary: String, at_ms: u64) {
        for r in &mut self.revisions {
            if r.number == number {
                r.status = Status::Deployed;
                r.finished_ms = Some(at_ms);
                r.summary = Some(summary.clone());
            } else if r.status == Status::Deployed {
                r.status = Status::Superseded;
            }
        }
    }

    /// Marks revision `number` failed.
    pub fn mark_failed(&mut self, number: u32, reason: String, at_ms: u64) {
        if let Some(r) = self.revision_mut(number) {
            r.status = Status::Failed { reason };
            r.finished_ms = Some(at_ms);
        }
    }

    /// The pending revision a job applied, if any (what a resumed job goes on watching).
    pub fn pending_of(&self, job: JobId) -> Option<&Revision> {
        self.revisions
            .iter()
            .rev()
            .find(|r| r.job == job && r.status == Status::Pending)
    }
}

#[cfg(test)]
mod tests;
