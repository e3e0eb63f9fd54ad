//! Whose hosts these are, and whether the bot may contact them. The store's claims make a
//! host belong to one cluster and a name to one room from the moment a create is queued. The
//! flow checks them, and the addresses against `[ssh] allowed_networks`, again when it
//! connects (a job queued before the host index existed takes its claims then). It refuses a
//! host that already runs Kubernetes unless it is a node of this room's registration of this
//! very cluster, and registers the cluster as "being created" once its preflight has passed,
//! before any host changes: from then on the hosts stay this room's, so a failed create can
//! be run again or deleted, and never adopted by another room.

use super::ClusterRun;
use crate::provision::error::ProvisionError;
use crate::store::{ClusterRecord, StoreError};

impl ClusterRun {
    /// This cluster's registration, if this room holds one (`None` for another room's: the
    /// claims keep a job from getting this far with that name).
    pub(super) fn registered(&self) -> Option<ClusterRecord> {
        let record = self.io.store.cluster(&self.name).ok().flatten()?;
        (record.owner_platform == self.owner.0 && record.owner_room == self.owner.1)
            .then_some(record)
    }

    /// The claims of this job, checked again (and taken where a job queued before the host
    /// index lacks them) before any host is contacted.
    pub(super) fn check_claims(&self) -> Result<(), ProvisionError> {
        // The config may have changed since the job was queued: its addresses are checked
        // against the `[ssh]` networks in force now.
        let addrs: Vec<std::net::IpAddr> = self.hosts.iter().map(|h| h.target.addr).collect();
        self.engine.settings.ssh.refuse_any(&addrs).map_err(|why| {
            ProvisionError::Other(format!("{why} (checked when the job started)"))
        })?;
        match self.io.store.reclaim(self.io.job) {
            Ok(()) => Ok(()),
            Err(StoreError::Claimed(conflicts)) => {
                let held: Vec<String> = conflicts.iter().map(|c| c.key.to_string()).collect();
                Err(ProvisionError::Other(format!(
                    "{} already belong(s) to another cluster or job; a host belongs to one cluster at a time, so nothing was contacted",
                    held.join(", ")
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A problem line for each host that already runs Kubernetes without being a node of this
    /// room's registration of this cluster.
    pub(super) fn foreign_cluster_problems(&self) -> Vec<String> {
        let ours: Vec<std::net::IpAddr> = self
            .registered()
            .map(|r| {
                r.nodes
                    .iter()
                    .map(|n| crate::names::host_addr(n.addr))
                    .collect()
            })
            .unwrap_or_default();
        self.hosts
            .iter()
            .filter(|h| h.facts.as_ref().is_some_and(|f| f.in_cluster()))
            .filter(|h| !ours.contains(&crate::names::host_addr(h.target.addr)))
            .map(|h| {
                format!(
                    "{}: already part of a Kubernetes cluster that is not this room's cluster {}; labkube does not take over a cluster it did not create for this room: reset the host (kubeadm reset) or use another",
                    h.target, self.name
                )
            })
            .collect()
    }

    /// Registers the cluster as being created by this job, unless this room's registration
    /// is already complete (a re-create of a working cluster keeps it usable meanwhile). A
    /// node add registers its new hosts with the cluster now, before any host changes, so a
    /// host that fails half-way stays this cluster's: `/node add` again converges it, or
    /// `/cluster status` shows it has not joined.
    pub(super) fn register_creating(&self) -> Result<(), ProvisionError> {
        if self.adding {
            let version = self.registered().map(|r| r.k8s_version).unwrap_or_default();
            let record = self.record(version, None);
            self.io.store.register_cluster(record, self.io.job)?;
            return Ok(());
        }
        if self.registered().is_some_and(|r| r.creating.is_none()) {
            return Ok(());
        }
        let record = self.record(String::new(), Some(self.io.job));
        self.io.store.register_cluster(record, self.io.job)?;
        Ok(())
    }
}
