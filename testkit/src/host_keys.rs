//! Host keys pinned in memory, for tests and benchmarks that connect over SSH without a job
//! store (the bot pins in its store: `labkube::provision::StorePins`).

use std::collections::HashMap;
use std::sync::Mutex;

use labkube::provision::remote::{HostKeyStore, RemoteError};

/// Host keys pinned in memory (every run is a first contact).
#[derive(Debug, Default)]
pub struct MemoryHostKeys {
    keys: Mutex<HashMap<String, String>>,
}

impl MemoryHostKeys {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the key pinned for `host` (`addr:port`); `true` if there was one.
    pub fn forget(&self, host: &str) -> bool {
        self.lock().remove(host).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding this lock cannot leave the map half-updated.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl HostKeyStore for MemoryHostKeys {
    fn pinned(&self, host: &str) -> Result<Option<String>, RemoteError> {
        Ok(self.lock().get(host).cloned())
    }

    fn pin(&self, host: &str, key: &str) -> Result<(), RemoteError> {
        self.lock().insert(host.to_owned(), key.to_owned());
        Ok(())
    }
}
