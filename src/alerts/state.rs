//! One cluster as its watches last listed it: the pods, Deployments and claims of labkube's
//! releases and every node, plus when each pod restarted lately. Each kind is replaced whole
//! when its watch lists again (after a reconnect), so objects deleted during an outage do not
//! linger.

use std::collections::{BTreeMap, VecDeque};

use crate::alerts::observe::{ClaimSeen, DeploymentSeen, PodSeen};
use crate::kube::nodes::NodeView;

/// Restart times kept per pod; more than any threshold needs.
const RESTARTS_KEPT: usize = 64;

/// A change one watch reports, as kube-runtime's watcher events carry it.
#[derive(Clone, Debug, PartialEq)]
pub enum Change<T> {
    /// A (re)list begins.
    Init,
    /// An object of the list.
    InitItem(String, T),
    /// The list is complete: it replaces what was known.
    InitDone,
    /// An object was added or changed.
    Upsert(String, T),
    /// An object was deleted.
    Delete(String),
}

/// The objects of one kind, by `namespace/name`.
#[derive(Debug)]
pub struct Mirror<T> {
    live: BTreeMap<String, T>,
    listing: Option<BTreeMap<String, T>>,
    synced: bool,
}

impl<T> Default for Mirror<T> {
    fn default() -> Self {
        Mirror {
            live: BTreeMap::new(),
            listing: None,
            synced: false,
        }
    }
}

impl<T: Clone> Mirror<T> {
    /// Applies a change; returns the objects that went away (deleted, or missing from a
    /// relist).
    pub fn apply(&mut self, change: Change<T>) -> Vec<T> {
        match change {
            Change::Init => {
                self.listing = Some(BTreeMap::new());
                Vec::new()
            }
            Change::InitItem(k, v) => {
                self.listing.get_or_insert_with(BTreeMap::new).insert(k, v);
                Vec::new()
            }
            Change::InitDone => {
                let fresh = self.listing.take().unwrap_or_default();
                let old = std::mem::replace(&mut self.live, fresh);
                self.synced = true;
                old.into_iter()
                    .filter(|(k, _)| !self.live.contains_key(k))
                    .map(|(_, v)| v)
                    .collect()
            }
            Change::Upsert(k, v) => {
                self.live.insert(k, v);
                Vec::new()
            }
            Change::Delete(k) => self.live.remove(&k).into_iter().collect(),
        }
    }

    /// The objects now.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.live.values()
    }

    /// One object.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.live.get(key)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Waits for a new list (new watches) before the objects count as known again.
    pub fn expect_list(&mut self) {
        self.synced = false;
        self.listing = None;
    }

    /// Whether the last list has completed.
    pub fn synced(&self) -> bool {
        self.synced
    }
}

/// One watched cluster.
#[derive(Debug, Default)]
pub struct ClusterState {
    /// Pods of labkube's releases.
    pub pods: Mirror<PodSeen>,
    /// Deployments of labkube's releases.
    pub deployments: Mirror<DeploymentSeen>,
    /// Volume claims of labkube's releases.
    pub claims: Mirror<ClaimSeen>,
    /// Every node.
    pub nodes: Mirror<NodeView>,
    /// When each pod's restart count was seen to grow (Unix ms), newest last.
    restarts: BTreeMap<String, VecDeque<u64>>,
}

impl ClusterState {
    /// Whether every watch has listed once: before that, what is missing is not known to be
    /// gone.
    pub fn synced(&self) -> bool {
        self.pods.synced()
            && self.deployments.synced()
            && self.claims.synced()
            && self.nodes.synced()
    }

    /// Waits for every watch to list again.
    pub fn expect_lists(&mut self) {
        self.pods.expect_list();
        self.deployments.expect_list();
        self.claims.expect_list();
        self.nodes.expect_list();
    }

    /// Applies a pod change seen at `now_ms`; returns the pods that went away.
    pub fn pod(&mut self, change: Change<PodSeen>, now_ms: u64) -> Vec<PodSeen> {
        if let Change::Upsert(k, v) | Change::InitItem(k, v) = &change {
            let before = self.pods.get(k).map(|p| p.restarts);
            if let Some(before) = before
                && v.restarts > before
            {
                let times = self.restarts.entry(k.clone()).or_default();
                for _ in before..v.restarts.min(before + RESTARTS_KEPT as u32) {
                    times.push_back(now_ms);
                }
                while times.len() > RESTARTS_KEPT {
                    times.pop_front();
                }
            }
        }
        let gone = self.pods.apply(change);
        for p in &gone {
            self.restarts.remove(&format!("{}/{}", p.namespace, p.name));
        }
        gone
    }

    /// Applies a claim change seen at `now_ms` (a claim whose creation time is unknown is
    /// pending from when it is first seen).
    pub fn claim(&mut self, change: Change<ClaimSeen>, now_ms: u64) {
        let fix = |k: String, mut v: ClaimSeen, known: Option<&ClaimSeen>| {
            if v.pending_since_ms == Some(0) {
                let seen = known.and_then(|c| c.pending_since_ms).unwrap_or(now_ms);
                v.pending_since_ms = Some(seen);
            }
            (k, v)
        };
        let change = match change {
            Change::Upsert(k, v) => {
                let (k, v) = fix(k.clone(), v, self.claims.get(&k));
                Change::Upsert(k, v)
            }
            Change::InitItem(k, v) => {
                let (k, v) = fix(k.clone(), v, self.claims.get(&k));
                Change::InitItem(k, v)
            }
            other => other,
        };
        self.claims.apply(change);
    }

    /// Restarts of the pod `key` seen after `since_ms`.
    pub fn restarts_since(&self, key: &str, since_ms: u64) -> usize {
        self.restarts
            .get(key)
            .map_or(0, |t| t.iter().filter(|&&at| at > since_ms).count())
    }
}
