//! Test-only, minimal Kubernetes API on 127.0.0.1 (axum): list, watch (newline-delimited events from a
//! scripted log, resumable by resourceVersion), GET by name, `/version`, bearer-token check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::watch;

/// The token the fake accepts.
pub const TOKEN: &str = "fake-t0ken-s3cret";

#[derive(Default)]
struct Log {
    /// Objects at start, by plural.
    initial: HashMap<String, Vec<Value>>,
    /// `(plural, type, object)`; event `i` has resourceVersion `i + 2` (the initial objects have `1`).
    events: Vec<(String, String, Value)>,
}

struct Shared {
    log: Mutex<Log>,
    len: watch::Sender<usize>,
    /// Set by [`Fake::kill`]: open watches end.
    dead: std::sync::atomic::AtomicBool,
}

/// A running fake API server.
pub struct Fake {
    /// Its port on 127.0.0.1.
    pub port: u16,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Fake {
    /// Starts a server holding `initial` objects, as `(plural, object)`.
    pub async fn start(initial: Vec<(&str, Value)>) -> Fake {
        let mut log = Log::default();
        for (plural, mut obj) in initial {
            obj["metadata"]["resourceVersion"] = json!("1");
            log.initial.entry(plural.to_string()).or_default().push(obj);
        }
        let shared = Arc::new(Shared {
            log: Mutex::new(log),
            len: watch::channel(0).0,
            dead: Default::default(),
        });
        let app = Router::new()
            .route("/version", get(version))
            .route("/api/v1/namespaces/{ns}/{plural}", get(collection))
            .route("/apis/apps/v1/namespaces/{ns}/{plural}", get(collection))
            .route("/apis/apps/v1/namespaces/{ns}/{plural}/{name}", get(one))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake {
            port,
            shared,
            server,
        }
    }

    /// Stops the server: the port is closed and open watches end, as when the API server goes down.
    pub fn kill(&self) {
        self.server.abort();
        self.shared
            .dead
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.len.send_modify(|_| {});
    }

    /// Appends a watch event (`ADDED`, `MODIFIED`, `DELETED`, or `ERROR` with a `Status` object) for `plural`.
    /// An `ERROR` is only sent to open watches; lists ignore it.
    pub fn push_error(&self, plural: &str, code: u16, reason: &str) {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": code, "reason": reason, "message": reason});
        let mut log = self.shared.log.lock().unwrap();
        log.events
            .push((plural.to_string(), "ERROR".to_string(), status));
        self.shared.len.send_replace(log.events.len());
    }

    /// Appends a watch event (`ADDED`, `MODIFIED`, `DELETED`) for `plural`.
    pub fn push(&self, plural: &str, type_: &str, mut obj: Value) {
        let mut log = self.shared.log.lock().unwrap();
        obj["metadata"]["resourceVersion"] = json!((log.events.len() + 2).to_string());
        log.events
            .push((plural.to_string(), type_.to_string(), obj));
        self.shared.len.send_replace(log.events.len());
    }
}

/// A kube client for `port` with bearer `token`.
pub async fn client(port: u16, token: &str) -> kube::Client {
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{port}\n\
         users:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: c\n  context:\n    cluster: fake\n    user: u\n\
         current-context: c\n"
    );
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()});
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
}

/// The objects of `plural` after applying every logged event, and the resourceVersion of that state.
fn current(log: &Log, plural: &str) -> (Vec<Value>, usize) {
    let mut items = log.initial.get(plural).cloned().unwrap_or_default();
    for (p, type_, obj) in &log.events {
        if p != plural {
            continue;
        }
        if type_ == "ERROR" {
            continue;
        }
        items.retain(|o| name_of(o) != name_of(obj));
        if type_ != "DELETED" {
            items.push(obj.clone());
        }
    }
    (items, log.events.len() + 1)
}

fn name_filter(query: &HashMap<String, String>) -> Option<String> {
    query
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name="))
        .map(str::to_string)
}

async fn version(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0", "gitCommit": "", "gitTreeState": "",
        "buildDate": "", "goVersion": "", "compiler": "", "platform": ""}))
    .into_response()
}

async fn one(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((_ns, plural, name)): Path<(String, String, String)>,
) -> Response {
    if !authorized(&headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let log = shared.log.lock().unwrap();
    match current(&log, &plural)
        .0
        .into_iter()
        .find(|o| name_of(o) == name)
    {
        Some(obj) => axum::Json(obj).into_response(),
        None => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{plural} \"{name}\" not found"),
        ),
    }
}

async fn collection(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((_ns, plural)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let only = name_filter(&query);
    if query.get("watch").map(String::as_str) != Some("true") {
        let log = shared.log.lock().unwrap();
        let (mut items, rv) = current(&log, &plural);
        items.retain(|o| only.as_deref().is_none_or(|n| name_of(o) == n));
        return axum::Json(json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items}))
            .into_response();
    }
    // Events with resourceVersion > the one asked for, i.e. from index rv - 1 on.
    let rv: usize = query
        .get("resourceVersion")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let rx = shared.len.subscribe();
    let stream = futures::stream::unfold((rv.saturating_sub(1), rx), move |(mut next, mut rx)| {
        let (shared, plural, only) = (shared.clone(), plural.clone(), only.clone());
        async move {
            loop {
                if shared.dead.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                let batch: Vec<String> = {
                    let log = shared.log.lock().unwrap();
                    let out = log.events[next.min(log.events.len())..]
                        .iter()
                        .filter(|(p, t, o)| {
                            *p == plural
                                && (t == "ERROR" || only.as_deref().is_none_or(|n| name_of(o) == n))
                        })
                        .map(|(_, t, o)| format!("{}\n", json!({"type": t, "object": o})))
                        .collect();
                    next = log.events.len();
                    out
                };
                if !batch.is_empty() {
                    return Some((Ok::<_, std::io::Error>(batch.concat()), (next, rx)));
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(
            stream.map(|r| r.map(axum::body::Bytes::from)),
        ))
        .unwrap()
}
