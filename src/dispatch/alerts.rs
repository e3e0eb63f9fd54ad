//! `/alerts`, `/silence`, `/silence list` and `/unsilence`: what is open now and what is kept
//! quiet, on the clusters the room may see (an admin: every cluster).

use crate::alerts::incident::{Room, Subject, span};
use crate::alerts::silence::{self, Silence};
use crate::alerts::{self as alerting};
use crate::auth::RoomRef;
use crate::chat::Incoming;
use crate::command::{Command, Name, SilenceTarget};
use crate::store::{AuditOutcome, StoreError, now_ms};

use super::Dispatcher;

impl Dispatcher {
    /// The clusters an answer covers: `cluster=` (authorisation checked the room may see it),
    /// else the room's clusters (an admin's: every cluster).
    fn covered(
        &self,
        room: &RoomRef,
        admin: bool,
        given: Option<&Name>,
    ) -> Result<Vec<String>, StoreError> {
        if let Some(name) = given {
            return Ok(vec![name.to_string()]);
        }
        Ok(self
            .known(room, admin)?
            .into_iter()
            .filter(|k| k.detail)
            .map(|k| k.name)
            .collect())
    }

    /// `/alerts [cluster=]`.
    pub(super) fn alerts(
        &self,
        room: &RoomRef,
        admin: bool,
        given: Option<&Name>,
    ) -> Result<String, StoreError> {
        let clusters = self.covered(room, admin, given)?;
        if clusters.is_empty() {
            return Ok("no clusters to watch yet; /cluster list shows them".into());
        }
        let now = now_ms();
        let mut lines = Vec::new();
        for c in &clusters {
            for i in alerting::open_incidents(&*self.store, c)? {
                lines.push(format!(
                    "{} (open for {})",
                    i.open_text(),
                    span(now.saturating_sub(i.opened_ms))
                ));
            }
        }
        let quiet = silence::in_force(&*self.store, now)?
            .into_iter()
            .filter(|s| clusters.contains(&s.cluster))
            .count();
        let quiet = match quiet {
            0 => String::new(),
            1 => "\n1 silence in force: /silence list shows it".into(),
            n => format!("\n{n} silences in force: /silence list shows them"),
        };
        Ok(if lines.is_empty() {
            format!("no open incidents on {}{quiet}", clusters.join(", "))
        } else {
            format!(
                "{} open incident(s):\n{}{quiet}",
                lines.len(),
                lines.join("\n")
            )
        })
    }

    /// `/silence list [cluster=]`.
    pub(super) fn silences(
        &self,
        room: &RoomRef,
        admin: bool,
        given: Option<&Name>,
    ) -> Result<String, StoreError> {
        let clusters = self.covered(room, admin, given)?;
        let now = now_ms();
        let lines: Vec<String> = silence::in_force(&*self.store, now)?
            .into_iter()
            .filter(|s| clusters.contains(&s.cluster))
            .map(|s| s.line(now))
            .collect();
        Ok(if lines.is_empty() {
            "no silences in force; /silence GE|node/NAME|cluster DURATION sets one".into()
        } else {
            lines.join("\n")
        })
    }

    /// `/silence TARGET DURATION [REASON...]`.
    pub(super) fn silence(&self, msg: &Incoming, room: &RoomRef, command: &Command) -> String {
        let Command::Silence {
            target,
            secs,
            reason,
            scope,
        } = command
        else {
            return super::INTERNAL.into();
        };
        let ge = match target {
            SilenceTarget::Ge(ge) => Some(ge.as_str()),
            _ => None,
        };
        let place = match self.place(room, ge, scope, false) {
            Ok(p) => p,
            Err(why) => return self.reject(msg, command, why),
        };
        let subject = match target {
            SilenceTarget::Ge(ge) => Subject::Release {
                namespace: place.namespace.clone(),
                release: ge.to_string(),
            },
            SilenceTarget::Node(name) => Subject::Node { name: name.clone() },
            SilenceTarget::Cluster => Subject::Cluster,
        };
        let now = now_ms();
        let wanted = Silence {
            number: 0,
            cluster: place.cluster,
            subject,
            until_ms: now.saturating_add(secs.saturating_mul(1000)),
            reason: reason.join(" "),
            by: msg.sender.clone(),
            room: Room {
                platform: msg.platform.clone(),
                room: msg.room.clone(),
            },
        };
        match silence::set(&*self.store, wanted) {
            Ok(s) => {
                self.audit(msg, command.redacted(), AuditOutcome::Done);
                format!("{}; /unsilence {} ends it sooner", s.line(now), s.number)
            }
            Err(e) => self.internal_text(e),
        }
    }

    /// `/unsilence ID`.
    pub(super) fn unsilence(&self, msg: &Incoming, command: &Command, id: u64) -> String {
        let now = now_ms();
        let found = match silence::in_force(&*self.store, now) {
            Ok(all) => all.into_iter().find(|s| s.number == id),
            Err(e) => return self.internal_text(e),
        };
        let Some(s) = found else {
            let why = format!("there is no silence #{id} in force; /silence list shows them");
            return self.reject(msg, command, why);
        };
        match silence::end(&*self.store, id) {
            Ok(_) => {
                self.audit(msg, command.redacted(), AuditOutcome::Done);
                format!(
                    "silence #{id} ended: incidents of {} are told again",
                    s.target()
                )
            }
            Err(e) => self.internal_text(e),
        }
    }

    /// The cluster of silence `id` in force, for authorisation.
    pub(super) fn silence_cluster(&self, id: u64) -> Result<Option<String>, StoreError> {
        Ok(silence::in_force(&*self.store, now_ms())?
            .into_iter()
            .find(|s| s.number == id)
            .map(|s| s.cluster))
    }
}
