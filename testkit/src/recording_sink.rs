//! A progress sink that remembers every event, for tests that check what a job reported.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use labkube::progress::{MessageRef, ProgressEvent, ProgressSink};
use labkube::store::{Job, JobId};

/// Records every `attach` and `emit` in order.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: Mutex<Vec<(JobId, ProgressEvent)>>,
    attached: Mutex<Vec<(JobId, MessageRef)>>,
    /// Whether outcomes (`Finished`) are recorded but reported as not delivered, as when the
    /// chat send failed.
    lose_outcomes: AtomicBool,
}

impl RecordingSink {
    /// A sink with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, outcomes are recorded but reported as not delivered (`on`), or delivered.
    pub fn lose_outcomes(&self, on: bool) {
        self.lose_outcomes.store(on, Ordering::SeqCst);
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<(JobId, ProgressEvent)> {
        // A poisoned lock only means a panicking test thread; the data is still usable.
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every attached message so far, in order.
    pub fn attached(&self) -> Vec<(JobId, MessageRef)> {
        self.attached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl ProgressSink for RecordingSink {
    async fn attach(&self, job: &Job, message: MessageRef) {
        self.attached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((job.id, message));
    }

    async fn emit(&self, job: &Job, event: ProgressEvent) -> bool {
        let outcome = matches!(event, ProgressEvent::Finished { .. });
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((job.id, event));
        !(outcome && self.lose_outcomes.load(Ordering::SeqCst))
    }
}
