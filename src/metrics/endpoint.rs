//! The HTTP endpoint at `[metrics] listen`: `/metrics` (OpenMetrics text), `/healthz` and
//! `/readyz` (200 with `ok`/`ready`, 503 with the reason). Bound before the replica
//! campaigns, so a standby answers too (not ready, with why).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::{Health, Metrics};

/// The media type of `/metrics`: what prometheus-client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Failures of the metrics endpoint.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The configured address could not be bound.
    #[error("cannot listen on {addr} for [metrics]: {source}")]
    Bind {
        /// `[metrics] listen`.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The families could not be written out (a formatter error; not expected).
    #[error("cannot encode the metrics")]
    Encode,
}

/// A bound endpoint; [`Endpoint::run`] serves it.
pub struct Endpoint {
    listener: tokio::net::TcpListener,
    state: Arc<Served>,
}

struct Served {
    metrics: Metrics,
    health: Arc<Health>,
}

impl Endpoint {
    /// Binds `addr` (port 0: any free port; see [`Endpoint::local_addr`]).
    pub async fn bind(
        addr: SocketAddr,
        metrics: Metrics,
        health: Arc<Health>,
    ) -> Result<Endpoint, MetricsError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        Ok(Endpoint {
            listener,
            state: Arc::new(Served { metrics, health }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .with_state(self.state);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the metrics endpoint stopped");
        }
    }
}

async fn metrics(State(s): State<Arc<Served>>) -> Response {
    // The store read behind the queue gauges blocks (bounded by the store's timeout).
    let health = s.health.clone();
    let _ = tokio::task::spawn_blocking(move || health.observe_store()).await;
    match s.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn healthz(State(s): State<Arc<Served>>) -> Response {
    answer(s.health.live(), "ok")
}

async fn readyz(State(s): State<Arc<Served>>) -> Response {
    let health = s.health.clone();
    let verdict = tokio::task::spawn_blocking(move || health.ready())
        .await
        .unwrap_or_else(|e| Err(format!("the readiness check failed: {e}")));
    answer(verdict, "ready")
}

fn answer(verdict: Result<(), String>, ok: &'static str) -> Response {
    match verdict {
        Ok(()) => (StatusCode::OK, format!("{ok}\n")).into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}
