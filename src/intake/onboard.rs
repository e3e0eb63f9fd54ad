//! The one answer a stranger gets: in a private chat, at most once per interval, their own id
//! exactly as `[[users]]` needs it and what to ask a labkube admin for. Everywhere else, and
//! in between, strangers get nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::auth::{Principal, RoomRef};

/// Most people remembered. Past it, those whose interval is over are forgotten; if that frees
/// nothing, a new person gets no answer (nothing is the safe answer under a flood of new ids).
const MAX_PEOPLE: usize = 10_000;

/// When each stranger was last answered.
pub struct Onboarding {
    every: Duration,
    answered: HashMap<Principal, Instant>,
}

impl Onboarding {
    /// At most one answer per person per `every`.
    pub fn new(every: Duration) -> Self {
        Onboarding {
            every,
            answered: HashMap::new(),
        }
    }

    /// Whether `who` gets the answer now (and, if so, it counts as given).
    pub fn due(&mut self, who: &Principal, now: Instant) -> bool {
        let every = self.every;
        let over = |at: &Instant| now.saturating_duration_since(*at) >= every;
        if let Some(at) = self.answered.get(who)
            && !over(at)
        {
            return false;
        }
        if !self.answered.contains_key(who) && self.answered.len() >= MAX_PEOPLE {
            self.answered.retain(|_, at| !over(at));
            if self.answered.len() >= MAX_PEOPLE {
                return false;
            }
        }
        self.answered.insert(who.clone(), now);
        true
    }
}

/// The answer: who they are to labkube, and which config entries an admin adds. `known`: the
/// person is in `[[users]]` already (only the chat is missing); `room_allowed`: the chat is in
/// `[[rooms]]`; `every`: the interval between two answers.
pub fn text(
    who: &Principal,
    room: &RoomRef,
    known: bool,
    room_allowed: bool,
    every: Duration,
) -> String {
    let mut out = format!(
        "labkube does not take commands from you here yet. Your {} user id is {}",
        who.platform, who.user
    );
    out.push_str(".\nTo get access, ask a labkube admin to add to its config:");
    if !known {
        out.push_str(&format!(
            "\n[[users]]\nplatform = \"{}\"\nid = \"{}\"\nrole = \"viewer\"   # or operator, admin",
            who.platform, who.user
        ));
    }
    if !room_allowed {
        out.push_str(&format!(
            "\n[[rooms]]\nplatform = \"{}\"\nid = \"{}\"   # this chat; or use labkube in a lab room",
            room.platform, room.room
        ));
    }
    out.push_str(&format!(
        "\n(This answer comes at most once every {} minutes; other messages get none.)",
        every.as_secs().div_ceil(60)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(user: &str) -> Principal {
        Principal {
            platform: "telegram".into(),
            user: user.into(),
        }
    }

    #[test]
    fn once_per_interval_per_person() {
        let mut o = Onboarding::new(Duration::from_secs(3600));
        let t0 = Instant::now();
        assert!(o.due(&who("1"), t0));
        assert!(!o.due(&who("1"), t0 + Duration::from_secs(10)));
        assert!(o.due(&who("2"), t0));
        assert!(o.due(&who("1"), t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn a_full_memory_answers_nobody_new() {
        let mut o = Onboarding::new(Duration::from_secs(3600));
        let t0 = Instant::now();
        for i in 0..MAX_PEOPLE {
            assert!(o.due(&who(&i.to_string()), t0));
        }
        assert!(!o.due(&who("new"), t0 + Duration::from_secs(1)));
        assert!(o.due(&who("new"), t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn the_answer_names_the_id_and_the_config_keys() {
        let room = RoomRef {
            platform: "telegram".into(),
            room: "2002".into(),
        };
        let t = text(&who("2002"), &room, false, false, Duration::from_secs(3600));
        assert!(t.contains("user id is 2002"), "{t}");
        assert!(
            t.contains("[[users]]") && t.contains("id = \"2002\""),
            "{t}"
        );
        assert!(t.contains("[[rooms]]"), "{t}");
        let t = text(&who("2002"), &room, true, false, Duration::from_secs(3600));
        assert!(!t.contains("[[users]]"), "{t}");
    }
}
