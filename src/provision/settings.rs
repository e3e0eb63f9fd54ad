//! What every cluster job shares: settings from the config and how to open connections.

use std::sync::Arc;
use std::time::Duration;

use super::remote::{Connector, RemoteError};
use crate::config::Config;
use crate::store::JobStore;

/// Provisioning settings, from the config.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Default SSH user.
    pub user: String,
    /// Default SSH port.
    pub port: u16,
    /// Default Kubernetes minor.
    pub k8s: String,
    /// Default pod CIDR.
    pub pod_cidr: String,
    /// Limit of one script run.
    pub command_timeout: Duration,
    /// Hosts worked on at once within a step.
    pub parallel_hosts: usize,
    /// Extra attempts of steps that download (package installs, manifests, Helm).
    pub retries: usize,
    /// Wait before the first retry; doubles each time.
    pub retry_backoff: Duration,
    /// How long nodes may take to become Ready.
    pub nodes_ready_timeout: Duration,
    /// How often node readiness is checked.
    pub poll_interval: Duration,
    /// Extra environment for every script (proxies, PATH additions).
    pub remote_env: Vec<(String, String)>,
    /// flannel release to install.
    pub flannel_version: String,
    /// Helm release to install.
    pub helm_version: String,
    /// local-path-provisioner release to install.
    pub local_path_version: String,
    /// Registry mirrors for containerd, encoded for the install_containerd step
    /// ([`crate::config::encode_mirrors`]).
    pub registry_mirrors: String,
    /// metrics-server release to install.
    pub metrics_server_version: String,
    /// kube-vip release for clusters with a virtual IP.
    pub kube_vip_version: String,
    /// Share of the workers an upgrade takes at once, percent (`[cluster] upgrade_batch_percent`).
    pub upgrade_batch_percent: u8,
    /// How long the bot waits to connect to a new cluster's API server (`[kube]
    /// connect_timeout_secs`) before it registers the cluster.
    pub api_connect_timeout: Duration,
    /// `[ssh]`, for the address check a job makes again when it connects.
    pub ssh: crate::config::Ssh,
}

/// Makes the job's [`Connector`] when a cluster job starts (so a bad key path fails that job
/// with a clear message instead of stopping the bot).
pub type ConnectorFactory = Arc<dyn Fn() -> Result<Arc<dyn Connector>, RemoteError> + Send + Sync>;

/// Settings plus the connector factory, shared by all cluster jobs.
#[derive(Clone)]
pub struct Engine {
    /// Settings.
    pub settings: Settings,
    /// Opens connections.
    pub connect: ConnectorFactory,
}

impl Engine {
    /// Provisioning settings and the SSH connector factory from the config. The key is loaded
    /// when a cluster job starts, so a missing key fails that job with a clear message and
    /// never stops the bot (the console needs no key at all).
    pub fn from_config(config: &Config, store: Arc<dyn JobStore>) -> Engine {
        let c = &config.cluster;
        let s = &config.ssh;
        let settings = Settings {
            user: s.user.clone(),
            port: s.port,
            k8s: c.k8s.clone(),
            pod_cidr: c.pod_cidr.clone(),
            command_timeout: Duration::from_secs(s.command_timeout_secs),
            parallel_hosts: c.parallel_hosts,
            retries: c.step_retries,
            retry_backoff: Duration::from_millis(c.retry_backoff_ms),
            nodes_ready_timeout: Duration::from_secs(c.nodes_ready_timeout_secs),
            poll_interval: Duration::from_millis(c.nodes_poll_ms),
            remote_env: s
                .remote_env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            flannel_version: c.flannel_version.clone(),
            helm_version: c.helm_version.clone(),
            local_path_version: c.local_path_version.clone(),
            registry_mirrors: crate::config::encode_mirrors(&c.registry_mirrors),
            metrics_server_version: c.metrics_server_version.clone(),
            kube_vip_version: c.kube_vip_version.clone(),
            upgrade_batch_percent: c.upgrade_batch_percent,
            api_connect_timeout: Duration::from_secs(config.kube.connect_timeout_secs),
            ssh: config.ssh.clone(),
        };
        Engine {
            settings,
            connect: super::ssh::connector_factory(s, store),
        }
    }
}
