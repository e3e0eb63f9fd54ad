//! API errors of the fake, rendered as real `Status` objects with the real reasons and codes.

use serde_json::{Value, json};

/// An error response of the fake API server (what the real apiserver would answer).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 404: the object (or the requested path) does not exist.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// Group-qualified resource (`deployments.apps`).
        resource: String,
        /// Object name.
        name: String,
    },
    /// 404 for a path the fake does not serve.
    #[error("the server could not find the requested resource")]
    NoSuchPath,
    /// 409: create of an existing object.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// Group-qualified resource.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 409: optimistic-concurrency or server-side-apply field conflict.
    #[error("{message}")]
    Conflict {
        /// Full message as the real server words it.
        message: String,
        /// `details.causes` entries (`field`, `message`) for apply conflicts.
        causes: Vec<(String, String)>,
    },
    /// 400: malformed request.
    #[error("{0}")]
    BadRequest(String),
    /// 422: the object fails validation.
    #[error("{0}")]
    Invalid(String),
    /// 403: forbidden (e.g. creating in a terminating namespace).
    #[error("{0}")]
    Forbidden(String),
    /// 403 about one object, as `apierrors.NewForbidden(resource, name, err)` words it (what
    /// admission plugins answer: `pods "web-0" is forbidden: exceeded quota: ...`).
    #[error("{resource} \"{name}\" is forbidden: {message}")]
    ObjectForbidden {
        /// Group-qualified resource (`pods`).
        resource: String,
        /// Object name.
        name: String,
        /// The plugin's reason.
        message: String,
    },
    /// 401: missing or wrong bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 405: verb not supported on this path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 415: unsupported patch type.
    #[error("the body of the request was in an unknown format - accepted media types include: {0}")]
    UnsupportedMediaType(String),
    /// 410: resource version too old (watch history compacted).
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version the client asked for.
        requested: u64,
        /// The oldest version still retained.
        oldest: u64,
    },
    /// 500: the fake hit an internal inconsistency.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::NoSuchPath => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::BadRequest(_) => 400,
            ApiError::Invalid(_) => 422,
            ApiError::Forbidden(_) | ApiError::ObjectForbidden { .. } => 403,
            ApiError::Unauthorized => 401,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Expired { .. } => 410,
            ApiError::Internal(_) => 500,
        }
    }

    /// `Status.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoSuchPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Invalid(_) => "Invalid",
            ApiError::Forbidden(_) | ApiError::ObjectForbidden { .. } => "Forbidden",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Expired { .. } => "Expired",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The `Status` object the real apiserver sends for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::ObjectForbidden { resource, name, .. } => {
                let (kind, group) = match resource.split_once('.') {
                    Some((k, g)) => (k, Some(g)),
                    None => (resource.as_str(), None),
                };
                let mut d = json!({ "name": name, "kind": kind });
                if let (Some(g), Some(m)) = (group, d.as_object_mut()) {
                    m.insert("group".into(), json!(g));
                }
                Some(d)
            }
            ApiError::Conflict { causes, .. } if !causes.is_empty() => Some(json!({
                "causes": causes.iter().map(|(field, message)| json!({
                    "type": "FieldManagerConflict", "message": message, "field": field
                })).collect::<Vec<_>>()
            })),
            _ => None,
        };
        if let (Some(d), Some(m)) = (details, status.as_object_mut()) {
            m.insert("details".into(), d);
        }
        status
    }
}
