//! HTTP plumbing: authentication (bearer token, or client certificate over TLS), path routing exactly as the real API lays it out, dispatch
//! to the verbs, request recording.

use super::delete;
use super::discovery;
use super::errors::ApiError;
use super::handle::RequestRecord;
use super::handlers::{self, Req};
use super::listener::Peer;
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

/// Whether the request authenticates: with TLS, by a client certificate this server's CA
/// issued (the x509 authenticator: CN is the user, O the groups); without, by the bearer token.
/// A request that does not is 401 Unauthorized, as with `--anonymous-auth=false`.
fn authorized(shared: &Shared, headers: &HeaderMap, peer: Option<&Peer>) -> bool {
    if let Some(pki) = &shared.pki {
        return peer
            .and_then(|p| p.cert.as_deref())
            .and_then(|der| pki.identity(der))
            .is_some();
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t == shared.token)
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
            if authorized(&shared, &headers, peer.as_ref()) {
                route(&shared, &method, uri.path(), &req, &headers)
            } else {
                error_response(&ApiError::Unauthorized)
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
