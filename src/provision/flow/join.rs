//! The join command `kubeadm token create --print-join-command` prints, taken apart and
//! validated so each part goes to the worker as its own environment variable (never as a
//! command line to evaluate, never to a log).

/// A validated join command. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Join {
    /// `host:port` of the API server.
    pub endpoint: String,
    /// The bootstrap token (secret).
    pub token: String,
    /// `sha256:<64 hex>`.
    pub ca_hash: String,
}

impl std::fmt::Debug for Join {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Join")
            .field("endpoint", &self.endpoint)
            .field("token", &"***")
            .finish()
    }
}

impl Join {
    /// The environment `kubeadm_join` takes.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("JOIN_ENDPOINT".into(), self.endpoint.clone()),
            ("JOIN_TOKEN".into(), self.token.clone()),
            ("JOIN_CA_HASH".into(), self.ca_hash.clone()),
        ]
    }

    /// Parses the one-line output; `None` if it is not exactly a join command of the expected
    /// shape (the caller reports that without echoing the output, which holds the token).
    pub fn parse(output: &str) -> Option<Join> {
        let line = output
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("kubeadm join "))?;
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let endpoint = *words.get(2)?;
        let value = |flag: &str| {
            words
                .iter()
                .position(|w| *w == flag)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let token = value("--token")?;
        let ca_hash = value("--discovery-token-ca-cert-hash")?;
        let endpoint_ok = endpoint.rsplit_once(':').is_some_and(|(h, p)| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
                && p.parse::<u16>().is_ok_and(|p| p > 0)
        });
        let hash_ok = ca_hash
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        (endpoint_ok && hash_ok && crate::provision::redact::is_bootstrap_token(token)).then(|| {
            Join {
                endpoint: endpoint.to_string(),
                token: token.to_string(),
                ca_hash: ca_hash.to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn parses_the_real_shape() {
        let out = format!(
            "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {HASH} \n"
        );
        let j = Join::parse(&out).unwrap();
        assert_eq!(j.endpoint, "10.0.0.1:6443");
        assert_eq!(j.token, "abcdef.0123456789abcdef");
        assert_eq!(j.ca_hash, HASH);
        assert!(!format!("{j:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            "kubeadm join 10.0.0.1:6443 --token x --discovery-token-ca-cert-hash sha256:00",
            &format!(
                "kubeadm join $(reboot):6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash {HASH}"
            ),
            &format!(
                "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef;id --discovery-token-ca-cert-hash {HASH}"
            ),
        ] {
            assert!(Join::parse(bad).is_none(), "{bad}");
        }
    }
}
