//! Secrets out of anything shown: kubeadm tokens, certificate keys, kubeconfig key material and
//! password-like assignments are masked before step output reaches a log, an error or chat.

/// Masks secrets in `text`, line by line.
pub fn redact(text: &str) -> String {
    text.lines().map(redact_line).collect::<Vec<_>>().join("\n")
}

fn redact_line(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    for key in [
        "client-key-data",
        "client-certificate-data",
        "certificate-authority-data",
        "token:",
        "password",
        "secret",
    ] {
        if let Some(pos) = lower.find(key) {
            return format!("{}{key} ***", &line[..pos]);
        }
    }
    line.split(' ')
        .map(|w| {
            if is_bootstrap_token(w) {
                "***".to_string()
            } else if w.len() >= 64 && w.bytes().all(|b| b.is_ascii_hexdigit()) {
                // `--certificate-key` values: 64 hex characters.
                "***".to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[a-z0-9]{6}.[a-z0-9]{16}`, the shape of a kubeadm bootstrap token.
pub fn is_bootstrap_token(w: &str) -> bool {
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    matches!(w.split_once('.'), Some((a, b)) if ok(a, 6) && ok(b, 16))
}

/// The last `n` lines of `text`, redacted.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    // Redacted whole first, so that a cut can never split a secret from the words that mark it.
    let redacted = redact(&lines[start..].join("\n"));
    if redacted.len() <= TAIL_BYTES {
        return redacted;
    }
    // A host decides what it prints: lines of any length are cut to the last TAIL_BYTES.
    let mut cut = redacted.len() - TAIL_BYTES;
    while !redacted.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", &redacted[cut..])
}

/// The most bytes of a failure's output [`tail`] keeps, whatever its lines' lengths.
pub const TAIL_BYTES: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_is_bounded_in_bytes_whatever_the_lines() {
        let long = format!("{}é\n", "x".repeat(100_000)).repeat(20);
        let out = tail(&long, 20);
        assert!(out.len() <= TAIL_BYTES + '…'.len_utf8(), "{}", out.len());
        assert!(out.starts_with('…') && out.ends_with("xé"), "{out:.40}");
        let short = "line 1\nline 2";
        assert_eq!(tail(short, 20), short);
        // The secret is masked before the cut, wherever the cut falls.
        let secret = format!(
            "{}\nkubeadm join --token abcdef.0123456789abcdef",
            "y".repeat(5000)
        );
        assert!(!tail(&secret, 20).contains("0123456789abcdef"));
    }

    #[test]
    fn masks_tokens_keys_and_kubeconfig_material() {
        let text = "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef \\\n\
                    \t--discovery-token-ca-cert-hash sha256:aaaa\n\
                    --certificate-key 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
                    client-key-data: LS0tLS1CRUdJTi\n    token: abc\nDB_PASSWORD=hunter2";
        let out = redact(text);
        assert!(!out.contains("abcdef.0123456789abcdef"), "{out}");
        assert!(!out.contains("LS0tLS1CRUdJTi"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("0123456789abcdef0123456789abcdef"), "{out}");
        assert!(
            out.contains("kubeadm join 10.0.0.1:6443 --token ***"),
            "{out}"
        );
        assert!(
            out.contains("sha256:aaaa"),
            "the CA hash is not secret: {out}"
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let text = (1..=30)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let t = tail(&text, 20);
        assert!(t.starts_with("line 11") && t.ends_with("line 30"));
    }
}
