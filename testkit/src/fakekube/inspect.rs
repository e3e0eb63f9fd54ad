//! Test-facing reads of the stored objects: one or all of a kind, a pod by name, and what the
//! controllers said about an object: its events and status conditions (what `kubectl
//! describe` shows under Events and Conditions).

use super::handle::FakeKube;
use super::meta::{self, str_at};
use super::resources;
use serde_json::Value;

impl FakeKube {
    /// One stored object (`ns` is ignored for cluster-scoped kinds), as the API would return it.
    pub fn object(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let def = resources::by_kind(kind).filter(|d| d.api_version() == api_version)?;
        let ns = if def.namespaced {
            ns.unwrap_or("default")
        } else {
            ""
        };
        self.shared.with(|st| st.get(def.plural, ns, name).cloned())
    }

    /// All stored objects of a kind, in one namespace or (`None`) all of them.
    pub fn objects(&self, kind: &str, ns: Option<&str>) -> Vec<Value> {
        let Some(def) = resources::by_kind(kind) else {
            return Vec::new();
        };
        self.shared
            .with(|st| st.list_owned(def.plural, if def.namespaced { ns } else { None }))
    }

    /// The first pod (in `ns`, or any namespace) whose name starts with `prefix`: its
    /// namespace, name and first container's name.
    pub fn pod_named(&self, ns: Option<&str>, prefix: &str) -> Option<(String, String, String)> {
        let pod = self
            .objects("Pod", ns)
            .into_iter()
            .find(|p| meta::name(p).starts_with(prefix))?;
        let field = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Some((
            field(&pod["metadata"]["namespace"]),
            field(&pod["metadata"]["name"]),
            field(&pod["spec"]["containers"][0]["name"]),
        ))
    }

    /// Names of the stored objects of a kind in a namespace, sorted.
    pub fn names(&self, kind: &str, ns: Option<&str>) -> Vec<String> {
        self.objects(kind, ns)
            .iter()
            .map(|o| meta::name(o).to_string())
            .collect()
    }

    /// The events about the object of `kind` named `name` in `ns` (`default` for
    /// cluster-scoped objects), in the order they were first recorded.
    pub fn events_about(&self, kind: &str, ns: &str, name: &str) -> Vec<Value> {
        // Event names end in a counter, so the store's name order is the recording order.
        self.objects("Event", Some(ns))
            .into_iter()
            .filter(|e| {
                str_at(e, &["involvedObject", "kind"]) == Some(kind)
                    && str_at(e, &["involvedObject", "name"]) == Some(name)
            })
            .collect()
    }

    /// The status condition of type `condition` of a stored object (`ReplicaFailure` of a
    /// Deployment, say), as the API returns it.
    pub fn condition(
        &self,
        api_version: &str,
        kind: &str,
        ns: Option<&str>,
        name: &str,
        condition: &str,
    ) -> Option<Value> {
        let obj = self.object(api_version, kind, ns, name)?;
        meta::at(&obj, &["status", "conditions"])?
            .as_array()?
            .iter()
            .find(|c| str_at(c, &["type"]) == Some(condition))
            .cloned()
    }
}
