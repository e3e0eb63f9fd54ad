//! What the bot remembers of the kubeconfigs it issued (who, which level, until when; never the
//! token), and the clean-up of expired access: once a grant's token has expired, its binding is
//! deleted, and the user's account too when no grant of theirs is left on that cluster.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::api::{Api, DeleteParams};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::account::{ACCESS_NAMESPACE, Access};
use super::grant::binding_name;
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::store::JobStore;

/// The namespace part of a record for access to the whole cluster.
pub const WHOLE_CLUSTER: &str = "*";

/// What the store keeps of a kubeconfig issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// The chat user (`platform:user`).
    pub principal: String,
    /// Its level.
    pub access: Access,
    /// When its token expires, as the API server wrote it.
    pub expires: String,
    /// The same, Unix ms.
    pub expires_ms: u64,
}

/// Every grant recorded: (cluster, account, namespace or [`WHOLE_CLUSTER`], record).
/// Unreadable records are skipped (and logged).
pub fn records(store: &dyn JobStore) -> Vec<(String, String, String, GrantRecord)> {
    let all = match store.grants() {
        Ok(all) => all,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the kubeconfigs issued");
            return Vec::new();
        }
    };
    all.into_iter()
        .filter_map(|(c, a, n, json)| match serde_json::from_str(&json) {
            Ok(r) => Some((c, a, n, r)),
            Err(e) => {
                tracing::warn!(error = %e, cluster = %c, "an unreadable kubeconfig record");
                None
            }
        })
        .collect()
}

/// Removes expired access, every `every`, until `stop`.
pub struct Expiry {
    layer: KubeLayer,
    store: Arc<dyn JobStore>,
    every: Duration,
}

impl Expiry {
    /// A sweeper over the clusters `layer` reaches and the records in `store`.
    pub fn new(layer: KubeLayer, store: Arc<dyn JobStore>, every: Duration) -> Self {
        Expiry {
            layer,
            store,
            every,
        }
    }

    /// Sweeps now and every `every` until `stop`; a cluster that cannot be reached is tried
    /// again next time.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            if let Err(e) = self.sweep(crate::store::now_ms()).await {
                tracing::warn!(error = %e, "cannot remove expired cluster access yet");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(self.every) => {}
            }
        }
    }

    /// Removes the access whose token expired before `now_ms`; returns how many grants went.
    pub async fn sweep(&self, now_ms: u64) -> Result<usize, KubeError> {
        let all = records(&*self.store);
        let mut removed = 0;
        let mut first_error = None;
        for (cluster, account, ns, record) in &all {
            if record.expires_ms > now_ms {
                continue;
            }
            let live_left = all
                .iter()
                .filter(|(c, a, n, r)| {
                    c == cluster && a == account && n != ns && r.expires_ms > now_ms
                })
                .count();
            match self
                .expire(cluster, account, ns, record.access, live_left == 0)
                .await
            {
                Ok(()) => {
                    self.store.remove_grant(cluster, account, ns)?;
                    removed += 1;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    /// Deletes one expired grant's binding, and the account with it when it was the last.
    async fn expire(
        &self,
        cluster: &str,
        account: &str,
        ns: &str,
        access: Access,
        last: bool,
    ) -> Result<(), KubeError> {
        let c = self.layer.cluster(cluster).await?;
        let name = binding_name(account, access);
        if ns == WHOLE_CLUSTER {
            let api: Api<ClusterRoleBinding> = Api::all(c.client.clone());
            c.delete_quietly(&api, &name, &DeleteParams::default())
                .await?;
        } else {
            let api: Api<RoleBinding> = Api::namespaced(c.client.clone(), ns);
            c.delete_quietly(&api, &name, &DeleteParams::default())
                .await?;
        }
        if last {
            let api: Api<ServiceAccount> = Api::namespaced(c.client.clone(), ACCESS_NAMESPACE);
            c.delete_quietly(&api, account, &DeleteParams::default())
                .await?;
        }
        tracing::info!(
            cluster,
            account,
            namespace = ns,
            "expired cluster access removed"
        );
        Ok(())
    }
}
