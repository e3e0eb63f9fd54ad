//! The resource quota controller (`pkg/controller/resourcequota/resource_quota_controller.go`,
//! `syncResourceQuota`): every ResourceQuota's `status.hard` is its `spec.hard` and
//! `status.used` what the namespace uses of each of those resources, quantities printed as the
//! API prints them (`0`, `500m`, `256Mi`). A resource the fake does not measure keeps the used
//! value it had, as the real controller keeps a previous observation it cannot renew.

use super::super::meta::at;
use super::super::quantity::Quantity;
use super::super::quota;
use super::super::store::State;
use super::set_status_if_changed;
use serde_json::{Map, Value, json};

/// One round over every ResourceQuota.
pub(super) fn sync_all(st: &mut State) {
    for q in st.list_owned("resourcequotas", None) {
        let (ns, name) = super::ns_name(&q);
        let previous = at(&q, &["status", "used"]).and_then(Value::as_object);
        let (mut hard, mut used) = (Map::new(), Map::new());
        for (key, value) in at(&q, &["spec", "hard"])
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let shown = value
                .as_str()
                .and_then(Quantity::parse)
                .map_or_else(|| value.clone(), |q| json!(q.to_string()));
            hard.insert(key.clone(), shown);
            match quota::used(st, &q, &ns, key) {
                Some(u) => {
                    used.insert(key.clone(), json!(u.to_string()));
                }
                None => {
                    if let Some(p) = previous.and_then(|p| p.get(key)) {
                        used.insert(key.clone(), p.clone());
                    }
                }
            }
        }
        // Empty lists are left out (`omitempty`).
        let mut status = Map::new();
        for (k, v) in [("hard", hard), ("used", used)] {
            if !v.is_empty() {
                status.insert(k.into(), Value::Object(v));
            }
        }
        set_status_if_changed(st, "resourcequotas", &ns, &name, Value::Object(status));
    }
}
