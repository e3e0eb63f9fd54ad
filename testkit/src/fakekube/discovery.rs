//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/apps/v1`, `/version`) shaped like the real ones.

use super::resources::RESOURCES;
use serde_json::{Value, json};

/// The discovery document for a path, if it is one.
pub(super) fn document(path: &str, addr: &str) -> Option<Value> {
    let doc = match path {
        "/version" => json!({
            "major": "1", "minor": "33", "emulationMajor": "1", "emulationMinor": "33",
            "minCompatibilityMajor": "1", "minCompatibilityMinor": "32",
            "gitVersion": "v1.33.1", "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
            "gitTreeState": "clean", "buildDate": "2025-05-15T08:19:08Z",
            "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64"
        }),
        "/api" => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": addr }]
        }),
        "/apis" => json!({
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{
                "name": "apps",
                "versions": [{ "groupVersion": "apps/v1", "version": "v1" }],
                "preferredVersion": { "groupVersion": "apps/v1", "version": "v1" }
            }]
        }),
        "/apis/apps" => json!({
            "kind": "APIGroup", "apiVersion": "v1", "name": "apps",
            "versions": [{ "groupVersion": "apps/v1", "version": "v1" }],
            "preferredVersion": { "groupVersion": "apps/v1", "version": "v1" }
        }),
        "/api/v1" => resource_list(""),
        "/apis/apps/v1" => resource_list("apps"),
        _ => return None,
    };
    Some(doc)
}

fn resource_list(group: &str) -> Value {
    let mut resources = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        resources.push(json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "shortNames": r.short_names, "storageVersionHash": "",
        }));
        if r.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    json!({
        "kind": "APIResourceList", "apiVersion": "v1",
        "groupVersion": if group.is_empty() { "v1".to_string() } else { format!("{group}/v1") },
        "resources": resources,
    })
}
