//! What GE jobs and queries share: the catalogue, the `[kube]` settings, and API clients for
//! the clusters the bot knows (declared in the config with a kubeconfig path, or created by
//! `/cluster create`, whose kubeconfig is in the store).

use std::sync::Arc;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::config::{Config, ExistingCluster, KubeSettings};
use crate::kube::catalogue::Catalogue;
use crate::kube::error::KubeError;
use crate::store::JobStore;

/// The Kubernetes layer's shared state; cheap to clone.
#[derive(Clone)]
pub struct KubeLayer {
    /// The GE catalogue, validated at start-up.
    pub catalogue: Arc<Catalogue>,
    /// `[kube]`.
    pub settings: KubeSettings,
    clusters: Arc<Vec<ExistingCluster>>,
    store: Arc<dyn JobStore>,
}

impl KubeLayer {
    /// The layer for a config, over a store.
    pub fn new(config: &Config, catalogue: Arc<Catalogue>, store: Arc<dyn JobStore>) -> Self {
        KubeLayer {
            catalogue,
            settings: config.kube.clone(),
            clusters: Arc::new(config.clusters.clone()),
            store,
        }
    }

    /// The store the layer keeps releases in.
    pub fn store(&self) -> &dyn JobStore {
        &*self.store
    }

    /// `true` if `name` is a cluster the bot knows.
    pub fn knows(&self, name: &str) -> Result<bool, KubeError> {
        Ok(self.clusters.iter().any(|c| c.name == name) || self.store.cluster(name)?.is_some())
    }

    /// How long one-shot queries may take.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.settings.request_timeout_secs)
    }

    /// An API client for `cluster`. The kubeconfig is read each time (it may be rotated) and
    /// never shown: errors name the cluster and the file, not the content.
    pub async fn client(&self, cluster: &str) -> Result<kube::Client, KubeError> {
        let kubeconfig = self.kubeconfig(cluster)?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| KubeError::Kubeconfig {
                    cluster: cluster.into(),
                    reason: e.to_string(),
                })?;
        config.connect_timeout = Some(Duration::from_secs(self.settings.connect_timeout_secs));
        kube::Client::try_from(config).map_err(|e| KubeError::Kubeconfig {
            cluster: cluster.into(),
            reason: e.to_string(),
        })
    }

    fn kubeconfig(&self, cluster: &str) -> Result<Kubeconfig, KubeError> {
        let bad = |reason: String| KubeError::Kubeconfig {
            cluster: cluster.into(),
            reason,
        };
        if let Some(c) = self.clusters.iter().find(|c| c.name == cluster) {
            let text = std::fs::read_to_string(&c.kubeconfig).map_err(|e| {
                bad(format!(
                    "cannot read {} ([[clusters]] kubeconfig in the config): {e}",
                    c.kubeconfig.display()
                ))
            })?;
            // The parser's message may quote the file, tokens included: it is not shown.
            return Kubeconfig::from_yaml(&text).map_err(|_| {
                bad(format!(
                    "{} is not a valid kubeconfig (it does not parse as one)",
                    c.kubeconfig.display()
                ))
            });
        }
        match self.store.kubeconfig(cluster)? {
            Some(text) => Kubeconfig::from_yaml(&text)
                .map_err(|_| bad("its stored kubeconfig does not parse".into())),
            None => Err(crate::store::UnknownCluster(cluster.into()).into()),
        }
    }
}
