//! Who a request is, as kube-apiserver's union of authenticators on a kubeadm cluster decides:
//! a client certificate this server's CA issued (the x509 authenticator: CN the user, O the
//! groups), a service-account token it issued through the TokenRequest API (bound to the
//! account's uid, refused once expired or once the account is gone), or, in plain-HTTP mode, the
//! one static token (a `--token-auth-file` user in `system:masters`). Anything else is 401.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::errors::ApiError;
use super::listener::Peer;
use super::meta;
use super::resources::res;
use super::store::{Shared, State};

/// The group RBAC lets do anything (`system:masters` bypasses authorization entirely).
pub(super) const MASTERS: &str = "system:masters";
/// The group every authenticated request is in.
const AUTHENTICATED: &str = "system:authenticated";
/// TokenRequest's default lifetime (`authentication/v1` `TokenRequestSpec.expirationSeconds`).
const DEFAULT_SECS: i64 = 3600;
/// The shortest lifetime the API accepts (`pkg/apis/authentication/validation`: "may not
/// specify a duration less than 10 minutes").
const MIN_SECS: i64 = 600;
/// The longest (`may not specify a duration larger than 2^32 seconds`).
const MAX_SECS: i64 = 1 << 32;

/// An authenticated user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `kubernetes-admin`, `system:serviceaccount:<ns>:<name>`.
    pub user: String,
    /// Its groups, `system:authenticated` included.
    pub groups: Vec<String>,
}

impl Identity {
    fn new(user: String, mut groups: Vec<String>) -> Identity {
        groups.push(AUTHENTICATED.into());
        Identity { user, groups }
    }

    /// The service account this identity is, as (namespace, name).
    pub fn service_account(&self) -> Option<(&str, &str)> {
        self.user
            .strip_prefix("system:serviceaccount:")?
            .split_once(':')
    }
}

/// A token the TokenRequest API issued.
#[derive(Clone, Debug)]
struct Issued {
    namespace: String,
    account: String,
    uid: String,
    expires: SystemTime,
}

/// The tokens issued, and the fake's clock for them (which tests may move forward: the API's
/// shortest lifetime is ten minutes, too long to wait for in a test).
#[derive(Debug, Default)]
pub(super) struct Tokens {
    issued: HashMap<String, Issued>,
    ahead: Duration,
}

impl Tokens {
    /// The time tokens are judged at.
    fn now(&self) -> SystemTime {
        SystemTime::now() + self.ahead
    }

    /// Moves the tokens' clock forward by `by`.
    pub fn pass(&mut self, by: Duration) {
        self.ahead += by;
    }

    /// How many issued tokens are still valid now (expired ones are not counted).
    pub fn live(&self) -> usize {
        let now = self.now();
        self.issued.values().filter(|t| t.expires > now).count()
    }
}

/// The identity of a request, or `None` (401).
pub(super) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    peer: Option<&Peer>,
) -> Option<Identity> {
    if let Some(pki) = &shared.pki
        && let Some(id) = peer
            .and_then(|p| p.cert.as_deref())
            .and_then(|der| pki.identity(der))
    {
        return Some(Identity::new(id.user, id.groups));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))?;
    if shared.pki.is_none() && bearer == shared.token {
        return Some(Identity::new("fake-admin".into(), vec![MASTERS.into()]));
    }
    shared.with(|st| account_of(st, bearer))
}

/// The service account a token was issued to, while it is valid: not expired, and the account
/// still the one it was issued for (deleted and recreated under the same name, it is not).
fn account_of(st: &State, token: &str) -> Option<Identity> {
    let t = st.tokens.issued.get(token)?;
    if t.expires <= st.tokens.now() {
        return None;
    }
    let sa = st.get(res::SERVICE_ACCOUNTS, &t.namespace, &t.account)?;
    if meta::str_at(sa, &["metadata", "uid"]) != Some(t.uid.as_str()) {
        return None;
    }
    Some(Identity::new(
        format!("system:serviceaccount:{}:{}", t.namespace, t.account),
        vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{}", t.namespace),
        ],
    ))
}

/// `POST .../serviceaccounts/<name>/token`: a token for the account, as a `TokenRequest` with
/// its `status` (201 Created).
pub(super) fn token_request(
    shared: &Shared,
    ns: &str,
    name: &str,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let req: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not JSON: {e}")))?;
    let secs = match &req["spec"]["expirationSeconds"] {
        Value::Null => DEFAULT_SECS,
        v => v.as_i64().ok_or_else(|| {
            ApiError::BadRequest("spec.expirationSeconds must be an integer".into())
        })?,
    };
    let invalid = |why: &str| {
        ApiError::Invalid(format!(
            "TokenRequest.authentication.k8s.io \"{name}\" is invalid: spec.expirationSeconds: Invalid value: {secs}: {why}"
        ))
    };
    if secs < MIN_SECS {
        return Err(invalid("may not specify a duration less than 10 minutes"));
    }
    if secs > MAX_SECS {
        return Err(invalid(
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    shared.with(|st| {
        let sa = st
            .get(res::SERVICE_ACCOUNTS, ns, name)
            .ok_or_else(|| ApiError::NotFound {
                resource: "serviceaccounts".into(),
                name: name.into(),
            })?;
        let uid = meta::str_at(sa, &["metadata", "uid"])
            .unwrap_or_default()
            .to_string();
        let token = format!("fake-sa-token.{:016x}{:016x}", random(), random());
        let expires = st.tokens.now() + Duration::from_secs(secs.unsigned_abs());
        st.tokens.issued.insert(
            token.clone(),
            Issued {
                namespace: ns.into(),
                account: name.into(),
                uid,
                expires,
            },
        );
        let audiences = match &req["spec"]["audiences"] {
            Value::Array(a) if !a.is_empty() => Value::Array(a.clone()),
            _ => json!(["https://kubernetes.default.svc.cluster.local"]),
        };
        Ok((
            201,
            json!({
                "kind": "TokenRequest",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": { "name": name, "namespace": ns, "creationTimestamp": null },
                "spec": { "audiences": audiences, "expirationSeconds": secs, "boundObjectRef": null },
                "status": {
                    "token": token,
                    "expirationTimestamp": rfc3339(expires),
                },
            }),
        ))
    })
}

/// 64 random bits: the standard library's per-instance random hasher keys (a fake's tokens
/// need to be unguessable only in principle).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// `t` as Kubernetes writes times.
fn rfc3339(t: SystemTime) -> String {
    k8s_openapi::jiff::Timestamp::try_from(t)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
