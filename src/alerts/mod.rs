//! Alerts: what goes wrong in the clusters the bot knows, told to their owning rooms as
//! incidents, one message each, edited as it evolves and closed when it recovers.
//!
//! - [`observe`]: the few fields kept of each watched pod, Deployment and claim;
//!   [`state`]: one cluster as its watches last listed it.
//! - [`watch`]: the kube-runtime watches of one cluster.
//! - [`findings`]: the rules: what is wrong, per release, node or cluster.
//! - [`healing`]: pods Kubernetes replaced (deleted, or lost with their node), told with how
//!   long the replacement took to become Ready.
//! - [`incident`]: an incident, its store record and its message; [`tracker`]: when one
//!   opens, changes or closes (no I/O); [`silence`]: what `/silence` keeps quiet.
//! - `task`: one cluster's watch loop; [`Alerts`]: one task per watched cluster, started and
//!   stopped as clusters come and go.

pub mod budget;
pub mod findings;
pub mod healing;
pub mod incident;
pub mod observe;
pub mod silence;
pub mod state;
mod task;
pub mod tracker;
pub mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::alerts::budget::{Budget, Decision};
use crate::alerts::incident::{Incident, Room, Subject};
use crate::chat::Replier;
use crate::config::{Alerts as Settings, Config, ExistingCluster, QuietHours, Severity};
use crate::kube::KubeLayer;
use crate::metrics::Metrics;
use crate::progress::MessageRef;
use crate::store::{ClusterJob, GeJob, Job, JobKind, JobStore, StoreError};

/// What every cluster task shares.
pub(crate) struct Shared {
    store: Arc<dyn JobStore>,
    chat: Arc<dyn Replier>,
    kube: KubeLayer,
    /// Incidents opened and watch failures are counted here.
    metrics: Metrics,
    settings: Settings,
    /// Incident numbers are handed out one at a time.
    numbering: Mutex<()>,
    /// The cap on alert messages per room per minute; held while a message is sent, so one
    /// room's folded message is sent once.
    budget: tokio::sync::Mutex<Budget>,
}

/// What became of a new incident's message.
pub(crate) enum Told {
    /// Sent on its own.
    Sent(MessageRef),
    /// Folded into the room's message of the minute (past the cap).
    Folded,
    /// Not sent (the chat failed; tried again).
    NotYet,
}

impl Shared {
    /// The open incidents of `cluster` in the store.
    fn stored(&self, cluster: &str) -> Vec<Incident> {
        match self.store.incidents_on(cluster) {
            Ok(stored) => task::decode(cluster, stored),
            Err(e) => {
                tracing::warn!(%cluster, error = %e, "cannot read the open incidents");
                Vec::new()
            }
        }
    }

    fn number(&self) -> Result<u64, StoreError> {
        let _one = self.numbering.lock().unwrap_or_else(|p| p.into_inner());
        self.store.next_incident_number()
    }

    /// Stores an open incident (so a restart neither repeats nor loses it).
    fn keep(&self, incident: &Incident) {
        let kept = serde_json::to_string(incident)
            .map_err(|e| e.to_string())
            .and_then(|json| {
                self.store
                    .put_incident(&incident.cluster, &incident.subject.key(), &json)
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = kept {
            tracing::warn!(incident = incident.number, %error, "cannot store an incident");
        }
    }

    /// Drops a closed incident from the store.
    fn forget(&self, incident: &Incident) {
        if let Err(e) = self
            .store
            .remove_incident(&incident.cluster, &incident.subject.key())
        {
            tracing::warn!(incident = incident.number, error = %e, "cannot drop a closed incident");
        }
    }

    /// Tells the room about a new incident: on its own, or past the room's cap folded into
    /// the room's message of the minute.
    async fn send(&self, incident: &Incident) -> Told {
        let Room { platform, room } = &incident.room;
        let text = incident.open_text();
        let mut budget = self.budget.lock().await;
        let fail = |e: crate::chat::ChatError| {
            tracing::warn!(incident = incident.number, %platform, error = %e, "cannot tell an incident; trying again");
            Told::NotYet
        };
        match budget.decide(&incident.room, &text, crate::store::now_ms()) {
            Decision::Send => match self.chat.send_alert(platform, room, &text).await {
                Ok(m) => Told::Sent(m),
                Err(e) => fail(e),
            },
            Decision::Fold {
                text,
                message: Some(m),
            } => match self.chat.edit(&m, &text).await {
                Ok(()) => Told::Folded,
                Err(e) => fail(e),
            },
            Decision::Fold {
                text,
                message: None,
            } => match self.chat.send_alert(platform, room, &text).await {
                Ok(m) => {
                    budget.folded_into(&incident.room, m);
                    Told::Folded
                }
                Err(e) => fail(e),
            },
        }
    }

    /// Sends a quiet line to `room`; its message, or `None` when the chat failed (logged).
    async fn say(&self, room: &Room, text: &str) -> Option<MessageRef> {
        match self.chat.send(&room.platform, &room.room, text).await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(platform = %room.platform, error = %e, "cannot send a self-healing line");
                None
            }
        }
    }

    /// Replaces the text of a message sent by [`Shared::say`].
    async fn replace(&self, message: &MessageRef, text: &str) {
        if let Err(e) = self.chat.edit(message, text).await {
            tracing::warn!(error = %e, "cannot edit a self-healing summary");
        }
    }

    async fn edit(&self, incident: &Incident, text: &str) {
        if let Some(m) = &incident.message
            && let Err(e) = self.chat.edit(m, text).await
        {
            tracing::warn!(incident = incident.number, error = %e, "cannot edit an incident's message");
        }
    }
}

/// The open incidents of `cluster`, oldest first (for `/alerts`).
pub fn open_incidents(store: &dyn JobStore, cluster: &str) -> Result<Vec<Incident>, StoreError> {
    let mut out = task::decode(cluster, store.incidents_on(cluster)?);
    out.sort_by_key(|i| i.number);
    Ok(out)
}

/// Whether a queued or running labkube job is changing `subject` of `cluster`: a GE job
/// changes every release of its namespace (it installs dependencies too), a node or cluster
/// job the nodes and the API server, a delete everything.
pub fn busy(jobs: &[Job], cluster: &str, subject: &Subject) -> bool {
    jobs.iter().any(|job| match (&job.kind, subject) {
        (JobKind::Ge(g), Subject::Release { namespace, .. }) => {
            let t = GeJob::target(g);
            t.cluster == cluster && &t.namespace == namespace
        }
        (JobKind::Cluster(ClusterJob::Delete { cluster: c }), _) => c == cluster,
        (JobKind::Cluster(c), Subject::Node { .. } | Subject::Cluster) => match c {
            ClusterJob::Create(s) => s.name == cluster,
            ClusterJob::AddNodes(s) => s.cluster == cluster,
            ClusterJob::RemoveNode { cluster: c, .. } | ClusterJob::Upgrade { cluster: c, .. } => {
                c == cluster
            }
            ClusterJob::Delete { cluster: c } => c == cluster,
            ClusterJob::Plan(_) => false,
        },
        _ => false,
    })
}

/// What a room wants told: its least severity and its quiet hours (`[[rooms]]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomRule {
    /// Incidents below this are not told.
    pub min: Severity,
    /// During these, warnings wait.
    pub quiet: Option<QuietHours>,
}

impl RoomRule {
    /// The rule of `room` in `config` (the defaults for a room it does not list).
    fn of(config: &Config, room: &Room) -> RoomRule {
        config
            .rooms
            .iter()
            .find(|r| r.platform == room.platform && r.id == room.room)
            .map(|r| RoomRule {
                min: r.alerts_min_severity,
                quiet: r
                    .quiet_hours
                    .as_deref()
                    .and_then(|q| QuietHours::parse(q).ok()),
            })
            .unwrap_or_default()
    }

    /// Whether an incident of `severity` waits (or is not told) at `now_ms`.
    pub fn holds(&self, severity: Severity, now_ms: u64) -> bool {
        severity < self.min
            || (severity == Severity::Warning && self.quiet.is_some_and(|q| q.holds(now_ms)))
    }
}

/// The alert service: one watch task per cluster that has an owning room (declared clusters
/// without an owner go to [`Alerts::tell_unowned_to`]'s room, if any).
pub struct Alerts {
    shared: Arc<Shared>,
    declared: Vec<ExistingCluster>,
    /// Each room's rule, by room.
    config: Arc<Config>,
    /// Where incidents of declared clusters without an owner go; `None`: nowhere (they are
    /// not watched).
    unowned: Option<Room>,
}

impl Alerts {
    /// The service for `config`'s clusters and the ones the bot created, counting into
    /// `metrics`; `None` when `[alerts] enabled = false`.
    pub fn new(
        config: &Config,
        kube: KubeLayer,
        store: Arc<dyn JobStore>,
        chat: Arc<dyn Replier>,
        metrics: Metrics,
    ) -> Option<Alerts> {
        config.alerts.enabled.then(|| Alerts {
            shared: Arc::new(Shared {
                store,
                chat,
                kube,
                metrics,
                settings: config.alerts.clone(),
                numbering: Mutex::new(()),
                budget: tokio::sync::Mutex::new(Budget::new(config.alerts.room_per_minute)),
            }),
            declared: config.clusters.clone(),
            config: Arc::new(config.clone()),
            unowned: None,
        })
    }

    /// Tells incidents of declared clusters without an owner to `room` (the console's, where
    /// its one user administers every cluster).
    pub fn tell_unowned_to(&mut self, platform: &str, room: &str) {
        self.unowned = Some(Room {
            platform: platform.into(),
            room: room.into(),
        });
    }

    /// The clusters to watch now, with their owning rooms: the declared ones with an owner and
    /// the created ones that are ready.
    fn watched(&self) -> Result<BTreeMap<String, Room>, StoreError> {
        let mut out = BTreeMap::new();
        for c in &self.declared {
            let owner = c.owner.as_ref().map(|o| Room {
                platform: o.platform.clone(),
                room: o.room.clone(),
            });
            if let Some(room) = owner.or_else(|| self.unowned.clone()) {
                out.insert(c.name.clone(), room);
            }
        }
        for c in self.shared.store.clusters()? {
            if c.creating.is_none() {
                out.entry(c.name).or_insert(Room {
                    platform: c.owner_platform,
                    room: c.owner_room,
                });
            }
        }
        Ok(out)
    }

    /// Watches until `stop`, reading the list of clusters again every `rescan_secs`.
    pub async fn run(self, stop: CancellationToken) {
        let every = Duration::from_secs(self.shared.settings.rescan_secs);
        let mut running: BTreeMap<String, (Room, CancellationToken)> = BTreeMap::new();
        loop {
            match self.watched() {
                Ok(now) => self.reconcile(&mut running, now, &stop).await,
                Err(e) => tracing::warn!(error = %e, "cannot list the clusters to watch"),
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        for (_, (_, token)) in running {
            token.cancel();
        }
    }

    async fn reconcile(
        &self,
        running: &mut BTreeMap<String, (Room, CancellationToken)>,
        want: BTreeMap<String, Room>,
        stop: &CancellationToken,
    ) {
        running.retain(|name, (room, token)| {
            let keep = want.get(name) == Some(room);
            if !keep {
                token.cancel();
            }
            keep
        });
        for (name, room) in want.iter() {
            if running.contains_key(name) {
                continue;
            }
            let token = stop.child_token();
            tracing::info!(cluster = %name, "watching for alerts");
            let rule = RoomRule::of(&self.config, room);
            tokio::spawn(task::run(
                self.shared.clone(),
                name.clone(),
                Some((room.clone(), rule)),
                token.clone(),
            ));
            running.insert(name.clone(), (room.clone(), token));
        }
        // Incidents of clusters that are gone are closed, not left open forever.
        let with = self
            .shared
            .store
            .clusters_with_incidents()
            .unwrap_or_default();
        for cluster in with.iter().filter(|c| !want.contains_key(*c)) {
            for incident in self.shared.stored(cluster) {
                self.shared.edit(&incident, &incident.gone_text()).await;
                self.shared.forget(&incident);
            }
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_healing;
