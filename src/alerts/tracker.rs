//! The life of incidents, decided without any I/O: from what is wrong now to which incidents
//! open, change or close. The cluster's watch task carries the decisions out (numbers, chat,
//! store).

use std::collections::BTreeMap;

use crate::alerts::findings::Findings;
use crate::alerts::incident::{Incident, Room, Severity, Subject};

/// What the watch task must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Tell a new incident (number 0 until the task numbers it), then
    /// [`Tracker::insert`] it.
    Open(Incident),
    /// The open incident's summary changed: edit its message.
    Edit(Subject),
    /// The incident recovered and left the tracker: close its message.
    Close(Incident),
}

/// What decides whether incidents may open, change or close now.
pub struct Gate<'a> {
    /// Every watch has listed and the API server answers: otherwise release and node incidents
    /// neither open nor close (what is missing is not known to be gone).
    pub trusted: bool,
    /// A labkube job is changing this subject now: its progress message speaks, so no incident
    /// opens and an open one is not edited.
    pub busy: &'a dyn Fn(&Subject) -> bool,
    /// A silence, the room's least severity or its quiet hours keep this subject quiet: no
    /// incident opens and an open one is not edited (it may still close).
    pub silenced: &'a dyn Fn(&Subject) -> bool,
    /// The cluster's owning room; `None`: nobody to tell, so nothing opens.
    pub room: Option<Room>,
}

/// The open incidents of one cluster.
#[derive(Debug)]
pub struct Tracker {
    cluster: String,
    open: BTreeMap<Subject, Incident>,
    recovered_after_ms: u64,
}

impl Tracker {
    /// A tracker with the incidents of `cluster` kept in the store.
    pub fn restore(cluster: &str, incidents: Vec<Incident>, recovered_after_ms: u64) -> Tracker {
        Tracker {
            cluster: cluster.into(),
            open: incidents
                .into_iter()
                .map(|i| (i.subject.clone(), i))
                .collect(),
            recovered_after_ms,
        }
    }

    /// Adds an incident that was opened.
    pub fn insert(&mut self, incident: Incident) {
        self.open.insert(incident.subject.clone(), incident);
    }

    /// An open incident.
    pub fn get(&self, subject: &Subject) -> Option<&Incident> {
        self.open.get(subject)
    }

    /// An open incident, to record its message.
    pub fn get_mut(&mut self, subject: &Subject) -> Option<&mut Incident> {
        self.open.get_mut(subject)
    }

    /// The open incidents.
    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.open.values()
    }

    /// Decides, at `now_ms`, from what is wrong now.
    pub fn step(
        &mut self,
        now_ms: u64,
        found: &BTreeMap<Subject, Findings>,
        gate: &Gate<'_>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let frozen = |s: &Subject| !gate.trusted && *s != Subject::Cluster;
        for (subject, f) in found {
            if let Some(incident) = self.open.get_mut(subject) {
                incident.quiet_since_ms = None;
                if (gate.busy)(subject) || (gate.silenced)(subject) {
                    continue;
                }
                let before = incident.summary.clone();
                incident.absorb(f, now_ms);
                if incident.summary != before {
                    actions.push(Action::Edit(subject.clone()));
                }
                continue;
            }
            let Some(room) = &gate.room else { continue };
            if frozen(subject) || (gate.busy)(subject) || (gate.silenced)(subject) {
                continue;
            }
            let mut incident = Incident {
                number: 0,
                cluster: self.cluster.clone(),
                subject: subject.clone(),
                severity: Severity::of(subject),
                room: room.clone(),
                opened_ms: now_ms,
                quiet_since_ms: None,
                restart_base: BTreeMap::new(),
                summary: String::new(),
                message: None,
                folded: false,
            };
            incident.absorb(f, now_ms);
            actions.push(Action::Open(incident));
        }
        let quiet: Vec<Subject> = self
            .open
            .keys()
            .filter(|s| !found.contains_key(*s) && !frozen(s))
            .cloned()
            .collect();
        for subject in quiet {
            let Some(incident) = self.open.get_mut(&subject) else {
                continue;
            };
            let since = *incident.quiet_since_ms.get_or_insert(now_ms);
            if now_ms.saturating_sub(since) >= self.recovered_after_ms
                && let Some(done) = self.open.remove(&subject)
            {
                actions.push(Action::Close(done));
            }
        }
        actions
    }
}
