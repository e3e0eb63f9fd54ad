//! Small helpers on JSON objects: metadata access, timestamps, hashes, names, base64.

use serde_json::{Map, Value};

/// The current time as Kubernetes writes it (`2025-01-02T03:04:05Z`).
pub(super) fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The value at a dotted path of keys (`["spec", "replicas"]`).
pub(super) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(*k))
}

/// String at a path.
pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

/// Integer at a path.
pub(super) fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    at(v, path).and_then(Value::as_i64)
}

/// Runs `f` on the map at a path, creating empty maps on the way (non-map values are replaced).
pub(super) fn with_map<R>(
    v: &mut Value,
    path: &[&str],
    f: impl FnOnce(&mut Map<String, Value>) -> R,
) -> R {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match (v, path.split_first()) {
        (Value::Object(m), None) => f(m),
        (Value::Object(m), Some((k, rest))) => {
            with_map(m.entry(k.to_string()).or_insert(Value::Null), rest, f)
        }
        // Unreachable: `v` was made an object above; a scratch map keeps this total.
        (_, _) => f(&mut Map::new()),
    }
}

/// Sets the value at a path (creating parent maps).
pub(super) fn set_at(v: &mut Value, path: &[&str], value: Value) {
    match path.split_first() {
        None => *v = value,
        Some((k, rest)) => {
            if !v.is_object() {
                *v = Value::Object(Map::new());
            }
            if let Value::Object(m) = v {
                set_at(m.entry(k.to_string()).or_insert(Value::Null), rest, value);
            }
        }
    }
}

/// Removes the value at a path, returning it.
pub(super) fn remove_at(v: &mut Value, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = v;
    for k in parents {
        cur = cur.get_mut(*k)?;
    }
    cur.as_object_mut()?.remove(*last)
}

/// `metadata.name`.
pub(super) fn name(v: &Value) -> &str {
    str_at(v, &["metadata", "name"]).unwrap_or_default()
}

/// `metadata.uid`.
pub(super) fn uid(v: &Value) -> &str {
    str_at(v, &["metadata", "uid"]).unwrap_or_default()
}

/// `metadata.labels` as string pairs.
pub(super) fn labels(v: &Value) -> Vec<(String, String)> {
    at(v, &["metadata", "labels"])
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether any owner reference of `v` points at `owner_uid`.
pub(super) fn owned_by(v: &Value, owner_uid: &str) -> bool {
    owner_uids(v).iter().any(|u| u == owner_uid)
}

/// The uids of `v`'s owner references.
pub(super) fn owner_uids(v: &Value) -> Vec<String> {
    at(v, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A controller owner reference to `owner`.
pub(super) fn controller_ref(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": str_at(owner, &["apiVersion"]).unwrap_or_default(),
        "kind": str_at(owner, &["kind"]).unwrap_or_default(),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Serialises with object keys sorted at every level, whatever map order serde_json uses.
pub(super) fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push(':');
                    if let Some(x) = m.get(*k) {
                        write(x, out);
                    }
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// FNV-1a 32-bit hash.
pub(super) fn fnv32a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The alphabet Kubernetes uses for generated names and hashes (no vowels, no ambiguous chars).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.SafeEncodeString(fmt.Sprint(n))` as the deployment controller does for pod-template-hash.
pub(super) fn safe_encode(n: u32) -> String {
    n.to_string()
        .bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// The pod-template hash of a template (canonical JSON, FNV-1a, safe-encoded).
pub(super) fn template_hash(template: &Value) -> String {
    safe_encode(fnv32a(canonical_json(template).as_bytes()))
}

/// A deterministic 5-character suffix for generated names, from a counter.
pub(super) fn name_suffix(counter: u64) -> String {
    let mut x = counter.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5555_5555;
    (0..5)
        .map(|_| {
            let c = SAFE_ALPHABET[(x % SAFE_ALPHABET.len() as u64) as usize];
            x /= SAFE_ALPHABET.len() as u64;
            char::from(c)
        })
        .collect()
}

/// A UUID-shaped unique id from a counter.
pub(super) fn make_uid(counter: u64) -> String {
    let h = fnv32a(&counter.to_le_bytes());
    format!(
        "{h:08x}-{:04x}-4{:03x}-8{:03x}-{counter:012x}",
        counter & 0xffff,
        h & 0xfff,
        (h >> 12) & 0xfff
    )
}

/// Standard base64 (with padding), as Secret `data` uses.
pub(super) fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The tag of an image reference (`repo/x:1.2@sha256:..` → `1.2`), empty when untagged.
pub(super) fn image_tag(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split_once(':').map(|(_, t)| t).unwrap_or("")
}
