//! Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>` and `/apis/<group>/<version>`
//! for every group served, `/version`) shaped like the real ones.

use super::resources::{RESOURCES, groups};
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
            "groups": groups().iter().map(|r| group(r.group, r.version)).collect::<Vec<_>>()
        }),
        "/api/v1" => resource_list("", "v1"),
        _ => {
            let rest = path.strip_prefix("/apis/")?;
            let r = groups()
                .into_iter()
                .find(|r| rest == r.group || rest == format!("{}/{}", r.group, r.version))?;
            if rest == r.group {
                with_kind(group(r.group, r.version))
            } else {
                resource_list(r.group, r.version)
            }
        }
    };
    Some(doc)
}

/// An `APIGroup` entry (as `/apis` lists it) for a group served at one version.
fn group(name: &str, version: &str) -> Value {
    let v = json!({ "groupVersion": format!("{name}/{version}"), "version": version });
    json!({ "name": name, "versions": [v.clone()], "preferredVersion": v })
}

/// The group document `/apis/<group>` serves: the entry with its kind.
fn with_kind(mut group: Value) -> Value {
    group["kind"] = json!("APIGroup");
    group["apiVersion"] = json!("v1");
    group
}

fn resource_list(group: &str, version: &str) -> Value {
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
        "groupVersion": if group.is_empty() { version.to_string() } else { format!("{group}/{version}") },
        "resources": resources,
    })
}
