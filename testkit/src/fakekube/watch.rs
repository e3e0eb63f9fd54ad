//! Watches: a newline-delimited JSON stream of `{"type": ..., "object": ...}` events served from
//! the bounded history, with resourceVersion semantics, label/field selectors, bookmarks,
//! `sendInitialEvents`, `timeoutSeconds`, and `ERROR` 410 Expired for compacted versions.

use super::errors::ApiError;
use super::handlers::Req;
use super::resources::ResourceDef;
use super::selectors::Selector;
use super::store::{EventKind, Shared, WatchRecord};
use axum::body::Bytes;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Longest watch when the client gives no `timeoutSeconds` (the real server's default range starts at 30 min).
const MAX_WATCH: Duration = Duration::from_secs(1800);
/// How often an idle watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_millis(500);

struct WatchState {
    shared: Arc<Shared>,
    def: &'static ResourceDef,
    ns: Option<String>,
    sel: Selector,
    last: u64,
    rx: tokio::sync::watch::Receiver<u64>,
    deadline: Instant,
    bookmarks: bool,
    pending: VecDeque<Bytes>,
    done: bool,
}

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(def: &ResourceDef, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({ "resourceVersion": rv.to_string() });
    if initial_end {
        meta["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    line(
        &json!({ "type": "BOOKMARK", "object": { "kind": def.kind, "apiVersion": def.api_version(), "metadata": meta } }),
    )
}

/// Starts a watch; the returned stream ends on timeout, server stop, or client disconnect.
pub(super) fn watch(
    shared: Arc<Shared>,
    def: &'static ResourceDef,
    ns: Option<String>,
    req: &Req,
) -> Result<impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static, ApiError> {
    let sel = req.selector(def)?;
    let timeout =
        match req.q("timeoutSeconds") {
            None | Some("") => MAX_WATCH,
            Some(t) => Duration::from_secs(t.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!("timeoutSeconds {t:?} is not a number"))
            })?)
            .min(MAX_WATCH),
        };
    let bookmarks = matches!(req.q("allowWatchBookmarks"), Some("true") | Some("1"));
    let send_initial = matches!(req.q("sendInitialEvents"), Some("true") | Some("1"));
    let rv_param = req.q("resourceVersion").unwrap_or("");
    let mut pending = VecDeque::new();
    let rx = shared.notify.subscribe();
    let last = if rv_param.is_empty() || rv_param == "0" || send_initial {
        // Synthetic ADDED events for the current state, then changes after it.
        let (rv, objs) = shared.with(|st| (st.rv, st.list_owned(def.plural, ns.as_deref())));
        for o in objs.into_iter().filter(|o| sel.matches(o)) {
            pending.push_back(line(&json!({ "type": "ADDED", "object": o })));
        }
        if send_initial {
            pending.push_back(bookmark(def, rv, true));
        }
        rv
    } else {
        rv_param.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "resourceVersion {rv_param:?} is not a valid resource version"
            ))
        })?
    };
    let state = WatchState {
        shared,
        def,
        ns,
        sel,
        last,
        rx,
        deadline: Instant::now() + timeout,
        bookmarks,
        pending,
        done: false,
    };
    Ok(futures::stream::unfold(state, |mut w| async move {
        // Bounded: every iteration either yields, ends, or waits on a deadline-bounded select.
        loop {
            if let Some(b) = w.pending.pop_front() {
                return Some((Ok(b), w));
            }
            if w.done {
                return None;
            }
            let since = w
                .shared
                .with(|st| st.events_since(w.last).map(|e| (e, st.rv)));
            match since {
                Err(oldest) => {
                    let err = ApiError::Expired {
                        requested: w.last,
                        oldest,
                    };
                    w.pending
                        .push_back(line(&json!({ "type": "ERROR", "object": err.to_status() })));
                    w.done = true;
                    continue;
                }
                Ok((events, _)) => {
                    for e in events {
                        w.last = e.rv;
                        if let Some(l) = render(&w, &e) {
                            w.pending.push_back(l);
                        }
                    }
                }
            }
            if !w.pending.is_empty() {
                continue;
            }
            let idle = tokio::time::sleep(BOOKMARK_EVERY);
            tokio::select! {
                changed = w.rx.changed() => {
                    if changed.is_err() {
                        w.done = true;
                    }
                }
                _ = tokio::time::sleep_until(w.deadline) => w.done = true,
                _ = idle, if w.bookmarks => {
                    let rv = w.shared.with(|st| st.rv);
                    // Only claim versions whose events this watch has already been through.
                    if rv == w.last {
                        w.pending.push_back(bookmark(w.def, rv, false));
                    }
                }
            }
        }
    }))
}

/// The event line a watch sees for a recorded change, if any (selector transitions become
/// ADDED/DELETED, as on the real server).
fn render(w: &WatchState, e: &WatchRecord) -> Option<Bytes> {
    if e.res != w.def.plural || w.ns.as_deref().is_some_and(|n| n != e.ns) {
        return None;
    }
    let now = w.sel.matches(&e.object);
    let before = e.previous.as_ref().is_some_and(|p| w.sel.matches(p));
    let kind = match e.kind {
        EventKind::Added | EventKind::Deleted if now => e.kind,
        EventKind::Modified if now && before => EventKind::Modified,
        EventKind::Modified if now => EventKind::Added,
        EventKind::Modified if before => EventKind::Deleted,
        _ => return None,
    };
    Some(line(&json!({ "type": kind.as_str(), "object": e.object })))
}
