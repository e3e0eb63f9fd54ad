//! Pods in each state, built from JSON.

use super::*;
use serde_json::{Value, json};

fn pod(name: &str, labels: Value, owner: (&str, &str), status: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": name, "labels": labels, "creationTimestamp": "2025-01-01T00:00:00Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner.0, "name": owner.1, "uid": "u1", "controller": true}],
        },
        "spec": {"containers": [{"name": "orion"}, {"name": "sidecar"}]},
        "status": status,
    }))
    .unwrap()
}

fn waiting(reason: &str, message: &str, restarts: i32, last: Value) -> Value {
    json!({"phase": "Pending", "containerStatuses": [
        {"name": "sidecar", "ready": true, "restartCount": 0, "image": "s", "imageID": "", "state": {"running": {}}},
        {"name": "orion", "ready": false, "restartCount": restarts, "image": "i", "imageID": "",
         "state": {"waiting": {"reason": reason, "message": message}}, "lastState": last},
    ]})
}

fn running_ready() -> Value {
    json!({"phase": "Running", "containerStatuses": [
        {"name": "orion", "ready": true, "restartCount": 1, "image": "i", "imageID": "", "state": {"running": {}}},
        {"name": "sidecar", "ready": true, "restartCount": 2, "image": "s", "imageID": "", "state": {"running": {}}},
    ]})
}

fn now() -> Timestamp {
    "2025-01-01T00:02:05Z".parse().unwrap()
}

/// Expected `(reason, message, restarts)` of the problem, if any.
type Expected = Option<(&'static str, &'static str, u32)>;

#[test]
fn problem_detection_per_state() {
    let owner = ("ReplicaSet", "orion-7d9c");
    let long = "x".repeat(300);
    let oom = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}});
    let cases: Vec<(&str, Value, Expected)> = vec![
        ("running ready", running_ready(), None),
        (
            "image pull backoff",
            waiting(
                "ImagePullBackOff",
                "Back-off pulling image \"quay.io/fiware/orion:broken\"",
                0,
                json!({}),
            ),
            Some((
                "ImagePullBackOff",
                "Back-off pulling image \"quay.io/fiware/orion:broken\"",
                0,
            )),
        ),
        (
            "err image pull",
            waiting("ErrImagePull", "not found", 0, json!({})),
            Some(("ErrImagePull", "not found", 0)),
        ),
        (
            "crash loop with OOMKilled",
            waiting(
                "CrashLoopBackOff",
                "back-off 40s restarting failed container",
                3,
                oom.clone(),
            ),
            Some((
                "CrashLoopBackOff",
                "back-off 40s restarting failed container; last exit: OOMKilled (exit code 137)",
                3,
            )),
        ),
        (
            "crash loop without message",
            waiting(
                "CrashLoopBackOff",
                "",
                2,
                json!({"terminated": {"exitCode": 1, "reason": "Error"}}),
            ),
            Some(("CrashLoopBackOff", "last exit: Error (exit code 1)", 2)),
        ),
        (
            "config error",
            waiting(
                "CreateContainerConfigError",
                "secret \"db\" not found",
                0,
                json!({}),
            ),
            Some(("CreateContainerConfigError", "secret \"db\" not found", 0)),
        ),
        (
            "invalid image",
            waiting("InvalidImageName", "bad", 0, json!({})),
            Some(("InvalidImageName", "bad", 0)),
        ),
        (
            "container creating is fine",
            waiting("ContainerCreating", "", 0, json!({})),
            None,
        ),
        ("no status", json!(null), None),
    ];
    for (name, status, want) in cases {
        let got = pod_problem(&pod("orion-7d9c-x2", json!({}), owner, status));
        match (got, want) {
            (None, None) => {}
            (Some(p), Some((reason, message, restarts))) => {
                assert_eq!(
                    (p.reason.as_str(), p.message.as_str(), p.restarts),
                    (reason, message, restarts),
                    "{name}"
                );
                assert_eq!(
                    (p.pod.as_str(), p.container.as_str()),
                    ("orion-7d9c-x2", "orion"),
                    "{name}"
                );
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
    let p = pod_problem(&pod(
        "p",
        json!({}),
        owner,
        waiting("ErrImagePull", &long, 0, json!({})),
    ))
    .unwrap();
    assert_eq!(p.message.chars().count(), 201, "200 chars plus an ellipsis");
}

/// A pod kube-scheduler could not place, as the API server returns it (the message is the
/// scheduler's FitError wording, `pkg/scheduler/framework/types.go`).
fn unschedulable(message: &str) -> Value {
    json!({"phase": "Pending", "qosClass": "Burstable", "conditions": [
        {"type": "PodScheduled", "status": "False", "lastProbeTime": null,
         "lastTransitionTime": "2025-01-01T00:00:01Z", "reason": "Unschedulable", "message": message}]})
}

#[test]
fn a_pod_no_node_fits_is_a_problem_with_the_schedulers_words() {
    let owner = ("StatefulSet", "mongodb");
    let cases = [
        (
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
        ),
        (
            // 1.36 puts a note of dynamic resource allocation before the preemption part.
            "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
            "0/1 nodes are available: 1 Insufficient cpu.",
        ),
        (
            "0/2 nodes are available: 2 node(s) had untolerated taint {example.com/dedicated: db}.",
            "0/2 nodes are available: 2 node(s) had untolerated taint {example.com/dedicated: db}.",
        ),
        (
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
            "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
        ),
        (
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.",
        ),
    ];
    for (full, shown) in cases {
        let p = pod_problem(&pod("mongodb-0", json!({}), owner, unschedulable(full))).unwrap();
        assert_eq!(
            (p.reason.as_str(), p.message.as_str(), p.container.as_str()),
            (UNSCHEDULABLE, shown, "")
        );
    }
    // Scheduled, or not yet looked at by the scheduler: not a problem.
    let scheduled = json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null,
         "lastTransitionTime": "2025-01-01T00:00:01Z"}]});
    assert_eq!(pod_problem(&pod("p", json!({}), owner, scheduled)), None);
    let fresh = json!({"phase": "Pending"});
    assert_eq!(pod_problem(&pod("p", json!({}), owner, fresh)), None);
}

#[test]
fn init_container_problem_is_found() {
    let status = json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "wait-db", "ready": false, "restartCount": 4, "image": "i", "imageID": "",
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]});
    let p = pod_problem(&pod("p", json!({}), ("StatefulSet", "db"), status)).unwrap();
    assert_eq!((p.container.as_str(), p.restarts), ("wait-db", 4));
}

fn rs(name: &str, hash: &str, revision: &str, owner: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"pod-template-hash": hash},
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner, "uid": "d1", "controller": true}]},
        "spec": {"selector": {}},
    }))
    .unwrap()
}

/// The `pod-template-hash` of the newest ReplicaSet of `deploy`.
fn template_hash(deploy: &Deployment, replicasets: &[ReplicaSet]) -> Option<String> {
    deployment_revision(deploy, replicasets)
        .and_then(|r| r.label)
        .map(|(_, hash)| hash)
}

#[test]
fn newest_replicaset_by_numeric_revision() {
    let d: Deployment = serde_json::from_value(json!({"metadata": {"name": "orion", "uid": "d1"}, "spec": {"selector": {}, "template": {}}})).unwrap();
    let sets = vec![
        rs("orion-aaa", "aaa", "9", "orion"),
        rs("orion-bbb", "bbb", "10", "orion"),
        rs("other-ccc", "ccc", "99", "other"),
    ];
    assert_eq!(
        template_hash(&d, &sets).as_deref(),
        Some("bbb"),
        "10 > 9 numerically, other owner ignored"
    );
    assert_eq!(template_hash(&d, &sets[2..]), None);
    let rev = deployment_revision(&d, &sets).unwrap();
    let new_pod = pod(
        "orion-bbb-1",
        json!({"pod-template-hash": "bbb"}),
        ("ReplicaSet", "orion-bbb"),
        json!(null),
    );
    let old_pod = pod(
        "orion-aaa-1",
        json!({"pod-template-hash": "aaa"}),
        ("ReplicaSet", "orion-aaa"),
        json!(null),
    );
    assert!(rev.matches(&new_pod));
    assert!(!rev.matches(&old_pod));
    let mut other_uid = d.clone();
    other_uid.metadata.uid = Some("d2".into());
    assert_eq!(
        template_hash(&other_uid, &sets),
        None,
        "a recreated Deployment does not own old sets"
    );
}

#[test]
fn statefulset_and_daemonset_revisions() {
    let s: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "db"},
        "spec": {"selector": {}, "template": {}, "serviceName": "db"},
        "status": {"replicas": 1, "updateRevision": "db-5f6", "currentRevision": "db-4e5"}}))
    .unwrap();
    let rev = statefulset_revision(&s).unwrap();
    assert!(rev.matches(&pod(
        "db-0",
        json!({"controller-revision-hash": "db-5f6"}),
        ("StatefulSet", "db"),
        json!(null)
    )));
    assert!(!rev.matches(&pod(
        "db-1",
        json!({"controller-revision-hash": "db-4e5"}),
        ("StatefulSet", "db"),
        json!(null)
    )));
    assert!(!rev.matches(&pod(
        "x-0",
        json!({"controller-revision-hash": "db-5f6"}),
        ("StatefulSet", "x"),
        json!(null)
    )));

    let d: DaemonSet = serde_json::from_value(json!({"metadata": {"name": "agent",
        "annotations": {"deprecated.daemonset.template.generation": "3"}}, "spec": {"selector": {}, "template": {}}}))
    .unwrap();
    let rev = daemonset_revision(&d).unwrap();
    assert!(rev.matches(&pod(
        "agent-a",
        json!({"pod-template-generation": "3"}),
        ("DaemonSet", "agent"),
        json!(null)
    )));
    assert!(!rev.matches(&pod(
        "agent-b",
        json!({"pod-template-generation": "2"}),
        ("DaemonSet", "agent"),
        json!(null)
    )));
}

#[test]
fn rows() {
    let owner = ("ReplicaSet", "orion-7d9c");
    let row = pod_row(&pod("a", json!({}), owner, running_ready()), now());
    assert_eq!(
        row,
        PodRow {
            name: "a".into(),
            ready: "2/2".into(),
            phase: "Running".into(),
            restarts: 3,
            reason: None,
            age_secs: Some(125)
        }
    );

    let row = pod_row(
        &pod(
            "b",
            json!({}),
            owner,
            waiting("ImagePullBackOff", "m", 0, json!({})),
        ),
        now(),
    );
    assert_eq!(
        (
            row.ready.as_str(),
            row.phase.as_str(),
            row.reason.as_deref()
        ),
        ("1/2", "Pending", Some("ImagePullBackOff"))
    );

    let crash = json!({"phase": "Running", "containerStatuses": [
        {"name": "orion", "ready": false, "restartCount": 5, "image": "i", "imageID": "",
         "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]});
    let row = pod_row(&pod("c", json!({}), owner, crash), now());
    assert_eq!(
        (row.ready.as_str(), row.restarts, row.reason.as_deref()),
        ("0/2", 5, Some("last: OOMKilled (exit code 137)"))
    );

    let failed = json!({"phase": "Failed", "containerStatuses": [
        {"name": "orion", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
         "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]});
    let row = pod_row(&pod("d", json!({}), owner, failed), now());
    assert_eq!(
        (row.phase.as_str(), row.reason.as_deref()),
        ("Failed", Some("Error (exit code 1)"))
    );

    let mut deleting = pod("e", json!({}), owner, running_ready());
    deleting.metadata.deletion_timestamp = deleting.metadata.creation_timestamp.clone();
    deleting.metadata.creation_timestamp = None;
    let row = pod_row(&deleting, now());
    assert_eq!((row.phase.as_str(), row.age_secs), ("Terminating", None));
}
