//! `/healthz` and `/readyz`. Alive: the process answers and its job worker has not given up.
//! Ready: alive, this process leads (a standby takes no traffic: it runs no chat adapter and no
//! job), and the job store answers a read now. A load balancer or Kubernetes sends work only
//! to the ready one; a supervisor restarts one that is not alive.

use std::sync::{Arc, OnceLock};

use super::Metrics;
use crate::jobs::WorkerHandle;
use crate::store::{JobState, JobStore};

/// What the health endpoints look at.
pub struct Health {
    metrics: Metrics,
    store: Arc<dyn JobStore>,
    worker: OnceLock<WorkerHandle>,
}

impl Health {
    /// Health over `store`; leadership is what `metrics` says ([`Metrics::set_leader`]).
    pub fn new(metrics: Metrics, store: Arc<dyn JobStore>) -> Health {
        Health {
            metrics,
            store,
            worker: OnceLock::new(),
        }
    }

    /// The worker, once this process leads and started it.
    pub fn watch_worker(&self, worker: WorkerHandle) {
        // A second worker is never started in one process; the first one stays watched.
        let _ = self.worker.set(worker);
    }

    /// `Err(why)` when the process should be restarted.
    pub fn live(&self) -> Result<(), String> {
        match self.worker.get().and_then(WorkerHandle::unavailable) {
            Some(why) => Err(format!("the job worker stopped: {why}")),
            None => Ok(()),
        }
    }

    /// `Err(why)` when this process should get no traffic. Reads the store (blocking, bounded
    /// by the store's own timeout): call it off the async threads. Also refreshes the queue
    /// gauges and `labkube_store_up`.
    pub fn ready(&self) -> Result<(), String> {
        self.live()?;
        let store_ok = self.observe_store();
        if !self.metrics.is_leader() {
            return Err("standby: another replica leads (or this one is still starting)".into());
        }
        store_ok
    }

    /// Reads the active jobs for the queue gauges; `Err` says why the store did not answer.
    pub fn observe_store(&self) -> Result<(), String> {
        match self.store.active() {
            Ok(active) => {
                let queued = active
                    .iter()
                    .filter(|j| j.state == JobState::Queued)
                    .count();
                self.metrics
                    .store_seen(Some((queued, active.len() - queued)));
                Ok(())
            }
            Err(e) => {
                self.metrics.store_seen(None);
                Err(format!("the job store does not answer: {e}"))
            }
        }
    }
}
