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
    let gone = shared
        .with(|st| gc::delete(st, def, ns, name, policy))
        .ok_or_else(|| not_found(def, name))?;
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
