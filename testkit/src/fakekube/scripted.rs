//! Objects for a scripted cluster (`FakeOptions::controllers` off), written with
//! `FakeKube::put` exactly as the kubelet would leave them.

use serde_json::{Value, json};

/// A pod of labkube's release `release` in `ns`, bound to `fake-node-0`, whose only container
/// crash-loops as the kubelet shows it: waiting in `CrashLoopBackOff` after `restarts`
/// restarts, the last one exiting with `code` and `reason` (`137`, `OOMKilled`).
pub fn crash_looping_pod(
    ns: &str,
    name: &str,
    release: &str,
    restarts: u32,
    code: i32,
    reason: &str,
) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": ns,
            "labels": { "app.kubernetes.io/managed-by": "labkube", "app.kubernetes.io/instance": release } },
        "spec": { "nodeName": "fake-node-0", "containers": [{ "name": "main", "image": "quay.io/fiware/x:1" }] },
        "status": {
            "phase": "Running",
            "conditions": [{ "type": "Ready", "status": "False" }],
            "containerStatuses": [{
                "name": "main", "image": "quay.io/fiware/x:1", "imageID": "", "ready": false,
                "restartCount": restarts,
                "state": { "waiting": { "reason": "CrashLoopBackOff",
                    "message": format!("back-off 40s restarting failed container=main pod={name}") } },
                "lastState": { "terminated": { "exitCode": code, "reason": reason } },
            }],
        },
    })
}
