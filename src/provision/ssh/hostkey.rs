//! Host-key trust: fingerprints, the known_hosts check and pinning on first contact.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::{Algorithm, HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::provision::remote::{HostKeyStore, RemoteError, Target};

/// The OpenSSH `SHA256:<base64, no padding>` fingerprint of `key`, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The `SHA256:...` fingerprint of an OpenSSH public-key line (`ssh-ed25519 AAAA... [comment]`),
/// e.g. a key kept in a [`HostKeyStore`]; `None` if the line is not a public key.
pub fn fingerprint_of_line(line: &str) -> Option<String> {
    PublicKey::from_openssh(line.trim())
        .ok()
        .map(|k| fingerprint(&k))
}

/// Where trust comes from for one connector.
#[derive(Clone)]
pub(super) enum Trust {
    /// An OpenSSH known_hosts file: only hosts listed there, with that key.
    KnownHosts(PathBuf),
    /// Trust on first use, remembered in the store.
    Pins(Arc<dyn HostKeyStore>),
}

/// An accepted host key.
#[derive(Clone, Debug)]
pub(super) struct Accepted {
    /// Its `SHA256:...` fingerprint.
    pub fingerprint: String,
    /// Its OpenSSH public-key line, to pin once authentication succeeded (`None`: already
    /// trusted).
    pub to_pin: Option<String>,
}

/// The keys the store or known_hosts trust for `target`, parsed; used to prefer their
/// algorithm in the handshake (a host may have several host keys).
pub(super) fn trusted_keys(trust: &Trust, target: &Target) -> Result<Vec<PublicKey>, RemoteError> {
    match trust {
        Trust::KnownHosts(path) => known_hosts_entries(path, target),
        Trust::Pins(store) => Ok(store
            .pinned(&target.pin_id())?
            .and_then(|line| PublicKey::from_openssh(line.trim()).ok())
            .into_iter()
            .collect()),
    }
}

/// Checks `presented` for `target`. Nothing is written: a first-contact key is returned in
/// [`Accepted::to_pin`] and pinned by [`pin`] only after the login succeeded.
pub(super) fn check(
    trust: &Trust,
    target: &Target,
    presented: &PublicKey,
) -> Result<Accepted, RemoteError> {
    let presented_fp = fingerprint(presented);
    let changed = |expected: String| RemoteError::HostKeyChanged {
        host: target.to_string(),
        addr: target.addr.to_string(),
        expected,
        presented: presented_fp.clone(),
    };
    match trust {
        Trust::KnownHosts(path) => {
            let entries = known_hosts_entries(path, target)?;
            if entries.iter().any(|k| k.key_data() == presented.key_data()) {
                return Ok(Accepted {
                    fingerprint: presented_fp,
                    to_pin: None,
                });
            }
            // Listed, but not with this key: report the entry of the same type if there is
            // one (the one OpenSSH would have compared), else the first.
            let expected = entries
                .iter()
                .find(|k| k.algorithm() == presented.algorithm())
                .or(entries.first());
            match expected {
                Some(k) => Err(changed(fingerprint(k))),
                None => Err(RemoteError::HostKeyUnknown {
                    host: target.to_string(),
                    presented: presented_fp,
                }),
            }
        }
        Trust::Pins(store) => match store.pinned(&target.pin_id())? {
            None => Ok(Accepted {
                to_pin: Some(openssh_line(presented)?),
                fingerprint: presented_fp,
            }),
            Some(line) => match PublicKey::from_openssh(line.trim()) {
                Ok(k) if k.key_data() == presented.key_data() => Ok(Accepted {
                    fingerprint: presented_fp,
                    to_pin: None,
                }),
                Ok(k) => Err(changed(fingerprint(&k))),
                Err(e) => Err(RemoteError::Store(format!(
                    "the key pinned for {} is not an OpenSSH public key: {e}",
                    target.pin_id()
                ))),
            },
        },
    }
}

/// Pins a first-contact key, unless another connection pinned one meanwhile: the same key is
/// then fine (no first contact for us), a different one is a change.
pub(super) fn pin(
    trust: &Trust,
    target: &Target,
    accepted: &Accepted,
) -> Result<Option<String>, RemoteError> {
    let (Trust::Pins(store), Some(line)) = (trust, &accepted.to_pin) else {
        return Ok(None);
    };
    let id = target.pin_id();
    if let Some(now) = store.pinned(&id)? {
        let same = fingerprint_of_line(&now);
        return if same.as_deref() == Some(accepted.fingerprint.as_str()) {
            Ok(None)
        } else {
            Err(RemoteError::HostKeyChanged {
                host: target.to_string(),
                addr: target.addr.to_string(),
                expected: same.unwrap_or(now),
                presented: accepted.fingerprint.clone(),
            })
        };
    }
    store.pin(&id, line)?;
    Ok(Some(accepted.fingerprint.clone()))
}

/// The host-key algorithms to offer: those of the trusted keys first (so a host with several
/// keys proves the one we know, as OpenSSH does), then russh's defaults.
pub(super) fn preferred_algorithms(trusted: &[PublicKey]) -> Vec<Algorithm> {
    let mut out: Vec<Algorithm> = Vec::new();
    for key in trusted {
        let algs = match key.algorithm() {
            // An RSA key can sign with SHA-2 (OpenSSH no longer accepts SHA-1 `ssh-rsa`).
            Algorithm::Rsa { .. } => vec![
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                },
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha256),
                },
            ],
            other => vec![other],
        };
        for a in algs {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    for a in russh::Preferred::DEFAULT.key.iter() {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}

/// The russh client handler: checks the server's host key during the handshake.
pub(super) struct HostKeyCheck {
    pub trust: Trust,
    pub target: Target,
    /// The accepted key, for pinning after login.
    pub accepted: Arc<Mutex<Option<Accepted>>>,
}

/// Why the handshake stopped: russh's own error, or our host-key verdict.
#[derive(Debug)]
pub(super) enum HandlerError {
    Ssh(russh::Error),
    HostKey(RemoteError),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError::Ssh(e)
    }
}

impl client::Handler for HostKeyCheck {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Err(HandlerError::HostKey(RemoteError::Connect {
                host: self.target.to_string(),
                reason: "the host presented a certificate instead of a host key".into(),
            }));
        };
        let verdict = check(&self.trust, &self.target, key);
        match verdict {
            Ok(accepted) => {
                let mut slot = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
                // Re-keying checks again; the first verdict is the one that counts.
                if slot.is_none() {
                    *slot = Some(accepted);
                }
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(host = %self.target, error = %e, "host key rejected");
                Err(HandlerError::HostKey(e))
            }
        }
    }
}

fn openssh_line(key: &PublicKey) -> Result<String, RemoteError> {
    // Pinned without a comment: only the algorithm and the key material.
    PublicKey::new(key.key_data().clone(), "")
        .to_openssh()
        .map_err(|e| RemoteError::Store(format!("cannot encode the host key: {e}")))
}

/// The keys `path` lists for `target` (`addr` for port 22, `[addr]:port` otherwise; hashed
/// `|1|...` entries included).
fn known_hosts_entries(path: &Path, target: &Target) -> Result<Vec<PublicKey>, RemoteError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        RemoteError::Store(format!("known_hosts {}: {e}", path.display()))
    };
    // russh treats a missing file as empty; a configured file that is gone is an error here.
    std::fs::File::open(path).map_err(|e| unreadable(&e))?;
    russh::keys::known_hosts::known_host_keys_path(&target.addr.to_string(), target.port, path)
        .map(|v| v.into_iter().map(|(_line, key)| key).collect())
        .map_err(|e| unreadable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

    fn target() -> Target {
        Target {
            addr: "127.0.0.9".parse().unwrap(),
            port: 2222,
            user: "root".into(),
        }
    }

    #[test]
    fn first_contact_then_same_then_changed() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = crate::store::SledStore::open(dir.path()).unwrap();
        let store: Arc<dyn HostKeyStore> = Arc::new(crate::provision::StorePins(Arc::new(jobs)));
        let trust = Trust::Pins(store.clone());
        let key = PublicKey::from_openssh(ED).unwrap();
        let a = check(&trust, &target(), &key).unwrap();
        assert!(a.to_pin.is_some());
        assert_eq!(pin(&trust, &target(), &a).unwrap(), Some(fingerprint(&key)));
        assert_eq!(store.pinned("127.0.0.9:2222").unwrap().as_deref(), Some(ED));
        let again = check(&trust, &target(), &key).unwrap();
        assert!(again.to_pin.is_none());
        assert_eq!(pin(&trust, &target(), &again).unwrap(), None);

        store
            .pin(
                "127.0.0.9:2222",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            )
            .unwrap();
        match check(&trust, &target(), &key) {
            Err(RemoteError::HostKeyChanged {
                expected,
                presented,
                addr,
                ..
            }) => {
                assert_eq!(presented, fingerprint(&key));
                assert_ne!(expected, presented);
                assert!(expected.starts_with("SHA256:"));
                assert_eq!(addr, "127.0.0.9");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fingerprint_of_a_line() {
        let fp = fingerprint_of_line(&format!("{ED} a comment")).unwrap();
        assert!(fp.starts_with("SHA256:") && !fp.ends_with('='), "{fp}");
        assert_eq!(fingerprint_of_line("not a key"), None);
    }

    #[test]
    fn trusted_algorithm_goes_first() {
        let ed = PublicKey::from_openssh(ED).unwrap();
        assert_eq!(preferred_algorithms(&[ed])[0], Algorithm::Ed25519);
        assert_eq!(
            preferred_algorithms(&[]),
            russh::Preferred::DEFAULT.key.to_vec()
        );
    }
}
