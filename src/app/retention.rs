//! Audit retention: entries older than `[limits] audit_retention_days` are pruned at start and
//! once a day after, keeping the trail verifiable from its new anchor
//! ([`crate::store::JobStore::prune_audit`]). 0 keeps every entry.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{JobStore, now_ms};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Prunes now and every day until `stop`.
pub async fn keep_audit(store: Arc<dyn JobStore>, days: u64, stop: CancellationToken) {
    if days == 0 {
        return;
    }
    loop {
        let cut = now_ms().saturating_sub(days.saturating_mul(DAY_MS));
        match store.prune_audit(cut) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                entries = n,
                days,
                "audit entries older than the retention pruned"
            ),
            Err(e) => tracing::error!(error = %e, "cannot prune the audit trail"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(DAY_MS)) => {}
        }
    }
}
