//! `[intake]`: what the bot takes from chat before any command runs: rate limits per user and
//! per room, the cap on a room's unfinished jobs, the oldest command it still runs, and how
//! often a stranger's private chat gets the onboarding answer.

use serde::Deserialize;

/// `[intake]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Intake {
    /// Commands one user may send at once before the per-minute rate applies (1-1000).
    pub user_burst: u32,
    /// Commands one user may send per minute, sustained (1-6000).
    pub user_per_minute: u32,
    /// Commands one room may send at once before the per-minute rate applies (1-1000).
    /// `/cancel` is never held back by the room's limit.
    pub room_burst: u32,
    /// Commands one room may send per minute, sustained (1-6000).
    pub room_per_minute: u32,
    /// Jobs one room may have queued or running (1-1000); more are refused.
    pub room_jobs: u32,
    /// A command older than this when the bot receives it (after downtime) is answered
    /// "not run" instead of run, s (10-604800).
    pub max_age_secs: u64,
    /// Fewest seconds between two onboarding answers to one stranger (60-604800).
    pub onboard_every_secs: u64,
}

impl Default for Intake {
    fn default() -> Self {
        Intake {
            user_burst: 10,
            user_per_minute: 20,
            room_burst: 20,
            room_per_minute: 40,
            room_jobs: 5,
            max_age_secs: 600,
            onboard_every_secs: 3600,
        }
    }
}

impl Intake {
    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: String, m: String| out.push((k, m));
        let checks: [(&str, u64, u64, u64); 7] = [
            ("user_burst", self.user_burst.into(), 1, 1000),
            ("user_per_minute", self.user_per_minute.into(), 1, 6000),
            ("room_burst", self.room_burst.into(), 1, 1000),
            ("room_per_minute", self.room_per_minute.into(), 1, 6000),
            ("room_jobs", self.room_jobs.into(), 1, 1000),
            ("max_age_secs", self.max_age_secs, 10, 604_800),
            ("onboard_every_secs", self.onboard_every_secs, 60, 604_800),
        ];
        for (key, v, lo, hi) in checks {
            super::checks::range(&mut bad, &format!("intake.{key}"), v, lo, hi);
        }
        out
    }
}
