//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/apps/v1`, `/apis/storage.k8s.io/v1`,
//! `/version`) shaped like the real ones.

use super::resources::RESOURCES;
use serde_json::{Value, json};

/// The discovery document for a path, if it is one.
pub(super) fn document(path: &str, addr: &str) -> Option<Value> {
    let doc = match path {
        "/version" => json!({
            // A kubeadm 1.35.0 API server's answer, as `curl -k https://localhost:6443/version` prints it.
            "major": "1", "minor": "35", "emulationMajor": "1", "emulationMinor": "35",
            "minCompatibilityMajor": "1", "minCompatibilityMinor": "34",
            "gitVersion": "v1.35.0", "gitCommit": "66452049f3d692768c39c797b21b793dce80314e",
            "gitTreeState": "clean", "buildDate": "2025-12-17T12:32:07Z",
            "goVersion": "go1.25.5", "compiler": "gc", "platform": "linux/amd64"
        }),
        "/api" => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": addr }]
        }),
        "/apis" => json!({
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [group("apps"), group("storage.k8s.io")]
        }),
        "/apis/apps" => with_kind(group("apps")),
        "/apis/storage.k8s.io" => with_kind(group("storage.k8s.io")),
        "/api/v1" => resource_list(""),
        "/apis/apps/v1" => resource_list("apps"),
        "/apis/storage.k8s.io/v1" => resource_list("storage.k8s.io"),
        _ => return None,
    };
    Some(doc)
}

/// An `APIGroup` entry (as `/apis` lists it) for a group served at v1.
fn group(name: &str) -> Value {
    let v1 = json!({ "groupVersion": format!("{name}/v1"), "version": "v1" });
    json!({ "name": name, "versions": [v1.clone()], "preferredVersion": v1 })
}

/// The group document `/apis/<group>` serves: the entry with its kind.
fn with_kind(mut group: Value) -> Value {
    group["kind"] = json!("APIGroup");
    group["apiVersion"] = json!("v1");
    group
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
