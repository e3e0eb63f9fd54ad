//! The object store: objects by resource/namespace/name, the global resource-version counter, and
//! the bounded event history that watches are served from.

use super::controllers::CtlState;
use super::handle::RequestRecord;
use super::meta;
use super::resources;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Watch event types (the `type` field of a watch line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventKind {
    /// `ADDED`.
    Added,
    /// `MODIFIED`.
    Modified,
    /// `DELETED`.
    Deleted,
}

impl EventKind {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the history.
#[derive(Debug)]
pub(super) struct WatchRecord {
    /// Resource version the change produced.
    pub rv: u64,
    /// Resource plural.
    pub res: &'static str,
    /// Namespace ("" for cluster-scoped).
    pub ns: String,
    /// Event type.
    pub kind: EventKind,
    /// The object after the change (for deletes: the last state, carrying the delete's version).
    pub object: Value,
    /// The object before the change (label-selector watches need it to turn changes into
    /// ADDED/DELETED when an object enters or leaves the selection).
    pub previous: Option<Value>,
}

/// Behaviour knobs the tests can change at runtime.
#[derive(Debug, Clone)]
pub(super) struct Knobs {
    /// Time from pod creation until its containers are ready.
    pub ready_delay: Duration,
    /// Factor applied to durations given in seconds in specs (progress deadlines, minReadySeconds).
    pub time_scale: f64,
    /// Number of nodes (DaemonSet pods per DaemonSet).
    pub nodes: u32,
    /// Extra failure rules: image substring → waiting reason.
    pub fail_rules: Vec<(String, String)>,
    /// Crash rules: containers whose image contains the substring crash from now on, each
    /// time with this exit code and reason (`137`, `OOMKilled`), until the rule is removed.
    pub crash_rules: Vec<(String, i32, String)>,
    /// Nodes whose kubelet stopped: they post no status and their pods are not updated.
    pub stopped_kubelets: Vec<String>,
    /// The external volume provisioners that run (`rancher.io/local-path`).
    pub provisioners: Vec<String>,
    /// Added to every request but watches before it is served: the round trip to an API
    /// server across a lab network (zero by default).
    pub latency: Duration,
    /// The CPU use of an autoscaled Deployment's pods together, in percent of one pod's
    /// request, spread evenly over them; `None`: the resource metrics API reports none.
    pub cpu_load: Option<u32>,
}

/// Everything the fake knows, behind one lock.
#[derive(Debug)]
pub(super) struct State {
    /// Last resource version handed out.
    pub rv: u64,
    objects: BTreeMap<&'static str, BTreeMap<(String, String), Value>>,
    history: VecDeque<Arc<WatchRecord>>,
    history_limit: usize,
    /// Watches may start from any version >= floor.
    floor: u64,
    counter: u64,
    /// Controller bookkeeping (times, revisions) that is not part of any object.
    pub ctl: CtlState,
    /// Runtime knobs.
    pub knobs: Knobs,
    /// The service-account tokens issued.
    pub tokens: super::auth::Tokens,
}

fn key(obj: &Value) -> (String, String) {
    (
        meta::str_at(obj, &["metadata", "namespace"])
            .unwrap_or_default()
            .to_string(),
        meta::name(obj).to_string(),
    )
}

impl State {
    /// An empty store.
    pub fn new(history_limit: usize, knobs: Knobs) -> State {
        State {
            rv: 0,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            floor: 0,
            counter: 0,
            ctl: CtlState::default(),
            knobs,
            tokens: Default::default(),
        }
    }

    /// A fresh number for uids and generated names.
    pub fn next_counter(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The object, if present.
    pub fn get(&self, res: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(res)?
            .get(&(ns.to_string(), name.to_string()))
    }

    /// Objects of a resource in a namespace (all namespaces for `None`), ordered by namespace and name.
    pub fn list(&self, res: &str, ns: Option<&str>) -> Vec<&Value> {
        self.objects
            .get(res)
            .map(|m| {
                m.iter()
                    .filter(|((o_ns, _), _)| ns.is_none_or(|n| n == o_ns))
                    .map(|(_, v)| v)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Clones of the objects of a resource in a namespace.
    pub fn list_owned(&self, res: &str, ns: Option<&str>) -> Vec<Value> {
        self.list(res, ns).into_iter().cloned().collect()
    }

    fn record(
        &mut self,
        res: &'static str,
        ns: String,
        kind: EventKind,
        object: Value,
        previous: Option<Value>,
    ) {
        self.history.push_back(Arc::new(WatchRecord {
            rv: self.rv,
            res,
            ns,
            kind,
            object,
            previous,
        }));
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.floor = old.rv;
            }
        }
    }

    /// Stores a new object: assigns uid, creationTimestamp, resourceVersion and (for types that
    /// keep one) generation 1. Returns the stored object.
    pub fn insert(&mut self, res: &'static str, mut obj: Value) -> Value {
        let def = resources::known(res);
        self.rv += 1;
        let n = self.next_counter();
        let rv = self.rv;
        meta::with_map(&mut obj, &["metadata"], |m| {
            m.entry("uid").or_insert_with(|| json!(meta::make_uid(n)));
            m.entry("creationTimestamp")
                .or_insert_with(|| json!(meta::now_rfc3339()));
            m.insert("resourceVersion".into(), json!(rv.to_string()));
            if def.generation {
                m.insert("generation".into(), json!(1));
            }
        });
        let k = key(&obj);
        self.objects
            .entry(res)
            .or_default()
            .insert(k.clone(), obj.clone());
        self.record(res, k.0, EventKind::Added, obj.clone(), None);
        obj
    }

    /// Replaces an existing object. Bumps `generation` when `spec` changed (types that keep one).
    /// Returns the stored object and whether anything changed (no-op writes keep the version).
    pub fn replace(&mut self, res: &'static str, mut obj: Value) -> (Value, bool) {
        let def = resources::known(res);
        let k = key(&obj);
        let Some(old) = self.get(res, &k.0, &k.1).cloned() else {
            return (self.insert(res, obj), true);
        };
        for f in ["uid", "creationTimestamp", "resourceVersion", "generation"] {
            match meta::at(&old, &["metadata", f]) {
                Some(v) => meta::set_at(&mut obj, &["metadata", f], v.clone()),
                None => {
                    meta::remove_at(&mut obj, &["metadata", f]);
                }
            }
        }
        if obj == old {
            return (old, false);
        }
        if def.generation && obj.get("spec") != old.get("spec") {
            let g = meta::i64_at(&old, &["metadata", "generation"]).unwrap_or(0) + 1;
            meta::set_at(&mut obj, &["metadata", "generation"], json!(g));
        }
        self.rv += 1;
        meta::set_at(
            &mut obj,
            &["metadata", "resourceVersion"],
            json!(self.rv.to_string()),
        );
        self.objects
            .entry(res)
            .or_default()
            .insert(k.clone(), obj.clone());
        self.record(res, k.0, EventKind::Modified, obj.clone(), Some(old));
        (obj, true)
    }

    /// Stores `obj` exactly as given (status, generation and uid included, where it has them), as
    /// a scripted cluster: the handle's [`put`](super::FakeKube::put). Assigns what it lacks
    /// like [`insert`](State::insert) and a new resourceVersion; records ADDED or MODIFIED.
    pub fn put(&mut self, res: &'static str, mut obj: Value) -> Value {
        let def = resources::known(res);
        let k = key(&obj);
        let old = self.get(res, &k.0, &k.1).cloned();
        self.rv += 1;
        let n = self.next_counter();
        let rv = self.rv;
        let old_uid = old
            .as_ref()
            .and_then(|o| meta::at(o, &["metadata", "uid"]))
            .cloned();
        meta::with_map(&mut obj, &["metadata"], |m| {
            m.entry("uid")
                .or_insert_with(|| old_uid.unwrap_or_else(|| json!(meta::make_uid(n))));
            m.entry("creationTimestamp")
                .or_insert_with(|| json!(meta::now_rfc3339()));
            m.insert("resourceVersion".into(), json!(rv.to_string()));
            if def.generation {
                m.entry("generation").or_insert_with(|| json!(1));
            }
        });
        self.objects
            .entry(res)
            .or_default()
            .insert(k.clone(), obj.clone());
        let kind = if old.is_some() {
            EventKind::Modified
        } else {
            EventKind::Added
        };
        self.record(res, k.0, kind, obj.clone(), old);
        obj
    }

    /// Replaces only `status` of an existing object (what controllers do through `/status`).
    pub fn set_status(
        &mut self,
        res: &'static str,
        ns: &str,
        name: &str,
        status: Value,
    ) -> Option<Value> {
        let mut obj = self.get(res, ns, name)?.clone();
        meta::set_at(&mut obj, &["status"], status);
        Some(self.replace(res, obj).0)
    }

    /// Removes an object, recording a DELETED event carrying a new resource version.
    pub fn delete(&mut self, res: &'static str, ns: &str, name: &str) -> Option<Value> {
        let mut obj = self
            .objects
            .get_mut(res)?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        meta::set_at(
            &mut obj,
            &["metadata", "resourceVersion"],
            json!(self.rv.to_string()),
        );
        self.record(res, ns.to_string(), EventKind::Deleted, obj.clone(), None);
        Some(obj)
    }

    /// The recorded changes after `rv`, or `Err(oldest)` when history no longer reaches back that far.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<WatchRecord>>, u64> {
        if rv < self.floor {
            return Err(self.floor);
        }
        let start = self.history.partition_point(|r| r.rv <= rv);
        Ok(self.history.iter().skip(start).cloned().collect())
    }

    /// Drops all history (like etcd compaction): watches from older versions get 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
        self.floor = self.rv;
    }
}

/// State shared by the server, the controllers and the handle.
#[derive(Debug)]
pub(super) struct Shared {
    state: Mutex<State>,
    /// Latest resource version, for waking watches.
    pub notify: tokio::sync::watch::Sender<u64>,
    /// Every request seen.
    pub requests: Mutex<Vec<RequestRecord>>,
    /// Count of requests that changed state.
    pub mutations: AtomicUsize,
    /// Accepted bearer token (plain HTTP mode).
    pub token: String,
    /// With TLS: the CA whose client certificates authenticate (bearer tokens do not).
    pub pki: Option<Arc<super::pki::Pki>>,
}

impl Shared {
    /// Shared state around a store.
    pub fn new(state: State, token: String, pki: Option<Arc<super::pki::Pki>>) -> Shared {
        let (notify, _) = tokio::sync::watch::channel(state.rv);
        Shared {
            state: Mutex::new(state),
            notify,
            requests: Mutex::new(Vec::new()),
            mutations: AtomicUsize::new(0),
            token,
            pki,
        }
    }

    /// Runs `f` with the store locked, then wakes watches if the version moved.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let r = f(&mut st);
        let rv = st.rv;
        drop(st);
        self.notify.send_if_modified(|cur| {
            let moved = *cur != rv;
            *cur = rv;
            moved
        });
        r
    }

    /// Counts one state-changing request.
    pub fn count_mutation(&self) {
        self.mutations.fetch_add(1, Ordering::SeqCst);
    }
}
