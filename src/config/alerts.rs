//! `[alerts]`: watching the clusters the bot knows and telling their owning rooms about
//! incidents (crash loops, OOM kills, image pull failures, unschedulable pods, stuck claims,
//! stalled Deployments, nodes NotReady or under pressure, an API server that stopped
//! answering), one message per incident, edited as it evolves and closed when it recovers.

use serde::Deserialize;

/// `[alerts]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Alerts {
    /// Watch every known cluster and raise incidents in its owning room.
    pub enabled: bool,
    /// Restarts of one pod within `restart_window_secs` that make it an incident even when it
    /// is running between them (1-1000). A container in CrashLoopBackOff is one at once.
    pub restart_threshold: u32,
    /// The window restarts are counted in, s (60-86400).
    pub restart_window_secs: u64,
    /// An incident closes ("recovered after N min") once its problems have been gone this
    /// long, s (1-3600); a pod that restarted less than this long ago still counts as
    /// restarting (a crash-looping container runs for a while between its crashes).
    pub recovered_after_secs: u64,
    /// A volume claim Pending this long is an incident, s (10-86400).
    pub claim_pending_secs: u64,
    /// The API server not answering the watches this long is an incident of the cluster, s
    /// (5-3600).
    pub unreachable_secs: u64,
    /// How often the list of clusters to watch is read again, s (1-3600).
    pub rescan_secs: u64,
    /// When Kubernetes replaces a pod that was deleted or went away with its node: `every`
    /// replacement gets a line in the room, `summary` one message per release edited as they
    /// come (over ten minutes), `off` nothing.
    pub self_healing: SelfHealing,
}

/// `[alerts] self_healing`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SelfHealing {
    /// Nothing is told.
    Off,
    /// One message per release, edited as replacements come.
    Summary,
    /// One line per replacement.
    #[default]
    Every,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            enabled: true,
            restart_threshold: 3,
            restart_window_secs: 600,
            recovered_after_secs: 120,
            claim_pending_secs: 120,
            unreachable_secs: 60,
            rescan_secs: 30,
            self_healing: SelfHealing::Every,
        }
    }
}

impl Alerts {
    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: String, m: String| out.push((k, m));
        let checks: [(&str, u64, u64, u64); 6] = [
            ("restart_threshold", self.restart_threshold.into(), 1, 1000),
            ("restart_window_secs", self.restart_window_secs, 60, 86_400),
            ("recovered_after_secs", self.recovered_after_secs, 1, 3600),
            ("claim_pending_secs", self.claim_pending_secs, 10, 86_400),
            ("unreachable_secs", self.unreachable_secs, 5, 3600),
            ("rescan_secs", self.rescan_secs, 1, 3600),
        ];
        for (key, v, lo, hi) in checks {
            super::load::range(&mut bad, &format!("alerts.{key}"), v, lo, hi);
        }
        out
    }
}
