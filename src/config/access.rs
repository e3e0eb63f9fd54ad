//! `[access]`: the kubeconfigs `/kubeconfig` issues to lab users.

use serde::Deserialize;

/// `[access]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AccessSettings {
    /// A kubeconfig's lifetime when `ttl=` is not given, s (600 to `max_ttl_secs`).
    pub default_ttl_secs: u64,
    /// The longest lifetime `ttl=` may ask for, s (600 to 30 days).
    pub max_ttl_secs: u64,
    /// How often expired access is removed from the clusters, s (10-86400): the binding of a
    /// grant whose token expired, and the user's account with its last one.
    pub sweep_secs: u64,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            default_ttl_secs: 8 * 3600,
            max_ttl_secs: 7 * 86_400,
            sweep_secs: 300,
        }
    }
}

impl AccessSettings {
    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: String, m: String| out.push((k, m));
        let (lo, hi) = crate::command::KUBECONFIG_TTL_SECS;
        super::checks::range(&mut bad, "access.max_ttl_secs", self.max_ttl_secs, lo, hi);
        let top = self.max_ttl_secs.clamp(lo, hi);
        super::checks::range(
            &mut bad,
            "access.default_ttl_secs",
            self.default_ttl_secs,
            lo,
            top,
        );
        out
    }
}
