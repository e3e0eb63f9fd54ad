//! Deletion semantics: namespace lifecycle, cascading deletion through ownerReferences
//! (done synchronously; the real garbage collector is asynchronous), and namespace teardown.

use super::errors::ApiError;
use super::meta::{self, str_at};
use super::resources::{RESOURCES, ResourceDef, res};
use super::store::State;
use serde_json::{Value, json};

/// Fails like the NamespaceLifecycle admission plugin when `ns` is missing or terminating.
pub(super) fn check_namespace(st: &State, def: &ResourceDef, ns: &str) -> Result<(), ApiError> {
    if !def.namespaced {
        return Ok(());
    }
    match st.get(res::NAMESPACES, "", ns) {
        None => Err(ApiError::NotFound {
            resource: "namespaces".into(),
            name: ns.to_string(),
        }),
        Some(n) if str_at(n, &["status", "phase"]) == Some("Terminating") => {
            Err(ApiError::Forbidden(format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// `propagationPolicy` of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Propagation {
    /// Delete dependents too (the default for the types served here).
    Background,
    /// Dependents first, then the owner (same end state here).
    Foreground,
    /// Leave dependents, removing their owner references.
    Orphan,
}

impl Propagation {
    /// Parses the query value (absent = Background).
    pub fn parse(v: Option<&str>) -> Result<Propagation, ApiError> {
        match v {
            None | Some("") | Some("Background") => Ok(Propagation::Background),
            Some("Foreground") => Ok(Propagation::Foreground),
            Some("Orphan") => Ok(Propagation::Orphan),
            Some(o) => Err(ApiError::BadRequest(format!(
                "propagationPolicy {o:?} is not supported: accepted values are Background, Foreground, Orphan"
            ))),
        }
    }
}

/// Deletes one object and handles its dependents; returns the deleted object. Namespaces only
/// become `Terminating` here; [`reap_namespaces`] removes them with their content.
pub(super) fn delete(
    st: &mut State,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    policy: Propagation,
) -> Option<Value> {
    if def.kind == "Namespace" {
        let mut obj = st.get(res::NAMESPACES, "", name)?.clone();
        if str_at(&obj, &["status", "phase"]) != Some("Terminating") {
            meta::set_at(
                &mut obj,
                &["metadata", "deletionTimestamp"],
                json!(meta::now_rfc3339()),
            );
            meta::set_at(&mut obj, &["status", "phase"], json!("Terminating"));
            obj = st.replace(res::NAMESPACES, obj).0;
        }
        return Some(obj);
    }
    let uid = meta::uid(st.get(def.plural, ns, name)?).to_string();
    let gone = st.delete(def.plural, ns, name)?;
    cascade(st, ns, &uid, policy, 0);
    Some(gone)
}

fn cascade(st: &mut State, ns: &str, owner_uid: &str, policy: Propagation, depth: u32) {
    if depth > 8 {
        return;
    }
    for d in RESOURCES.iter().filter(|d| d.namespaced) {
        let dependents: Vec<Value> = st
            .list(d.plural, Some(ns))
            .into_iter()
            .filter(|o| meta::owned_by(o, owner_uid))
            .cloned()
            .collect();
        for mut dep in dependents {
            let (dep_name, dep_uid) = (meta::name(&dep).to_string(), meta::uid(&dep).to_string());
            if policy == Propagation::Orphan {
                if let Some(refs) = dep
                    .get_mut("metadata")
                    .and_then(|m| m.get_mut("ownerReferences"))
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid));
                }
                st.replace(d.plural, dep);
            } else {
                st.delete(d.plural, ns, &dep_name);
                cascade(st, ns, &dep_uid, policy, depth + 1);
            }
        }
    }
}

/// Removes terminating namespaces with everything in them (one controller tick).
pub(super) fn reap_namespaces(st: &mut State) {
    let terminating: Vec<String> = st
        .list(res::NAMESPACES, None)
        .into_iter()
        .filter(|n| str_at(n, &["status", "phase"]) == Some("Terminating"))
        .map(|n| meta::name(n).to_string())
        .collect();
    for ns in terminating {
        for d in RESOURCES.iter().filter(|d| d.namespaced) {
            let names: Vec<String> = st
                .list(d.plural, Some(&ns))
                .into_iter()
                .map(|o| meta::name(o).to_string())
                .collect();
            for n in names {
                st.delete(d.plural, &ns, &n);
            }
        }
        st.delete(res::NAMESPACES, "", &ns);
    }
}
