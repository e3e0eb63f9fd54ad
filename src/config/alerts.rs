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
    /// Alert messages one room gets per minute at most (1-1000); past it, new incidents are
    /// folded into one message per room and minute, edited as more come.
    pub room_per_minute: u32,
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
            room_per_minute: 10,
            self_healing: SelfHealing::Every,
        }
    }
}

impl Alerts {
    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: String, m: String| out.push((k, m));
        let checks: [(&str, u64, u64, u64); 7] = [
            ("room_per_minute", self.room_per_minute.into(), 1, 1000),
            ("restart_threshold", self.restart_threshold.into(), 1, 1000),
            ("restart_window_secs", self.restart_window_secs, 60, 86_400),
            ("recovered_after_secs", self.recovered_after_secs, 1, 3600),
            ("claim_pending_secs", self.claim_pending_secs, 10, 86_400),
            ("unreachable_secs", self.unreachable_secs, 5, 3600),
            ("rescan_secs", self.rescan_secs, 1, 3600),
        ];
        for (key, v, lo, hi) in checks {
            super::checks::range(&mut bad, &format!("alerts.{key}"), v, lo, hi);
        }
        out
    }
}

/// How bad an incident is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A release degraded.
    #[default]
    Warning,
    /// A node or the whole cluster.
    Critical,
}

/// `[[rooms]] quiet_hours`: `22:00-07:00`, in UTC; may wrap midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    /// Minutes after midnight UTC when they start.
    pub from_min: u32,
    /// Minutes after midnight UTC when they end.
    pub to_min: u32,
}

/// The accepted form of [`QuietHours`].
pub const QUIET_HOURS_FORM: &str = "HH:MM-HH:MM in UTC, such as 22:00-07:00";

impl QuietHours {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let bad = || format!("{text:?} is not {QUIET_HOURS_FORM}");
        let minute = |t: &str| -> Option<u32> {
            let (h, m) = t.split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 && t.len() == 5).then_some(h * 60 + m)
        };
        let (from, to) = text.split_once('-').ok_or_else(bad)?;
        let (from_min, to_min) = (minute(from).ok_or_else(bad)?, minute(to).ok_or_else(bad)?);
        if from_min == to_min {
            return Err(format!(
                "{text:?} is empty: the start and the end are the same time"
            ));
        }
        Ok(QuietHours { from_min, to_min })
    }

    /// Whether `now_ms` (Unix ms) falls inside them.
    pub fn holds(&self, now_ms: u64) -> bool {
        let m = u32::try_from((now_ms / 60_000) % (24 * 60)).unwrap_or(0);
        if self.from_min < self.to_min {
            (self.from_min..self.to_min).contains(&m)
        } else {
            m >= self.from_min || m < self.to_min
        }
    }
}
