//! Secrets at rest in a shared store. The etcd store keeps clusters' admin kubeconfigs
//! ([`Space::Kubeconfigs`](super::Space)) sealed with XChaCha20-Poly1305 under a 256-bit key
//! that only the bot holds (`[store] secret_key`, from the environment or a file): whoever can
//! read etcd — its other tenants, a backup of its data directory — sees ciphertext. The store
//! key is bound into each seal as associated data, so a sealed value moved to another key does
//! not open. The nonce is random (24 bytes: no coordination between replicas is needed for
//! uniqueness).
//!
//! Layout of a sealed value: `0x01` (format), 24-byte nonce, ciphertext with its 16-byte tag.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// The format byte of a sealed value.
const FORMAT: u8 = 1;
const NONCE: usize = 24;

/// Why a key or a sealed value was refused. Never carries key material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The configured key is not 32 bytes written as 64 hex digits.
    #[error(
        "the store's secret key must be 32 bytes written as 64 hexadecimal digits (make one with `openssl rand -hex 32`); this one is {0}"
    )]
    BadKey(String),
    /// A sealed value did not open: another key sealed it, or it was changed.
    #[error(
        "a sealed secret does not open with the configured key (sealed under another key, or altered)"
    )]
    Open,
    /// The system's random source failed.
    #[error("no random nonce for sealing: {0}")]
    Random(String),
}

/// The key secrets are sealed with. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SealKey(Key);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(***)")
    }
}

impl SealKey {
    /// Reads a key written as 64 hexadecimal digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<SealKey, SealError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(SealError::BadKey(format!("{} characters long", text.len())));
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).unwrap_or_default();
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| SealError::BadKey("not hexadecimal".into()))?;
        }
        Ok(SealKey(Key::from(key)))
    }

    /// Seals `plain`, bound to `context` (the record's store key).
    pub fn seal(&self, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let cipher = XChaCha20Poly1305::new(&self.0);
        let payload = Payload {
            msg: plain,
            aad: context,
        };
        // Encryption fails only for messages over 256 GiB.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealError::Open)?;
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value [`SealKey::seal`] made for `context`.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (Some(&FORMAT), Some(nonce), Some(body)) = (
            sealed.first(),
            sealed.get(1..=NONCE),
            sealed.get(1 + NONCE..),
        ) else {
            return Err(SealError::Open);
        };
        let cipher = XChaCha20Poly1305::new(&self.0);
        let payload = Payload {
            msg: body,
            aad: context,
        };
        cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_sealed_value_opens_with_its_key_and_context_only() {
        let key = SealKey::from_hex(HEX).unwrap();
        let sealed = key.seal(b"kubeconfigs/demo", b"apiVersion: v1").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"apiVe"), "plaintext shows");
        assert_eq!(
            key.open(b"kubeconfigs/demo", &sealed).unwrap(),
            b"apiVersion: v1"
        );
        assert_eq!(
            key.open(b"kubeconfigs/other", &sealed),
            Err(SealError::Open)
        );
        let other = SealKey::from_hex(&HEX.replace("1f", "ff")).unwrap();
        assert_eq!(
            other.open(b"kubeconfigs/demo", &sealed),
            Err(SealError::Open)
        );
        let mut altered = sealed.clone();
        if let Some(b) = altered.last_mut() {
            *b ^= 1;
        }
        assert_eq!(
            key.open(b"kubeconfigs/demo", &altered),
            Err(SealError::Open)
        );
        assert_eq!(
            key.open(b"kubeconfigs/demo", b"plain"),
            Err(SealError::Open)
        );
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let key = SealKey::from_hex(HEX).unwrap();
        assert_ne!(key.seal(b"k", b"v").unwrap(), key.seal(b"k", b"v").unwrap());
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let short = SealKey::from_hex("abcd").unwrap_err().to_string();
        assert!(short.contains("4 characters long") && short.contains("64 hexadecimal"));
        let not_hex = SealKey::from_hex(&"zz".repeat(32)).unwrap_err().to_string();
        assert!(not_hex.contains("not hexadecimal") && !not_hex.contains("zzzz"));
        assert!(format!("{:?}", SealKey::from_hex(HEX).unwrap()).contains("***"));
    }
}
