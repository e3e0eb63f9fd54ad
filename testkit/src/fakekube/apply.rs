//! Server-side apply and `metadata.managedFields` bookkeeping.
//!
//! Ownership is tracked per field manager as a set of leaf field paths (lists are atomic leaves,
//! see [`merge::apply_merge`]). Applying detects conflicts with fields other managers own and set
//! to a different value (409 unless `force`), removes fields the manager applied before but no
//! longer applies (when nobody else owns them), and merges the configuration into the live object.

use super::defaults;
use super::errors::ApiError;
use super::merge::{self, FieldPath};
use super::meta::{self, str_at};
use super::resources::ResourceDef;
use super::store::State;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the fields were written with.
    pub api_version: String,
    /// Last change time.
    pub time: String,
    /// Owned leaf paths.
    pub paths: BTreeSet<FieldPath>,
}

/// Reads the entries of an object.
pub(super) fn entries(obj: &Value) -> Vec<Entry> {
    meta::at(obj, &["metadata", "managedFields"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: str_at(e, &["manager"]).unwrap_or_default().to_string(),
                    operation: str_at(e, &["operation"]).unwrap_or_default().to_string(),
                    api_version: str_at(e, &["apiVersion"]).unwrap_or_default().to_string(),
                    time: str_at(e, &["time"]).unwrap_or_default().to_string(),
                    paths: e
                        .get("fieldsV1")
                        .map(merge::from_fields_v1)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes entries back (entries owning nothing are dropped, as on the real server).
pub(super) fn set_entries(obj: &mut Value, list: &[Entry]) {
    let arr: Vec<Value> = list
        .iter()
        .filter(|e| !e.paths.is_empty())
        .map(|e| {
            json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": merge::to_fields_v1(&e.paths),
            })
        })
        .collect();
    if arr.is_empty() {
        meta::remove_at(obj, &["metadata", "managedFields"]);
    } else {
        meta::set_at(obj, &["metadata", "managedFields"], Value::Array(arr));
    }
}

/// Records an Update-operation write by `manager` of `paths`: the manager gains them, other
/// managers lose those whose value changed (updates never conflict).
pub(super) fn record_update(
    new: &mut Value,
    old: Option<&Value>,
    manager: &str,
    api_version: &str,
    paths: BTreeSet<FieldPath>,
) {
    let mut list = old.map(entries).unwrap_or_default();
    let changed =
        |p: &FieldPath| old.and_then(|o| merge::value_at(o, p)) != merge::value_at(new, p);
    for e in list
        .iter_mut()
        .filter(|e| !(e.manager == manager && e.operation == "Update"))
    {
        e.paths
            .retain(|p| !paths.iter().any(|q| merge::overlaps(p, q) && changed(p)));
    }
    match list
        .iter_mut()
        .find(|e| e.manager == manager && e.operation == "Update")
    {
        Some(e) => {
            e.paths.extend(paths);
            e.time = meta::now_rfc3339();
        }
        None => list.push(Entry {
            manager: manager.to_string(),
            operation: "Update".into(),
            api_version: api_version.to_string(),
            time: meta::now_rfc3339(),
            paths,
        }),
    }
    set_entries(new, &list);
}

/// Result of a write.
#[derive(Debug)]
pub(super) struct Outcome {
    /// The object as stored (or as it would be, for dry runs).
    pub obj: Value,
    /// Whether the write created the object.
    pub created: bool,
    /// Whether anything changed.
    pub changed: bool,
}

/// Checks identity fields of a body against the request path; fills in the namespace.
pub(super) fn check_identity(
    def: &ResourceDef,
    body: &mut Value,
    ns: &str,
    name: Option<&str>,
) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON/YAML object".into(),
        ));
    }
    let api_version = str_at(body, &["apiVersion"]).unwrap_or_default();
    let kind = str_at(body, &["kind"]).unwrap_or_default();
    if api_version != def.api_version() || kind != def.kind {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({api_version}) and kind ({kind}) do not match the resource on the URL ({} {})",
            def.api_version(),
            def.kind
        )));
    }
    if let Some(url_name) = name {
        match str_at(body, &["metadata", "name"]) {
            Some(n) if n != url_name => {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({n}) does not match the name on the URL ({url_name})"
                )));
            }
            Some(_) => {}
            None => meta::set_at(body, &["metadata", "name"], json!(url_name)),
        }
    }
    if def.namespaced {
        match str_at(body, &["metadata", "namespace"]) {
            Some(n) if n != ns => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            _ => meta::set_at(body, &["metadata", "namespace"], json!(ns)),
        }
    }
    Ok(())
}

/// Parameters of one apply request.
#[derive(Debug)]
pub(super) struct ApplyParams<'a> {
    /// `fieldManager`.
    pub manager: &'a str,
    /// `force=true`: take over conflicting fields.
    pub force: bool,
    /// `dryRun=All`: compute, do not store.
    pub dry_run: bool,
}

/// Server-side apply of `config` to `def`/`ns`/`name`.
pub(super) fn apply(
    st: &mut State,
    def: &'static ResourceDef,
    (ns, name): (&str, &str),
    mut config: Value,
    p: &ApplyParams<'_>,
) -> Result<Outcome, ApiError> {
    let (manager, force, dry_run) = (p.manager, p.force, p.dry_run);
    check_identity(def, &mut config, ns, Some(name))?;
    if def.status_subresource {
        meta::remove_at(&mut config, &["status"]);
    }
    for f in [
        "managedFields",
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "generation",
    ] {
        meta::remove_at(&mut config, &["metadata", f]);
    }
    let config_paths = merge::leaf_paths(&config);
    let mine = |e: &Entry| e.manager == manager && e.operation == "Apply";
    let Some(live) = st.get(def.plural, ns, name).cloned() else {
        super::gc::check_namespace(st, def, ns)?;
        let mut obj = config;
        defaults::prepare(st, def, &mut obj, None)?;
        set_entries(&mut obj, &[new_entry(manager, def, config_paths)]);
        let obj = if dry_run {
            obj
        } else {
            st.insert(def.plural, obj)
        };
        return Ok(Outcome {
            obj,
            created: true,
            changed: true,
        });
    };
    let mut list = entries(&live);
    // Conflicts with fields other managers own and that this configuration sets differently.
    let mut conflicts = Vec::new();
    // (manager, path) of each conflicting field: what `force` takes from its manager. A field
    // set to the value it has is shared, force or not (structured-merge-diff, merge/update.go:
    // only conflicts are removed from other managers).
    let mut taken: Vec<(String, FieldPath)> = Vec::new();
    for e in list.iter().filter(|e| !mine(e)) {
        for p in &e.paths {
            for c in config_paths.iter().filter(|c| merge::overlaps(p, c)) {
                let shorter = if p.len() <= c.len() { p } else { c };
                if merge::value_at(&live, shorter) != merge::value_at(&config, shorter) {
                    conflicts.push((format!(".{}", p.join(".")), e.manager.clone()));
                    taken.push((e.manager.clone(), p.clone()));
                }
            }
        }
    }
    conflicts.sort();
    conflicts.dedup();
    if !conflicts.is_empty() && !force {
        let n = conflicts.len();
        let lines: Vec<String> = conflicts
            .iter()
            .map(|(f, m)| format!("conflict with \"{m}\" using {}: {f}", def.api_version()))
            .collect();
        return Err(ApiError::Conflict {
            message: format!(
                "Apply failed with {n} conflict{}: {}",
                if n == 1 { "" } else { "s" },
                lines.join("\n")
            ),
            causes: conflicts
                .iter()
                .map(|(f, m)| (f.clone(), format!("conflict with \"{m}\"")))
                .collect(),
        });
    }
    if force {
        for e in list.iter_mut().filter(|e| !mine(e)) {
            let manager = e.manager.clone();
            e.paths
                .retain(|p| !taken.iter().any(|(m, q)| *m == manager && q == p));
        }
    }
    // Fields this manager applied before and no longer applies, owned by nobody else, go away.
    let previous: BTreeSet<FieldPath> = list
        .iter()
        .filter(|e| mine(e))
        .flat_map(|e| e.paths.clone())
        .collect();
    let mut merged = live.clone();
    for p in &previous {
        let still_applied = config_paths.iter().any(|c| merge::overlaps(p, c));
        let others = list
            .iter()
            .filter(|e| !mine(e))
            .any(|e| e.paths.iter().any(|q| merge::overlaps(p, q)));
        if !still_applied && !others {
            merge::remove_path(&mut merged, p);
        }
    }
    merge::apply_merge(&mut merged, &config);
    defaults::prepare(st, def, &mut merged, Some(&live))?;
    let old_entries = entries(&live);
    match list.iter_mut().find(|e| mine(e)) {
        Some(e) if e.paths == config_paths => {}
        Some(e) => {
            e.paths = config_paths;
            e.time = meta::now_rfc3339();
        }
        None => list.push(new_entry(manager, def, config_paths)),
    }
    set_entries(&mut merged, &list);
    let mut bare_new = merged.clone();
    let mut bare_old = live.clone();
    meta::remove_at(&mut bare_new, &["metadata", "managedFields"]);
    meta::remove_at(&mut bare_old, &["metadata", "managedFields"]);
    if bare_new == bare_old && entries(&merged) == old_entries {
        return Ok(Outcome {
            obj: live,
            created: false,
            changed: false,
        });
    }
    if dry_run {
        return Ok(Outcome {
            obj: merged,
            created: false,
            changed: false,
        });
    }
    let (obj, changed) = st.replace(def.plural, merged);
    Ok(Outcome {
        obj,
        created: false,
        changed,
    })
}

fn new_entry(manager: &str, def: &ResourceDef, paths: BTreeSet<FieldPath>) -> Entry {
    Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: def.api_version().to_string(),
        time: meta::now_rfc3339(),
        paths,
    }
}
