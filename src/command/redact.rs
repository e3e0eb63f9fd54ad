//! Redaction of raw message text before it is logged or audited.

use super::escape;
use super::render::MASK;

/// `key=` prefixes whose values are secrets (matched case-insensitively, anywhere in the text,
/// so `db_password=` is masked too).
const SECRET_KEYS: &[&str] = &["confirm=", "token=", "password=", "passphrase=", "secret="];

/// Whether the value of `key=` is masked in logged and audited text (so a GE parameter
/// holding a credential must have such a name).
pub fn is_masked_key(key: &str) -> bool {
    let typed = format!("{}=", key.to_ascii_lowercase());
    SECRET_KEYS.iter().any(|k| typed.contains(k))
}

/// The most characters a redacted text keeps.
pub(crate) const REDACTED_LIMIT: usize = 300;

/// Masks secret values, escapes what is not printable ASCII and caps the length.
pub(crate) fn redact_text(text: &str) -> String {
    escape::escape_truncated(&mask(text), REDACTED_LIMIT)
}

/// Replaces the value after every secret `key=` (up to the next ASCII whitespace) with `***`.
fn mask(text: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` index `text`.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    loop {
        let next = SECRET_KEYS
            .iter()
            .filter_map(|key| lower[at..].find(key).map(|i| (at + i, key.len())))
            .min();
        let Some((start, key_len)) = next else {
            out.push_str(&text[at..]);
            return out;
        };
        let value = start + key_len;
        out.push_str(&text[at..value]);
        out.push_str(MASK);
        at = text[value..]
            .find(|c: char| c.is_ascii_whitespace())
            .map_or(text.len(), |i| value + i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_whatever_the_case() {
        assert_eq!(
            redact_text("/cluster delete lab-1 confirm=abcd1234"),
            "/cluster delete lab-1 confirm=***"
        );
        assert_eq!(
            redact_text("TOKEN=x password=y z"),
            "TOKEN=*** password=*** z"
        );
        assert_eq!(
            redact_text("db_password=hunter2 passphrase=a\tb"),
            "db_password=*** passphrase=***\\tb"
        );
        assert_eq!(redact_text("secret= next"), "secret=*** next");
        assert_eq!(
            redact_text("confirm=a=b confirm=c"),
            "confirm=*** confirm=***"
        );
    }

    #[test]
    fn non_secrets_are_kept() {
        assert_eq!(
            redact_text("/ge install orion ns=demo"),
            "/ge install orion ns=demo"
        );
        assert_eq!(redact_text("tokens are fine"), "tokens are fine");
    }

    #[test]
    fn controls_and_non_ascii_are_escaped() {
        assert_eq!(
            redact_text("a\0b\u{202e}c\nд"),
            "a\\u{0}b\\u{202e}c\\n\\u{434}"
        );
    }

    #[test]
    fn a_secret_with_non_ascii_is_masked_before_escaping() {
        assert_eq!(redact_text("confirm=ключ\u{a0}x y"), "confirm=*** y");
    }

    #[test]
    fn length_is_capped_after_masking() {
        let long = format!("confirm={} {}", "s".repeat(500), "x".repeat(500));
        let out = redact_text(&long);
        assert_eq!(out.chars().count(), REDACTED_LIMIT);
        assert!(out.starts_with("confirm=*** x"));
        assert!(out.ends_with('…'));
        assert!(!out.contains('s'));
    }
}
