//! DELETE and deletecollection: `propagationPolicy` from the query or a DeleteOptions body.

use super::errors::ApiError;
use super::gc::{self, Propagation};
use super::handlers::{Reply, Req, get, not_found};
use super::meta::{self, str_at};
use super::resources::ResourceDef;
use super::store::Shared;
use serde_json::{Value, json};

fn propagation(req: &Req) -> Result<Propagation, ApiError> {
    let from_body = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .and_then(|b| {
            b.get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    Propagation::parse(req.q("propagationPolicy").or(from_body.as_deref()))
}

/// `preconditions.uid` of a DeleteOptions body.
fn precondition_uid(req: &Req) -> Option<String> {
    let body = serde_json::from_slice::<Value>(&req.body).ok()?;
    str_at(&body, &["preconditions", "uid"]).map(str::to_string)
}

/// The apiserver's 409 when a delete's uid precondition does not hold: `storage.Preconditions.Check`
/// (apiserver `pkg/storage/interfaces.go`) makes an invalid-object StorageError, which
/// `InterpretDeleteError` turns into a Conflict.
fn precondition_failed(
    def: &ResourceDef,
    ns: &str,
    name: &str,
    want: &str,
    live: &str,
) -> ApiError {
    ApiError::Conflict {
        message: format!(
            "Operation cannot be fulfilled on {} \"{name}\": StorageError: invalid object, Code: 4, Key: /registry/{}/{ns}/{name}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: {want}, UID in object meta: {live}",
            def.plural, def.plural
        ),
        causes: Vec::new(),
    }
}

/// DELETE of one object.
pub(super) fn delete(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    req: &Req,
) -> Reply {
    let policy = propagation(req)?;
    if req.dry_run()? {
        return get(shared, def, ns, name);
    }
    let want_uid = precondition_uid(req);
    let gone = shared
        .with(|st| {
            let live = st.get(def.plural, ns, name)?;
            if let Some(want) = &want_uid
                && meta::uid(live) != want
            {
                return Some(Err(precondition_failed(
                    def,
                    ns,
                    name,
                    want,
                    meta::uid(live),
                )));
            }
            gc::delete(st, def, ns, name, policy).map(Ok)
        })
        .ok_or_else(|| not_found(def, name))??;
    shared.count_mutation();
    Ok((200, gone))
}

/// DELETE on a collection (deletecollection), honouring selectors; answers the deleted objects.
pub(super) fn delete_collection(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: Option<&str>,
    req: &Req,
) -> Reply {
    let policy = propagation(req)?;
    let sel = req.selector(def)?;
    let dry_run = req.dry_run()?;
    let (rv, items) = shared.with(|st| {
        let targets: Vec<(String, String)> = st
            .list(def.plural, ns)
            .into_iter()
            .filter(|o| sel.matches(o))
            .map(|o| {
                (
                    str_at(o, &["metadata", "namespace"])
                        .unwrap_or_default()
                        .to_string(),
                    meta::name(o).to_string(),
                )
            })
            .collect();
        let items: Vec<Value> = targets
            .iter()
            .filter_map(|(n, name)| {
                if dry_run {
                    st.get(def.plural, n, name).cloned()
                } else {
                    gc::delete(st, def, n, name, policy)
                }
            })
            .collect();
        (st.rv, items)
    });
    if !items.is_empty() && !dry_run {
        shared.count_mutation();
    }
    Ok((
        200,
        json!({ "kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": items }),
    ))
}
