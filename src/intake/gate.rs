//! The decision on each message before it reaches a room's lane: strangers and rooms not in the
//! config get nothing (a stranger's private chat: one onboarding answer now and then), then the
//! per-user and per-room rate limits, then the age check. The console is always trusted.

use std::time::{Duration, Instant};

use super::bucket::{Buckets, Rate, Take};
use super::onboard::{self, Onboarding};
use crate::auth::{Policy, Principal, RoomRef};
use crate::chat::{CONSOLE, Incoming};
use crate::command::{self, Command};

/// What becomes of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No answer, no effect (not a command, a stranger, over a limit already answered).
    Ignore,
    /// The onboarding answer, in the stranger's private chat.
    Onboard(String),
    /// Not run; this answer instead (over a limit, too old).
    Say(String),
    /// Handled by the dispatcher in the room's lane.
    Run,
}

/// The state the decision keeps: buckets and who was onboarded when.
pub struct Gate {
    policy: Policy,
    users: Buckets<Principal>,
    rooms: Buckets<RoomRef>,
    onboarding: Onboarding,
    onboard_every: Duration,
    max_age: Duration,
}

impl Gate {
    /// A gate over `policy` with the `[intake]` limits.
    pub fn new(policy: Policy, limits: &crate::config::Intake) -> Gate {
        let onboard_every = Duration::from_secs(limits.onboard_every_secs);
        Gate {
            policy,
            users: Buckets::new(Rate {
                burst: limits.user_burst,
                per_minute: limits.user_per_minute,
            }),
            rooms: Buckets::new(Rate {
                burst: limits.room_burst,
                per_minute: limits.room_per_minute,
            }),
            onboarding: Onboarding::new(onboard_every),
            onboard_every,
            max_age: Duration::from_secs(limits.max_age_secs),
        }
    }

    /// The verdict on `msg`, received at `now` (monotonic, for the limits) and `now_ms` (wall
    /// clock, for the message's age).
    pub fn judge(&mut self, msg: &Incoming, now: Instant, now_ms: u64) -> Verdict {
        let parsed = match command::parse(&msg.text, msg.bot_username.as_deref()) {
            Ok(None) => return Verdict::Ignore,
            Ok(Some(c)) => Some(c),
            // A usage answer, for those who get answers at all.
            Err(_) => None,
        };
        if msg.platform == CONSOLE {
            return Verdict::Run;
        }
        let (who, room) = (msg.principal(), msg.room_ref());
        let known = self.policy.role(&who).is_some();
        let allowed = self.policy.room(&room).is_some();
        if !known || !allowed {
            if msg.private && self.onboarding.due(&who, now) {
                let every = self.onboard_every;
                return Verdict::Onboard(onboard::text(&who, &room, known, allowed, every));
            }
            tracing::debug!(platform = %msg.platform, "ignored a message from a stranger or a room not in the config");
            return Verdict::Ignore;
        }
        if let Some(v) = limited("you", self.users.rate(), self.users.take(&who, now)) {
            return v;
        }
        // `/cancel` is never held back by the others in its room.
        if !matches!(parsed, Some(Command::Cancel { .. }))
            && let Some(v) = limited("this room", self.rooms.rate(), self.rooms.take(&room, now))
        {
            return v;
        }
        if let Some(sent) = msg.sent_at_ms {
            let age = Duration::from_millis(now_ms.saturating_sub(sent));
            if age > self.max_age {
                return Verdict::Say(stale(age));
            }
        }
        Verdict::Run
    }
}

/// The verdict of a rate limit that refused: one answer per window, then silence.
fn limited(whose: &str, rate: Rate, take: Take) -> Option<Verdict> {
    let Take::Limited { retry, warn } = take else {
        return None;
    };
    if !warn {
        return Some(Verdict::Ignore);
    }
    let secs = retry.as_secs().max(1);
    Some(Verdict::Say(format!(
        "slow down: not run. The limit for {whose} is {} commands at once, then {} a minute; \
         send it again in {secs} s (commands over the limit in the next minute get no answer)",
        rate.burst, rate.per_minute
    )))
}

/// The answer to a command sent too long ago.
fn stale(age: Duration) -> String {
    let secs = age.as_secs();
    let ago = if secs < 120 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", secs / 60)
    };
    format!("not run: sent {ago} ago, send it again")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, RoomSettings};

    const NOW_MS: u64 = 1_000_000_000;

    fn gate(limits: crate::config::Intake) -> Gate {
        let mut policy = Policy::new();
        policy.allow_user(
            Principal {
                platform: "telegram".into(),
                user: "1".into(),
            },
            Role::Operator,
        );
        policy.allow_room(
            RoomRef {
                platform: "telegram".into(),
                room: "-5".into(),
            },
            RoomSettings {
                namespace: "default".into(),
                ..Default::default()
            },
        );
        Gate::new(policy, &limits)
    }

    fn msg(sender: &str, room: &str, text: &str, private: bool) -> Incoming {
        Incoming {
            platform: "telegram".into(),
            room: room.into(),
            sender: sender.into(),
            text: text.into(),
            sent_at_ms: Some(NOW_MS),
            private,
            ..Default::default()
        }
    }

    #[test]
    fn strangers_and_other_rooms_get_nothing_but_one_private_onboarding() {
        let mut g = gate(Default::default());
        let t = Instant::now();
        assert_eq!(
            g.judge(&msg("9", "-5", "/help", false), t, NOW_MS),
            Verdict::Ignore
        );
        assert_eq!(
            g.judge(&msg("9", "-5", "/nonsense", false), t, NOW_MS),
            Verdict::Ignore
        );
        assert_eq!(
            g.judge(&msg("1", "-7", "/help", false), t, NOW_MS),
            Verdict::Ignore
        );
        let Verdict::Onboard(text) = g.judge(&msg("9", "9", "/start", true), t, NOW_MS) else {
            panic!("a stranger's private chat gets the onboarding answer");
        };
        assert!(text.contains("user id is 9"), "{text}");
        assert_eq!(
            g.judge(&msg("9", "9", "/help", true), t, NOW_MS),
            Verdict::Ignore
        );
        assert_eq!(
            g.judge(&msg("9", "9", "hello", true), t, NOW_MS),
            Verdict::Ignore
        );
    }

    #[test]
    fn a_user_over_the_limit_is_told_once() {
        let mut g = gate(crate::config::Intake {
            user_burst: 2,
            user_per_minute: 1,
            ..Default::default()
        });
        let t = Instant::now();
        let m = msg("1", "-5", "/jobs", false);
        assert_eq!(g.judge(&m, t, NOW_MS), Verdict::Run);
        assert_eq!(g.judge(&m, t, NOW_MS), Verdict::Run);
        let Verdict::Say(text) = g.judge(&m, t, NOW_MS) else {
            panic!("the third is over the user's burst");
        };
        assert!(
            text.starts_with("slow down") && text.contains("for you is 2"),
            "{text}"
        );
        assert_eq!(g.judge(&m, t, NOW_MS), Verdict::Ignore);
        let later = t + Duration::from_secs(60);
        assert_eq!(g.judge(&m, later, NOW_MS), Verdict::Run);
    }

    #[test]
    fn cancel_passes_a_room_over_its_limit() {
        let mut g = gate(crate::config::Intake {
            room_burst: 1,
            room_per_minute: 1,
            ..Default::default()
        });
        let t = Instant::now();
        let m = msg("1", "-5", "/jobs", false);
        assert_eq!(g.judge(&m, t, NOW_MS), Verdict::Run);
        let Verdict::Say(text) = g.judge(&m, t, NOW_MS) else {
            panic!("the second is over the room's burst");
        };
        assert!(text.contains("for this room is 1"), "{text}");
        assert_eq!(g.judge(&m, t, NOW_MS), Verdict::Ignore);
        let cancel = msg("1", "-5", "/cancel 4", false);
        assert_eq!(g.judge(&cancel, t, NOW_MS), Verdict::Run);
    }

    #[test]
    fn old_commands_are_not_run() {
        let mut g = gate(Default::default());
        let mut m = msg("1", "-5", "/jobs", false);
        m.sent_at_ms = Some(NOW_MS - 11 * 60_000);
        assert_eq!(
            g.judge(&m, Instant::now(), NOW_MS),
            Verdict::Say("not run: sent 11 minutes ago, send it again".into())
        );
        m.sent_at_ms = Some(NOW_MS - 9 * 60_000);
        assert_eq!(g.judge(&m, Instant::now(), NOW_MS), Verdict::Run);
    }
}
