//! JSON merging: RFC 7386 merge patch, the apply merge, and field paths for managedFields.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A field path (map keys from the root).
pub(super) type FieldPath = Vec<String>;

/// RFC 7386 JSON merge patch: maps merge recursively, `null` deletes, everything else replaces.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The apply merge: maps merge recursively, lists and scalars from `config` replace the live value.
///
/// Simplification: real server-side apply merges lists marked `listType=map` (containers, ports,
/// env, ...) by key, per field manager. With one manager owning the whole list, replacing the
/// list gives the same result, which is the case labkube produces.
pub(super) fn apply_merge(live: &mut Value, config: &Value) {
    match config {
        Value::Object(c) => {
            if !live.is_object() {
                *live = Value::Object(Map::new());
            }
            if let Value::Object(l) = live {
                for (k, v) in c {
                    if v.is_null() {
                        l.remove(k);
                    } else {
                        apply_merge(l.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *live = other.clone(),
    }
}

/// Leaf field paths set by `v`: map keys recursively, lists and scalars (and empty maps) are leaves.
/// Identity fields (`apiVersion`, `kind`, `metadata.name`, `metadata.namespace`) and system
/// metadata are not fields anyone manages, as on the real server; neither is `status`.
pub(super) fn leaf_paths(v: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    prefix.push(k.clone());
                    walk(x, prefix, out);
                    prefix.pop();
                }
            }
            _ => {
                out.insert(prefix.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out.retain(|p| !unmanaged(p));
    out
}

fn unmanaged(p: &FieldPath) -> bool {
    let s: Vec<&str> = p.iter().map(String::as_str).collect();
    matches!(
        s.as_slice(),
        ["apiVersion"]
            | ["kind"]
            | ["status", ..]
            | [
                "metadata",
                "name" | "namespace" | "uid" | "resourceVersion" | "generation"
            ]
            | [
                "metadata",
                "creationTimestamp" | "managedFields" | "selfLink" | "deletionTimestamp"
            ]
    )
}

/// `fieldsV1` for a set of paths (`{"f:spec":{"f:replicas":{}}}`).
pub(super) fn to_fields_v1(paths: &BTreeSet<FieldPath>) -> Value {
    let mut root = Value::Object(Map::new());
    for p in paths {
        let mut cur = &mut root;
        for k in p {
            let Value::Object(m) = cur else { break };
            cur = m
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
}

/// The leaf paths recorded in a `fieldsV1` value.
pub(super) fn from_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        let Some(m) = v.as_object() else { return };
        let keys: Vec<(&String, &Value)> = m.iter().filter(|(k, _)| k.starts_with("f:")).collect();
        if keys.is_empty() && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        for (k, x) in keys {
            prefix.push(k.trim_start_matches("f:").to_string());
            walk(x, prefix, out);
            prefix.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// Whether one path is a prefix of the other (they address overlapping data).
pub(super) fn overlaps(a: &FieldPath, b: &FieldPath) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// The value at a path.
pub(super) fn value_at<'a>(v: &'a Value, p: &FieldPath) -> Option<&'a Value> {
    p.iter().try_fold(v, |cur, k| cur.get(k))
}

/// Removes the value at a path, then prunes maps left empty on the way up.
pub(super) fn remove_path(v: &mut Value, p: &[String]) {
    let Some((first, rest)) = p.split_first() else {
        return;
    };
    let Some(m) = v.as_object_mut() else { return };
    if rest.is_empty() {
        m.remove(first);
        return;
    }
    if let Some(child) = m.get_mut(first) {
        remove_path(child, rest);
        if child.as_object().is_some_and(Map::is_empty) {
            m.remove(first);
        }
    }
}
