//! One cluster's watch task: keeps the cluster's state from its watches, finds what is wrong
//! after every burst of changes and once a second, and carries out what the [`Tracker`]
//! decides: numbers, stores and tells new incidents, edits changed ones, closes recovered
//! ones. When the watches fail it probes the API server and, once it answers, watches afresh
//! (a new list), so nothing that changed during the outage is missed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::alerts::findings::{self, Finding, Findings, Thresholds};
use crate::alerts::healing::{Healed, Healing, Summaries};
use crate::alerts::incident::Severity;
use crate::alerts::incident::{Incident, Room, Subject};
use crate::alerts::observe::PodSeen;
use crate::alerts::silence::{self, Silence};
use crate::alerts::state::Change;
use crate::alerts::state::ClusterState;
use crate::alerts::tracker::{Action, Gate, Tracker};
use crate::alerts::watch::{self, Seen};
use crate::alerts::{RoomRule, Shared, Told, busy};
use crate::config::SelfHealing;
use crate::kube::nodes::Readiness;
use crate::store::{Job, now_ms};

/// Changes taken in one go before the findings are worked out again.
const BURST: usize = 512;
/// How often findings are worked out without a change (claims pending, recoveries).
const TICK: Duration = Duration::from_secs(1);
/// How often a failing cluster's API server is probed.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Longest error text kept.
const ERROR_MAX: usize = 200;

/// Watches `cluster` (owned by `room`, told as its rule says) until `stop`.
pub async fn run(
    shared: Arc<Shared>,
    cluster: String,
    room: Option<(Room, RoomRule)>,
    stop: CancellationToken,
) {
    let (room, rule) = match room {
        Some((room, rule)) => (Some(room), rule),
        None => (None, RoomRule::default()),
    };
    let mut task = Task {
        tracker: Tracker::restore(
            &cluster,
            shared.stored(&cluster),
            shared.settings.recovered_after_secs.saturating_mul(1000),
        ),
        thresholds: Thresholds::from(&shared.settings),
        state: ClusterState::default(),
        failing: None,
        healing: Healing::default(),
        healed: Vec::new(),
        summaries: Summaries::default(),
        shared,
        cluster,
        room,
        rule,
    };
    let mut stream = task.connect().await;
    let mut tick = tokio::time::interval(TICK);
    let mut probe = tokio::time::interval(PROBE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            seen = next(&mut stream) => {
                let Some(first) = seen else {
                    // The watchers never end on their own; start again after a pause.
                    task.failed("the watches ended".into());
                    tokio::time::sleep(PROBE_EVERY).await;
                    stream = task.connect().await;
                    continue;
                };
                task.apply(first);
                for _ in 0..BURST {
                    match stream.as_mut().and_then(|s| s.next().now_or_never().flatten()) {
                        Some(seen) => task.apply(seen),
                        None => break,
                    }
                }
                task.evaluate().await;
            }
            _ = tick.tick() => task.evaluate().await,
            _ = probe.tick(), if task.failing.is_some() => {
                if task.answers().await {
                    stream = task.connect().await;
                }
            }
        }
    }
}

/// The next item of the watches, or never while there are none (a cluster without a client).
async fn next(stream: &mut Option<BoxStream<'static, Seen>>) -> Option<Seen> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

struct Task {
    shared: Arc<Shared>,
    cluster: String,
    room: Option<Room>,
    /// What the room wants told.
    rule: RoomRule,
    tracker: Tracker,
    thresholds: Thresholds,
    state: ClusterState,
    /// Since when the watches fail (Unix ms) and the last error.
    failing: Option<(u64, String)>,
    /// Deleted pods waiting for their replacement.
    healing: Healing,
    /// Replacements that became Ready, to tell.
    healed: Vec<Healed>,
    /// Per release, the replacements told in one message (`self_healing = "summary"`).
    summaries: Summaries,
}

impl Task {
    /// Fresh watches through a fresh client (a created cluster's client goes to a control
    /// plane that answers); `None` when no client can be made (the failure is recorded).
    async fn connect(&mut self) -> Option<BoxStream<'static, Seen>> {
        match self.shared.kube.client(&self.cluster).await {
            Ok(client) => {
                self.failing = None;
                self.state.expect_lists();
                Some(watch::cluster(&client))
            }
            Err(e) => {
                self.failed(e.to_string());
                None
            }
        }
    }

    /// Whether the API server answers now.
    async fn answers(&self) -> bool {
        let Ok(client) = self.shared.kube.client(&self.cluster).await else {
            return false;
        };
        let timeout = self.shared.kube.request_timeout();
        matches!(
            tokio::time::timeout(timeout, client.apiserver_version()).await,
            Ok(Ok(_))
        )
    }

    fn failed(&mut self, error: String) {
        self.shared.metrics.watch_reconnect(&self.cluster);
        let error: String = error.chars().take(ERROR_MAX).collect();
        match &mut self.failing {
            Some((_, last)) => *last = error,
            None => {
                tracing::warn!(cluster = %self.cluster, %error, "the alert watches fail; retrying");
                self.failing = Some((now_ms(), error));
            }
        }
    }

    fn apply(&mut self, seen: Seen) {
        let now = now_ms();
        match seen {
            Seen::Pod(c) => self.pod(c, now),
            Seen::Deployment(c) => {
                self.state.deployments.apply(c);
            }
            Seen::Claim(c) => self.state.claim(c, now),
            Seen::Node(c) => {
                self.state.nodes.apply(c);
            }
            Seen::Failed(e) => self.failed(e),
        }
    }

    /// A pod change: besides the state, a deletion waits for its replacement and a pod that
    /// became Ready may be one.
    fn pod(&mut self, change: Change<PodSeen>, now: u64) {
        match &change {
            Change::Upsert(key, new) => {
                let old = self.state.pods.get(key).cloned();
                if let Some(healed) = self.healing.changed(old.as_ref(), new, now) {
                    self.healed.push(healed);
                }
            }
            Change::Delete(key) => {
                if let Some(old) = self.state.pods.get(key) {
                    let node = self.state.nodes.get(&format!("/{}", old.node));
                    let node_gone = node.is_none_or(|n| n.readiness != Readiness::Ready);
                    self.healing.deleted(old, node_gone, now);
                }
            }
            _ => {}
        }
        self.state.pod(change, now);
    }

    /// Tells the replacements that became Ready, as `[alerts] self_healing` says; none for a
    /// release a job is changing (its progress speaks) or that a silence keeps quiet.
    async fn tell_healed(&mut self, jobs: &[Job], silences: &[Silence], now: u64) {
        self.healing.expire(now);
        let healed = std::mem::take(&mut self.healed);
        let Some(room) = self.room.clone() else {
            return;
        };
        for h in healed {
            let silenced = silences
                .iter()
                .any(|q| q.covers(&self.cluster, &h.subject, now));
            let held = self.rule.holds(Severity::Warning, now);
            if silenced || held || busy(jobs, &self.cluster, &h.subject) {
                continue;
            }
            match self.shared.settings.self_healing {
                SelfHealing::Off => {}
                SelfHealing::Every => {
                    self.shared.say(&room, &h.line(&self.cluster)).await;
                }
                SelfHealing::Summary => {
                    let summary = self.summaries.add(&h, now);
                    let text = summary.text(&h.subject, &self.cluster, now);
                    match &summary.message {
                        Some(m) => self.shared.replace(m, &text).await,
                        None => summary.message = self.shared.say(&room, &text).await,
                    }
                }
            }
        }
    }

    /// Works out what is wrong and carries out what the tracker decides.
    async fn evaluate(&mut self) {
        let now = now_ms();
        let synced = self.state.synced();
        let mut found: BTreeMap<Subject, Findings> = if synced {
            findings::find(&self.state, now, &self.thresholds)
        } else {
            BTreeMap::new()
        };
        let unreachable_ms = self.shared.settings.unreachable_secs.saturating_mul(1000);
        if let Some((since, error)) = &self.failing
            && now.saturating_sub(*since) >= unreachable_ms
        {
            found.insert(
                Subject::Cluster,
                Findings {
                    at_ms: now,
                    items: vec![Finding::Unreachable {
                        since_ms: *since,
                        error: error.clone(),
                    }],
                    ..Findings::default()
                },
            );
        }
        let jobs: Vec<Job> = self.shared.store.active().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the active jobs; alerts treat none as running");
            Vec::new()
        });
        let silences = silence::in_force(&*self.shared.store, now).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the silences; none are in force");
            Vec::new()
        });
        let actions = {
            let cluster = self.cluster.clone();
            let is_busy = |s: &Subject| busy(&jobs, &cluster, s);
            let rule = self.rule;
            let is_silenced = |s: &Subject| {
                rule.holds(Severity::of(s), now)
                    || silences.iter().any(|q| q.covers(&cluster, s, now))
            };
            let gate = Gate {
                trusted: synced && self.failing.is_none(),
                busy: &is_busy,
                silenced: &is_silenced,
                room: self.room.clone(),
            };
            self.tracker.step(now, &found, &gate)
        };
        for action in actions {
            self.carry(action, now).await;
        }
        self.tell_healed(&jobs, &silences, now).await;
        let unsent: Vec<Subject> = self
            .tracker
            .open()
            .filter(|i| i.message.is_none() && !i.folded)
            .map(|i| i.subject.clone())
            .collect();
        for subject in unsent {
            self.tell(&subject).await;
        }
    }

    async fn carry(&mut self, action: Action, now: u64) {
        match action {
            Action::Open(mut incident) => {
                match self.shared.number() {
                    Ok(n) => incident.number = n,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot number an incident; it is told later");
                        return;
                    }
                }
                let subject = incident.subject.clone();
                let severity = crate::metrics::label(&incident.severity, None);
                self.shared.metrics.alert_opened(&severity);
                self.shared.keep(&incident);
                self.tracker.insert(incident);
                self.tell(&subject).await;
            }
            Action::Edit(subject) => {
                let Some(incident) = self.tracker.get(&subject) else {
                    return;
                };
                self.shared.keep(incident);
                if incident.message.is_some() {
                    self.shared.edit(incident, &incident.open_text()).await;
                }
            }
            Action::Close(incident) => {
                if incident.message.is_some() {
                    self.shared
                        .edit(&incident, &incident.closed_text(now))
                        .await;
                }
                self.shared.forget(&incident);
            }
        }
    }

    /// Sends an open incident's message (first time, or after a failed send).
    async fn tell(&mut self, subject: &Subject) {
        let Some(incident) = self.tracker.get(subject) else {
            return;
        };
        let told = self.shared.send(incident).await;
        let Some(incident) = self.tracker.get_mut(subject) else {
            return;
        };
        match told {
            Told::Sent(message) => incident.message = Some(message),
            Told::Folded => incident.folded = true,
            Told::NotYet => return,
        }
        self.shared.keep(incident);
    }
}

/// The incidents of `cluster` as the store keeps them.
pub(super) fn decode(cluster: &str, stored: Vec<(String, String)>) -> Vec<Incident> {
    stored
        .into_iter()
        .filter_map(|(key, json)| match serde_json::from_str::<Incident>(&json) {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(%cluster, incident = %key, error = %e, "an open incident in the store is unreadable; it is dropped");
                None
            }
        })
        .collect()
}
