//! The SSH connector as the config describes it: key, passphrase, known hosts, timeouts, and
//! host keys pinned in the store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{SshConfig, SshConnector};
use crate::config::Ssh;
use crate::provision::pins::StorePins;
use crate::provision::remote::{Connector, RemoteError};
use crate::provision::settings::ConnectorFactory;
use crate::store::JobStore;

/// Makes the connector when a cluster job starts: reads the key (and its passphrase) then, so a
/// bad key path fails that job with a clear message instead of stopping the bot.
pub fn connector_factory(ssh: &Ssh, store: Arc<dyn JobStore>) -> ConnectorFactory {
    let ssh = ssh.clone();
    Arc::new(move || {
        let key_path = ssh.key_path.clone().unwrap_or_else(default_key_path);
        let passphrase = match &ssh.key_passphrase {
            Some(source) => Some(source.resolve().map(|s| s.expose().to_string()).map_err(
                |reason| RemoteError::Key {
                    path: key_path.display().to_string(),
                    reason: format!("passphrase: {reason}"),
                },
            )?),
            None => None,
        };
        let cfg = SshConfig {
            key_path,
            passphrase,
            known_hosts: ssh.known_hosts.clone(),
            connect_timeout: Duration::from_secs(ssh.connect_timeout_secs),
            keepalive: Duration::from_secs(ssh.keepalive_secs),
        };
        let connector = SshConnector::new(cfg, Arc::new(StorePins(store.clone()))).map_err(|e| match e {
            RemoteError::Key { path, reason } => RemoteError::Key {
                path,
                reason: format!("{reason} ([ssh] key_path in the config names the key, key_passphrase its passphrase)"),
            },
            other => other,
        })?;
        Ok(Arc::new(connector) as Arc<dyn Connector>)
    })
}

/// `~/.ssh/id_ed25519`.
fn default_key_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".ssh").join("id_ed25519")
}
