//! The verbs: get, list, create, replace, patch (apply / merge / strategic), delete,
//! deletecollection, on main resources and the `/status` subresource.

use super::apply::{self, Outcome};
use super::defaults;
use super::errors::ApiError;
use super::gc;
use super::merge;
use super::meta::{self, str_at};
use super::resources::ResourceDef;
use super::selectors::{FieldSelector, LabelSelector, Selector};
use super::store::{Shared, State};
use serde_json::{Value, json};
use std::collections::HashMap;

/// A parsed request, as the verbs need it.
#[derive(Debug)]
pub(super) struct Req {
    /// Query parameters (decoded).
    pub query: HashMap<String, String>,
    /// `Content-Type` without parameters.
    pub content_type: String,
    /// Request body.
    pub body: Vec<u8>,
    /// Default field manager for non-apply writes (from the User-Agent, like the real server).
    pub default_manager: String,
}

impl Req {
    /// A query parameter.
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    /// `dryRun=All`.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.q("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(o) => Err(ApiError::BadRequest(format!(
                "unsupported dryRun value {o:?}: the accepted value is All"
            ))),
        }
    }

    fn manager(&self) -> Result<String, ApiError> {
        let m = self
            .q("fieldManager")
            .unwrap_or(&self.default_manager)
            .to_string();
        if m.len() > 128 {
            return Err(ApiError::BadRequest(
                "fieldManager: Too long: may not be more than 128 bytes".into(),
            ));
        }
        Ok(m)
    }

    /// The body as JSON (YAML accepted for apply patches).
    fn json_body(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).or_else(|e| {
            if self.content_type == "application/apply-patch+yaml" {
                let text = String::from_utf8_lossy(&self.body);
                serde_saphyr::from_str::<Value>(&text)
                    .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))
            } else {
                Err(ApiError::BadRequest(format!(
                    "the body of the request could not be decoded as JSON: {e}"
                )))
            }
        })
    }

    /// Selector from `labelSelector` / `fieldSelector`.
    pub fn selector(&self, def: &ResourceDef) -> Result<Selector, ApiError> {
        Ok(Selector {
            labels: LabelSelector::parse(self.q("labelSelector").unwrap_or(""))?,
            fields: FieldSelector::parse(self.q("fieldSelector").unwrap_or(""), def.kind)?,
        })
    }
}

/// Answer of a verb: HTTP code and JSON body.
pub(super) type Reply = Result<(u16, Value), ApiError>;

pub(super) fn not_found(def: &ResourceDef, name: &str) -> ApiError {
    ApiError::NotFound {
        resource: def.qualified(),
        name: name.to_string(),
    }
}

fn conflict_modified(def: &ResourceDef, name: &str) -> ApiError {
    ApiError::Conflict {
        message: format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            def.qualified()
        ),
        causes: Vec::new(),
    }
}

fn validate_name(def: &ResourceDef, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::Invalid(format!(
            "{} \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            def.kind
        )))
    }
}

/// GET of one object (or its `/status`).
pub(super) fn get(shared: &Shared, def: &ResourceDef, ns: &str, name: &str) -> Reply {
    shared
        .with(|st| st.get(def.plural, ns, name).cloned())
        .map(|o| (200, o))
        .ok_or_else(|| not_found(def, name))
}

/// LIST with selectors and `limit`/`continue` paging.
pub(super) fn list(shared: &Shared, def: &ResourceDef, ns: Option<&str>, req: &Req) -> Reply {
    let sel = req.selector(def)?;
    let limit = match req.q("limit") {
        None | Some("") | Some("0") => None,
        Some(l) => Some(
            l.parse::<usize>()
                .map_err(|_| ApiError::BadRequest(format!("limit {l:?} is not a number")))?,
        ),
    };
    let after = req
        .q("continue")
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let (rv, items) = shared.with(|st| {
        let items: Vec<Value> = st
            .list(def.plural, ns)
            .into_iter()
            .filter(|o| sel.matches(o))
            .cloned()
            .collect();
        (st.rv, items)
    });
    let mut items: Vec<Value> = match &after {
        Some(token) => items
            .into_iter()
            .filter(|o| continue_key(o).as_str() > token.as_str())
            .collect(),
        None => items,
    };
    let mut list_meta = json!({ "resourceVersion": rv.to_string() });
    if let Some(l) = limit.filter(|l| items.len() > *l) {
        let remaining = items.len() - l;
        items.truncate(l);
        if let Some(last) = items.last() {
            meta::set_at(&mut list_meta, &["continue"], json!(continue_key(last)));
            meta::set_at(&mut list_meta, &["remainingItemCount"], json!(remaining));
        }
    }
    for it in items.iter_mut() {
        if let Some(m) = it.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
    }
    Ok((
        200,
        json!({ "kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": list_meta, "items": items }),
    ))
}

/// Opaque-enough continue token: the namespace/name of the last item returned.
fn continue_key(o: &Value) -> String {
    format!(
        "{}/{}",
        str_at(o, &["metadata", "namespace"]).unwrap_or_default(),
        meta::name(o)
    )
}

/// POST (create).
pub(super) fn create(shared: &Shared, def: &'static ResourceDef, ns: &str, req: &Req) -> Reply {
    let mut body = req.json_body()?;
    apply::check_identity(def, &mut body, ns, None)?;
    let (manager, dry_run) = (req.manager()?, req.dry_run()?);
    let out = shared.with(|st| -> Result<Value, ApiError> {
        if str_at(&body, &["metadata", "name"]).is_none() {
            match str_at(&body, &["metadata", "generateName"]).map(str::to_string) {
                Some(prefix) => {
                    let n = st.next_counter();
                    meta::set_at(&mut body, &["metadata", "name"], json!(format!("{prefix}{}", meta::name_suffix(n))));
                }
                None => {
                    return Err(ApiError::Invalid(format!(
                        "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                        def.kind
                    )));
                }
            }
        }
        let name = meta::name(&body).to_string();
        validate_name(def, &name)?;
        gc::check_namespace(st, def, ns)?;
        if st.get(def.plural, ns, &name).is_some() {
            return Err(ApiError::AlreadyExists { resource: def.qualified(), name });
        }
        for f in ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"] {
            meta::remove_at(&mut body, &["metadata", f]);
        }
        defaults::prepare(st, def, &mut body, None)?;
        let paths = merge::leaf_paths(&body);
        apply::record_update(&mut body, None, &manager, def.api_version(), paths);
        Ok(if dry_run { body } else { st.insert(def.plural, body) })
    })?;
    if !dry_run {
        shared.count_mutation();
    }
    Ok((201, out))
}

/// PUT (replace), on the main resource or on `/status` (then only status is taken from the body).
pub(super) fn replace(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    status: bool,
    req: &Req,
) -> Reply {
    let mut body = req.json_body()?;
    apply::check_identity(def, &mut body, ns, Some(name))?;
    let (manager, dry_run) = (req.manager()?, req.dry_run()?);
    let out = shared.with(|st| {
        let old = st
            .get(def.plural, ns, name)
            .cloned()
            .ok_or_else(|| not_found(def, name))?;
        if let Some(rv) = str_at(&body, &["metadata", "resourceVersion"]).filter(|r| !r.is_empty())
            && Some(rv) != str_at(&old, &["metadata", "resourceVersion"])
        {
            return Err(conflict_modified(def, name));
        }
        let new = if status {
            let mut o = old.clone();
            meta::set_at(
                &mut o,
                &["status"],
                body.get("status").cloned().unwrap_or(json!({})),
            );
            o
        } else {
            meta::remove_at(&mut body, &["metadata", "managedFields"]);
            defaults::prepare(st, def, &mut body, Some(&old))?;
            let paths = merge::leaf_paths(&body);
            apply::record_update(&mut body, Some(&old), &manager, def.api_version(), paths);
            body
        };
        write(st, def, new, dry_run)
    })?;
    if out.changed {
        shared.count_mutation();
    }
    Ok((200, out.obj))
}

fn write(
    st: &mut State,
    def: &'static ResourceDef,
    new: Value,
    dry_run: bool,
) -> Result<Outcome, ApiError> {
    if dry_run {
        return Ok(Outcome {
            obj: new,
            created: false,
            changed: false,
        });
    }
    let (obj, changed) = st.replace(def.plural, new);
    Ok(Outcome {
        obj,
        created: false,
        changed,
    })
}

/// PATCH: server-side apply, JSON merge patch, or strategic merge patch (treated as merge patch).
pub(super) fn patch(
    shared: &Shared,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    status: bool,
    req: &Req,
) -> Reply {
    let dry_run = req.dry_run()?;
    let out = match req.content_type.as_str() {
        "application/apply-patch+yaml" => {
            let manager = req
                .q("fieldManager")
                .filter(|m| !m.is_empty())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "PATCH /apply: fieldManager is required for apply requests".into(),
                    )
                })?
                .to_string();
            let force = matches!(req.q("force"), Some("true") | Some("1"));
            let config = req.json_body()?;
            if status {
                return Err(ApiError::MethodNotAllowed);
            }
            shared.with(|st| {
                apply::apply(
                    st,
                    def,
                    (ns, name),
                    config,
                    &apply::ApplyParams {
                        manager: &manager,
                        force,
                        dry_run,
                    },
                )
            })?
        }
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let p = req.json_body()?;
            let manager = req.manager()?;
            shared.with(|st| {
                let old = st
                    .get(def.plural, ns, name)
                    .cloned()
                    .ok_or_else(|| not_found(def, name))?;
                if let Some(rv) = str_at(&p, &["metadata", "resourceVersion"])
                    && Some(rv) != str_at(&old, &["metadata", "resourceVersion"])
                {
                    return Err(conflict_modified(def, name));
                }
                let mut new = old.clone();
                merge::merge_patch(&mut new, &p);
                if status {
                    let mut o = old.clone();
                    meta::set_at(
                        &mut o,
                        &["status"],
                        new.get("status").cloned().unwrap_or(json!({})),
                    );
                    new = o;
                } else {
                    apply::check_identity(def, &mut new, ns, Some(name))?;
                    defaults::prepare(st, def, &mut new, Some(&old))?;
                    apply::record_update(
                        &mut new,
                        Some(&old),
                        &manager,
                        def.api_version(),
                        merge::leaf_paths(&p),
                    );
                }
                write(st, def, new, dry_run)
            })?
        }
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "application/apply-patch+yaml, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"
            )));
        }
    };
    if out.changed {
        shared.count_mutation();
    }
    Ok((if out.created { 201 } else { 200 }, out.obj))
}
