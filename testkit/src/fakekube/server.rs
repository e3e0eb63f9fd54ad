//! HTTP plumbing: authentication and RBAC authorization (`auth.rs`, `rbac.rs`), path routing
//! exactly as the real API lays it out, dispatch to the verbs, request recording.

use super::auth;
use super::delete;
use super::discovery;
use super::errors::ApiError;
use super::handle::RequestRecord;
use super::handlers::{self, Req};
use super::listener::Peer;
use super::rbac::{self, Attributes};
use super::resources::{self, ResourceDef};
use super::store::Shared;
use super::watch;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

/// Largest request body accepted.
const MAX_BODY: usize = 16 << 20;

/// What a path addresses.
#[derive(Debug)]
enum Target {
    /// A collection, in one namespace or (`None`) across all / cluster-scoped.
    Collection {
        def: &'static ResourceDef,
        ns: Option<String>,
    },
    /// One object (`ns` empty for cluster-scoped), optionally its `/status`.
    Item {
        def: &'static ResourceDef,
        ns: String,
        name: String,
        status: bool,
    },
}

fn parse_path(path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let served = |g: &str, v: &str| {
        resources::groups()
            .iter()
            .any(|r| r.group == g && r.version == v)
    };
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g, v, rest @ ..] if served(g, v) => (*g, rest),
        _ => return Err(ApiError::NoSuchPath),
    };
    let def = |plural: &str| resources::by_plural(group, plural).ok_or(ApiError::NoSuchPath);
    let cluster_scoped = |plural: &str| def(plural).is_ok_and(|d| !d.namespaced);
    let ns_def = |plural: &str| {
        def(plural).and_then(|d| {
            if d.namespaced {
                Ok(d)
            } else {
                Err(ApiError::NoSuchPath)
            }
        })
    };
    Ok(match rest {
        [plural] => Target::Collection {
            def: def(plural)?,
            ns: None,
        },
        [plural, name] if cluster_scoped(plural) => Target::Item {
            def: def(plural)?,
            ns: String::new(),
            name: name.to_string(),
            status: false,
        },
        [plural, name, "status"] if cluster_scoped(plural) => Target::Item {
            def: def(plural)?,
            ns: String::new(),
            name: name.to_string(),
            status: true,
        },
        ["namespaces", ns, plural] => Target::Collection {
            def: ns_def(plural)?,
            ns: Some(ns.to_string()),
        },
        ["namespaces", ns, plural, name] => Target::Item {
            def: ns_def(plural)?,
            ns: ns.to_string(),
            name: name.to_string(),
            status: false,
        },
        ["namespaces", ns, plural, name, "status"] => Target::Item {
            def: ns_def(plural)?,
            ns: ns.to_string(),
            name: name.to_string(),
            status: true,
        },
        _ => return Err(ApiError::NoSuchPath),
    })
}

/// The router: one fallback handler that routes like the real apiserver.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(serve).with_state(shared)
}

fn json_response(code: u16, v: &Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code(), &e.to_status())
}

/// What the request asks to do, for the authorizer (the apiserver's `RequestInfo`): a
/// resource request under `/api/v1` or `/apis/<group>/<version>`, else a path.
fn attributes(method: &Method, path: &str, query: &HashMap<String, String>) -> Attributes {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", rest),
        ["apis", g, _, rest @ ..] if !rest.is_empty() => (*g, rest),
        _ => {
            return Attributes::Path {
                verb: path_verb(method),
                path: path.to_string(),
            };
        }
    };
    // The namespaces resource is the one whose namespace is its own name.
    let (namespace, rest) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some(ns.to_string()), more),
        ["namespaces", ns] => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let (resource, name) = match rest {
        [plural] => (plural.to_string(), None),
        [plural, name] => (plural.to_string(), Some(name.to_string())),
        [plural, name, sub, ..] => (format!("{plural}/{sub}"), Some(name.to_string())),
        [] => (String::new(), None),
    };
    let watching = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match (method.clone(), &name) {
        (Method::GET, Some(_)) => "get",
        (Method::GET, None) if watching => "watch",
        (Method::GET, None) => "list",
        (Method::POST, _) => "create",
        (Method::PUT, _) => "update",
        (Method::PATCH, _) => "patch",
        (Method::DELETE, Some(_)) => "delete",
        (Method::DELETE, None) => "deletecollection",
        _ => path_verb(method),
    };
    Attributes::Resource {
        verb,
        group: group.to_string(),
        resource,
        namespace,
        name,
    }
}

fn path_verb(method: &Method) -> &'static str {
    match *method {
        Method::POST => "post",
        Method::PUT => "put",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        Method::HEAD => "head",
        _ => "get",
    }
}

/// Authentication, then authorization: 401 for no identity, 403 in RBAC's words.
fn admit(
    shared: &Shared,
    headers: &HeaderMap,
    peer: Option<&Peer>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
) -> Result<(), ApiError> {
    let who = auth::authenticate(shared, headers, peer).ok_or(ApiError::Unauthorized)?;
    let what = attributes(method, path, query);
    shared.with(|st| rbac::authorize(st, &who, &what))
}

async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<Peer>>()
        .map(|c| c.0.clone());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let query: HashMap<String, String> = axum::extract::Query::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let response = match axum::body::to_bytes(request.into_body(), MAX_BODY).await {
        Err(e) => error_response(&ApiError::BadRequest(format!(
            "could not read the request body: {e}"
        ))),
        Ok(body) => {
            let latency = shared.with(|st| st.knobs.latency);
            if !latency.is_zero() && query.get("watch").is_none_or(|w| w != "true" && w != "1") {
                tokio::time::sleep(latency).await;
            }
            let default_manager = headers
                .get(header::USER_AGENT)
                .and_then(|h| h.to_str().ok())
                .and_then(|ua| ua.split('/').next())
                .filter(|m| !m.is_empty())
                .unwrap_or("unknown")
                .to_string();
            let req = Req {
                query: query.clone(),
                content_type: content_type.clone(),
                body: body.to_vec(),
                default_manager,
            };
            match admit(
                &shared,
                &headers,
                peer.as_ref(),
                &method,
                uri.path(),
                &query,
            ) {
                Ok(()) => route(&shared, &method, uri.path(), &req, &headers),
                Err(e) => error_response(&e),
            }
        }
    };
    let record = RequestRecord {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        content_type,
        status: response.status().as_u16(),
    };
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(record);
    response
}

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    req: &Req,
    headers: &HeaderMap,
) -> Response {
    if *method == Method::GET {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        if let Some(doc) = discovery::document(path.trim_end_matches('/'), host) {
            return json_response(200, &doc);
        }
    }
    if *method == Method::GET
        && let ["api", "v1", "namespaces", ns, "pods", name, "log"] = path
            .trim_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
    {
        return match shared.with(|st| super::logs::serve(st, ns, name, req)) {
            Ok(text) => {
                let mut r = Response::new(Body::from(text));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain"),
                );
                r
            }
            Err(e) => error_response(&e),
        };
    }
    if *method == Method::POST
        && let [
            "api",
            "v1",
            "namespaces",
            ns,
            "serviceaccounts",
            name,
            "token",
        ] = path
            .trim_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
    {
        return match auth::token_request(shared, ns, name, &req.body) {
            Ok((code, v)) => json_response(code, &v),
            Err(e) => error_response(&e),
        };
    }
    let target = match parse_path(path) {
        Ok(t) => t,
        Err(e) => return error_response(&e),
    };
    let reply = match (target, method.clone()) {
        (Target::Collection { def, ns }, Method::GET) => {
            if matches!(req.q("watch"), Some("true") | Some("1")) {
                return match watch::watch(shared.clone(), def, ns, req) {
                    Ok(stream) => {
                        let mut r = Response::new(Body::from_stream(stream));
                        r.headers_mut().insert(
                            header::CONTENT_TYPE,
                            header::HeaderValue::from_static("application/json"),
                        );
                        r
                    }
                    Err(e) => error_response(&e),
                };
            }
            handlers::list(shared, def, ns.as_deref(), req)
        }
        (Target::Collection { def, ns }, Method::POST) => match (def.namespaced, ns) {
            (true, Some(ns)) => handlers::create(shared, def, &ns, req),
            (false, None) => handlers::create(shared, def, "", req),
            _ => Err(ApiError::MethodNotAllowed),
        },
        (Target::Collection { def, ns }, Method::DELETE) => {
            delete::delete_collection(shared, def, ns.as_deref(), req)
        }
        (Target::Item { def, ns, name, .. }, Method::GET) => handlers::get(shared, def, &ns, &name),
        (
            Target::Item {
                def,
                ns,
                name,
                status,
            },
            Method::PUT,
        ) => handlers::replace(shared, def, &ns, &name, status, req),
        (
            Target::Item {
                def,
                ns,
                name,
                status,
            },
            Method::PATCH,
        ) => handlers::patch(shared, def, &ns, &name, status, req),
        (
            Target::Item {
                def,
                ns,
                name,
                status: false,
            },
            Method::DELETE,
        ) => delete::delete(shared, def, &ns, &name, req),
        _ => Err(ApiError::MethodNotAllowed),
    };
    match reply {
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}
