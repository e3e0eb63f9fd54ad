//! Loading the client's private key (once, when the connector is made).

use std::path::Path;

use russh::keys::{Algorithm, PrivateKey};

use crate::provision::remote::RemoteError;

/// Loads an OpenSSH private key (ed25519, RSA or ECDSA; a PEM `RSA PRIVATE KEY` also works),
/// decrypting it with `passphrase` if it is encrypted. Errors name the path and never carry
/// the passphrase.
pub(super) fn load(path: &Path, passphrase: Option<&str>) -> Result<PrivateKey, RemoteError> {
    let fail = |reason: String| RemoteError::Key {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let key = if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        let key = PrivateKey::from_openssh(text.trim())
            .map_err(|e| fail(format!("not a valid OpenSSH private key ({e})")))?;
        if key.is_encrypted() {
            let Some(pass) = passphrase else {
                return Err(fail(
                    "the key is encrypted and no passphrase is configured".into(),
                ));
            };
            // ssh-key reports a wrong passphrase as a generic decryption error.
            key.decrypt(pass)
                .map_err(|_| fail("wrong passphrase (or a corrupt key)".into()))?
        } else {
            key
        }
    } else {
        // Older PEM/PKCS#8 formats: russh's decoder.
        russh::keys::decode_secret_key(&text, passphrase).map_err(|e| match e {
            russh::keys::Error::KeyIsEncrypted => {
                fail("the key is encrypted and no passphrase is configured".into())
            }
            other => fail(format!("not a usable private key ({other})")),
        })?
    };
    match key.algorithm() {
        Algorithm::Ed25519 | Algorithm::Rsa { .. } | Algorithm::Ecdsa { .. } => Ok(key),
        other => Err(fail(format!(
            "unsupported key type {} (use ed25519 or RSA)",
            other.as_str()
        ))),
    }
}
