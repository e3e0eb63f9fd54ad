//! The `[metrics]` endpoint of a running bot: bound before the replica campaigns (a standby
//! answers `/readyz` with why it is not ready), stopped when the bot returns.

use std::sync::Arc;

use tokio_util::sync::{CancellationToken, DropGuard};

use super::AppError;
use crate::config::Config;
use crate::metrics::{Endpoint, Health, Metrics};
use crate::store::JobStore;

/// The bot's metrics and health, served while this value lives (when `[metrics]` is set).
pub(super) struct Monitoring {
    /// What the bot counts into.
    pub metrics: Metrics,
    /// What `/healthz` and `/readyz` look at.
    pub health: Arc<Health>,
    _served: Option<DropGuard>,
}

/// Binds `[metrics] listen` and serves it; with no `[metrics]`, counts without serving.
pub(super) async fn start(
    config: &Config,
    store: Arc<dyn JobStore>,
) -> Result<Monitoring, AppError> {
    let metrics = Metrics::new();
    let health = Arc::new(Health::new(metrics.clone(), store));
    let served = match &config.metrics {
        None => None,
        Some(settings) => {
            let endpoint = Endpoint::bind(settings.listen, metrics.clone(), health.clone()).await?;
            if let Some(addr) = endpoint.local_addr() {
                tracing::info!(%addr, "serving /metrics, /healthz and /readyz on http://{addr}");
            }
            let stop = CancellationToken::new();
            tokio::spawn(endpoint.run(stop.clone()));
            Some(stop.drop_guard())
        }
    };
    Ok(Monitoring {
        metrics,
        health,
        _served: served,
    })
}
