//! Host keys pinned in the job store, so a pin survives restarts and
//! `/host forget` can drop it.

use std::sync::Arc;

use super::remote::{HostKeyStore, RemoteError};
use crate::store::JobStore;

/// [`HostKeyStore`] over the job store.
pub struct StorePins(pub Arc<dyn JobStore>);

impl HostKeyStore for StorePins {
    fn pinned(&self, host: &str) -> Result<Option<String>, RemoteError> {
        self.0
            .host_key(host)
            .map_err(|e| RemoteError::Store(e.to_string()))
    }

    fn pin(&self, host: &str, key: &str) -> Result<(), RemoteError> {
        self.0
            .pin_host_key(host, key)
            .map_err(|e| RemoteError::Store(e.to_string()))
    }
}
