//! What GE jobs and queries share: the catalogue, the `[kube]` settings, and API clients for
//! the clusters the bot knows (declared in the config with a kubeconfig path, or created by
//! `/cluster create`, whose kubeconfig is in the store).

use std::sync::Arc;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::config::{Config, ExistingCluster, KubeSettings};
use crate::kube::catalogue::Catalogue;
use crate::kube::client::Cluster;
use crate::kube::error::KubeError;
use crate::kube::kubeconfig::{API_SERVER_PORT, ClusterCredentials};
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
    /// never shown: errors name the cluster and the file, not the content. A created
    /// cluster's client is built from its stored credentials alone (see [`kubeconfig`]).
    ///
    /// [`kubeconfig`]: crate::kube::kubeconfig
    pub async fn client(&self, cluster: &str) -> Result<kube::Client, KubeError> {
        Ok(self.client_and_server(cluster).await?.0)
    }

    /// [`KubeLayer::client`] and the URL of the API server it talks to.
    async fn client_and_server(
        &self,
        cluster: &str,
    ) -> Result<(kube::Client, String, Vec<Vec<u8>>), KubeError> {
        let bad = |reason: String| KubeError::Kubeconfig {
            cluster: cluster.into(),
            reason,
        };
        let mut config = match self.clusters.iter().find(|c| c.name == cluster) {
            Some(declared) => {
                let kubeconfig = Self::declared(declared).map_err(bad)?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await
                    .map_err(|e| bad(e.to_string()))?
            }
            None => {
                let (mut creds, control_planes) = self.created(cluster)?;
                creds.addr = self.answering(&control_planes).await.unwrap_or(creds.addr);
                creds
                    .client_config()
                    .map_err(|e| bad(format!("its stored credentials: {e}")))?
            }
        };
        config.connect_timeout = Some(Duration::from_secs(self.settings.connect_timeout_secs));
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let ca = config.root_cert.clone().unwrap_or_default();
        let client = kube::Client::try_from(config).map_err(|e| bad(e.to_string()))?;
        Ok((client, server, ca))
    }

    /// `cluster`'s API with the per-request timeout of `[kube]`.
    pub async fn cluster(&self, cluster: &str) -> Result<Cluster, KubeError> {
        let (client, server, ca) = self.client_and_server(cluster).await?;
        Ok(Cluster {
            name: cluster.into(),
            client,
            server,
            timeout: self.request_timeout(),
            ca,
        })
    }

    /// Where the bot reaches `cluster`'s API server (`https://10.0.0.1:6443`): for a created
    /// cluster the address rebuilt from its control plane, for a declared one its kubeconfig's
    /// current context. Addresses only, never credentials.
    pub fn endpoint(&self, cluster: &str) -> Result<String, KubeError> {
        let Some(declared) = self.clusters.iter().find(|c| c.name == cluster) else {
            return Ok(self.created(cluster)?.0.server_url());
        };
        let bad = |reason: String| KubeError::Kubeconfig {
            cluster: cluster.into(),
            reason,
        };
        let kubeconfig = Self::declared(declared).map_err(bad)?;
        let context = kubeconfig.current_context.as_deref().and_then(|name| {
            kubeconfig
                .contexts
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.context.as_ref())
        });
        let server = context
            .and_then(|ctx| kubeconfig.clusters.iter().find(|c| c.name == ctx.cluster))
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone());
        server.ok_or_else(|| bad("its current context names no cluster with a server".into()))
    }

    /// A kubeconfig declared in the config: the admin's own, loaded as it is.
    fn declared(c: &ExistingCluster) -> Result<Kubeconfig, String> {
        let text = std::fs::read_to_string(&c.kubeconfig).map_err(|e| {
            format!(
                "cannot read {} ([[clusters]] kubeconfig in the config): {e}",
                c.kubeconfig.display()
            )
        })?;
        // The parser's message may quote the file, tokens included: it is not shown.
        Kubeconfig::from_yaml(&text).map_err(|_| {
            format!(
                "{} is not a valid kubeconfig (it does not parse as one)",
                c.kubeconfig.display()
            )
        })
    }

    /// The first of `control_planes` whose API server port accepts a connection within the
    /// connect timeout, all asked at once: the bot's client fails over to another control
    /// plane of an HA cluster when one is down (a virtual IP is asked first, so it is used
    /// while it answers). `None` when there is no choice to make or
    /// none answers (the client then reports the first one's error).
    async fn answering(&self, control_planes: &[std::net::IpAddr]) -> Option<std::net::IpAddr> {
        if control_planes.len() < 2 {
            return None;
        }
        let limit = Duration::from_secs(self.settings.connect_timeout_secs);
        let probes = control_planes.iter().map(|addr| async move {
            let target = std::net::SocketAddr::new(*addr, API_SERVER_PORT);
            let open = tokio::time::timeout(limit, tokio::net::TcpStream::connect(target)).await;
            matches!(open, Ok(Ok(_))).then_some(*addr)
        });
        futures::future::join_all(probes)
            .await
            .into_iter()
            .flatten()
            .next()
    }

    /// The stored credentials of a cluster the bot created, sanitised again on the way out (a
    /// record of an earlier release is the host's kubeconfig as it was), and where its API
    /// servers answer: its virtual IP if it has one, then its control planes' addresses, the
    /// first one's first.
    fn created(
        &self,
        cluster: &str,
    ) -> Result<(ClusterCredentials, Vec<std::net::IpAddr>), KubeError> {
        let record = self.store.cluster(cluster)?;
        let Some(text) = self.store.kubeconfig(cluster)? else {
            if record.is_none() {
                return Err(crate::store::UnknownCluster(cluster.into()).into());
            }
            return Err(KubeError::Kubeconfig {
                cluster: cluster.into(),
                reason: "labkube holds no credentials for it (its create has not stored them); \
                         run /cluster create for it again to store them"
                    .into(),
            });
        };
        // The stored address is the first control plane's; a virtual IP, when the cluster has
        // one, is where its API endpoint is.
        let vip = record.as_ref().and_then(|c| c.endpoint);
        let control_planes: Vec<std::net::IpAddr> = record
            .map(|c| {
                // A virtual IP first: it leads to whichever control plane works.
                let vip = c.endpoint.into_iter();
                let cps: Vec<_> = c
                    .nodes
                    .iter()
                    .filter(|n| n.role == crate::provision::role(true))
                    .map(|n| n.addr)
                    .collect();
                let cps = if cps.is_empty() {
                    c.nodes.first().map(|n| n.addr).into_iter().collect()
                } else {
                    cps
                };
                vip.chain(cps).collect()
            })
            .unwrap_or_default();
        ClusterCredentials::from_store(&text, control_planes.first().copied())
            .map(|mut creds| {
                creds.addr = vip.unwrap_or(creds.addr);
                (creds, control_planes)
            })
            .map_err(|e| KubeError::Kubeconfig {
                cluster: cluster.into(),
                reason: format!(
                    "its stored kubeconfig is refused: {e}. Nothing in it was used or run; \
                 run /cluster create for it again to store its credentials anew"
                ),
            })
    }
}
