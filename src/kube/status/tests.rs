//! Table-driven tests: one row per kubectl branch, objects built from JSON.

use super::*;
use serde_json::{Value, json};

fn deploy(generation: i64, replicas: Option<i32>, status: Value) -> Deployment {
    let mut spec = json!({"selector": {"matchLabels": {"app": "orion"}}, "template": {}});
    if let Some(r) = replicas {
        spec["replicas"] = json!(r);
    }
    serde_json::from_value(json!({
        "metadata": {"name": "orion", "namespace": "lab", "generation": generation},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

fn progressing(reason: &str) -> Value {
    json!([{"type": "Progressing", "status": "False", "reason": reason}])
}

#[test]
fn deployment_branches() {
    let wait = "Waiting for deployment \"orion\" rollout to finish";
    let cases: Vec<(&str, Deployment, bool, String)> = vec![
        (
            "generation not observed",
            deploy(
                3,
                Some(2),
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
            ),
            false,
            "Waiting for deployment spec update to be observed...".into(),
        ),
        (
            "no status at all",
            deploy(1, Some(2), json!(null)),
            false,
            "Waiting for deployment spec update to be observed...".into(),
        ),
        (
            "updated below spec.replicas",
            deploy(
                2,
                Some(2),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}),
            ),
            false,
            format!("{wait}: 1 out of 2 new replicas have been updated..."),
        ),
        (
            "spec.replicas unset defaults to 1",
            deploy(1, None, json!({"observedGeneration": 1})),
            false,
            format!("{wait}: 0 out of 1 new replicas have been updated..."),
        ),
        (
            "old replicas pending termination",
            deploy(
                2,
                Some(2),
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
            ),
            false,
            format!("{wait}: 1 old replicas are pending termination..."),
        ),
        (
            "updated not yet available",
            deploy(
                2,
                Some(2),
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "readyReplicas": 1}),
            ),
            false,
            format!("{wait}: 1 of 2 updated replicas are available..."),
        ),
        (
            "done",
            deploy(
                2,
                Some(2),
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}),
            ),
            true,
            "deployment \"orion\" successfully rolled out".into(),
        ),
        (
            "scaled to zero is done",
            deploy(4, Some(0), json!({"observedGeneration": 4})),
            true,
            "deployment \"orion\" successfully rolled out".into(),
        ),
        (
            "other Progressing reason is not an error",
            deploy(
                2,
                Some(1),
                json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0, "conditions": progressing("ReplicaSetUpdated")}),
            ),
            false,
            format!("{wait}: 0 of 1 updated replicas are available..."),
        ),
        (
            "deadline ignored while generation not observed (kubectl order)",
            deploy(
                3,
                Some(1),
                json!({"observedGeneration": 2, "conditions": progressing("ProgressDeadlineExceeded")}),
            ),
            false,
            "Waiting for deployment spec update to be observed...".into(),
        ),
    ];
    for (name, d, done, message) in cases {
        let state = deployment_state(&d).unwrap_or_else(|e| panic!("{name}: unexpected error {e}"));
        assert_eq!(state.done, done, "{name}");
        assert_eq!(state.message, message, "{name}");
        assert_eq!(
            state.workload,
            WorkloadRef {
                kind: WorkloadKind::Deployment,
                name: "orion".into()
            },
            "{name}"
        );
    }
}

#[test]
fn deployment_counts() {
    let d = deploy(
        2,
        Some(3),
        json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 1}),
    );
    let s = deployment_state(&d).unwrap();
    assert_eq!((s.desired, s.updated, s.ready, s.available), (3, 2, 3, 1));
}

#[test]
fn deployment_progress_deadline_is_an_error_with_counts() {
    let d = deploy(
        2,
        Some(2),
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1, "conditions": progressing("ProgressDeadlineExceeded")}),
    );
    let err = deployment_state(&d).unwrap_err();
    assert!(matches!(err, RolloutError::ProgressDeadlineExceeded { .. }));
    assert_eq!(
        err.to_string(),
        "deployment \"orion\" exceeded its progress deadline"
    );
    assert_eq!(err.state().message, err.to_string());
    assert_eq!(
        (err.state().desired, err.state().updated, err.state().done),
        (2, 1, false)
    );
}

fn sts(generation: i64, strategy: Value, status: Value) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": "mongo", "generation": generation},
        "spec": {"replicas": 3, "serviceName": "mongo", "selector": {}, "template": {}, "updateStrategy": strategy},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn statefulset_branches() {
    let rolling = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
    let bare = json!({"type": "RollingUpdate"});
    let cases: Vec<(&str, StatefulSet, bool, &str)> = vec![
        (
            "observedGeneration 0",
            sts(1, rolling.clone(), json!({"replicas": 3})),
            false,
            "Waiting for statefulset spec update to be observed...",
        ),
        (
            "generation ahead",
            sts(
                3,
                rolling.clone(),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3}),
            ),
            false,
            "Waiting for statefulset spec update to be observed...",
        ),
        (
            "not all ready",
            sts(
                2,
                rolling.clone(),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 1}),
            ),
            false,
            "Waiting for 2 pods to be ready...",
        ),
        (
            "partition not reached",
            sts(
                2,
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1}),
            ),
            false,
            "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
        ),
        (
            "partitioned complete",
            sts(
                2,
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 2}),
            ),
            true,
            "partitioned roll out complete: 2 new pods have been updated...",
        ),
        (
            "partition 0 (API default) complete",
            sts(
                2,
                rolling.clone(),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 3}),
            ),
            true,
            "partitioned roll out complete: 3 new pods have been updated...",
        ),
        (
            "rollingUpdate without partition completes as partitioned (kubectl)",
            sts(
                2,
                json!({"type": "RollingUpdate", "rollingUpdate": {}}),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 0}),
            ),
            true,
            "partitioned roll out complete: 0 new pods have been updated...",
        ),
        (
            "revisions differ",
            sts(
                2,
                bare.clone(),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 1, "currentRevision": "mongo-a", "updateRevision": "mongo-b"}),
            ),
            false,
            "waiting for statefulset rolling update to complete 1 pods at revision mongo-b...",
        ),
        (
            "revisions equal",
            sts(
                2,
                bare.clone(),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3, "currentRevision": "mongo-b", "updateRevision": "mongo-b"}),
            ),
            true,
            "statefulset rolling update complete 3 pods at revision mongo-b...",
        ),
        (
            "strategy unset = RollingUpdate",
            sts(
                2,
                json!(null),
                json!({"replicas": 3, "observedGeneration": 2, "readyReplicas": 3, "currentReplicas": 3, "currentRevision": "r", "updateRevision": "r"}),
            ),
            true,
            "statefulset rolling update complete 3 pods at revision r...",
        ),
    ];
    for (name, s, done, message) in cases {
        let state =
            statefulset_state(&s).unwrap_or_else(|e| panic!("{name}: unexpected error {e}"));
        assert_eq!(
            (state.done, state.message.as_str()),
            (done, message),
            "{name}"
        );
        assert_eq!(state.desired, 3, "{name}");
    }
}

#[test]
fn statefulset_on_delete_is_unsupported() {
    let s = sts(
        1,
        json!({"type": "OnDelete"}),
        json!({"observedGeneration": 1}),
    );
    let err = statefulset_state(&s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "statefulset/mongo: rollout status is only available for RollingUpdate strategy type (it uses OnDelete)"
    );
    assert!(
        matches!(&err, RolloutError::UnsupportedStrategy { strategy, .. } if strategy == "OnDelete")
    );
}

fn ds(generation: i64, strategy: Value, status: Value) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "generation": generation},
        "spec": {"selector": {}, "template": {}, "updateStrategy": strategy},
        "status": status,
    }))
    .unwrap()
}

#[test]
fn daemonset_branches() {
    let rolling = json!({"type": "RollingUpdate"});
    let base = |extra: Value| {
        let mut s = json!({"observedGeneration": 2, "currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0, "numberReady": 3});
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    };
    let wait = "Waiting for daemon set \"agent\" rollout to finish";
    let cases: Vec<(&str, DaemonSet, bool, String)> = vec![
        (
            "generation ahead",
            ds(3, rolling.clone(), base(json!({}))),
            false,
            "Waiting for daemon set spec update to be observed...".into(),
        ),
        (
            "not all updated",
            ds(
                2,
                rolling.clone(),
                base(json!({"updatedNumberScheduled": 1, "numberAvailable": 3})),
            ),
            false,
            format!("{wait}: 1 out of 3 new pods have been updated..."),
        ),
        (
            "not all available",
            ds(
                2,
                rolling.clone(),
                base(json!({"updatedNumberScheduled": 3, "numberAvailable": 2})),
            ),
            false,
            format!("{wait}: 2 of 3 updated pods are available..."),
        ),
        (
            "done",
            ds(
                2,
                rolling.clone(),
                base(json!({"updatedNumberScheduled": 3, "numberAvailable": 3})),
            ),
            true,
            "daemon set \"agent\" successfully rolled out".into(),
        ),
        (
            "strategy unset = RollingUpdate",
            ds(
                2,
                json!(null),
                base(json!({"updatedNumberScheduled": 3, "numberAvailable": 3})),
            ),
            true,
            "daemon set \"agent\" successfully rolled out".into(),
        ),
    ];
    for (name, d, done, message) in cases {
        let state = daemonset_state(&d).unwrap_or_else(|e| panic!("{name}: unexpected error {e}"));
        assert_eq!(
            (state.done, state.message.as_str()),
            (done, message.as_str()),
            "{name}"
        );
    }
    let err = daemonset_state(&ds(2, json!({"type": "OnDelete"}), base(json!({})))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "daemonset/agent: rollout status is only available for RollingUpdate strategy type (it uses OnDelete)"
    );
    assert_eq!(err.state().desired, 3);
}

#[test]
fn short_message_and_missing() {
    let d = deploy(
        2,
        Some(2),
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
    );
    assert_eq!(
        deployment_state(&d).unwrap().short_message(),
        "1 of 2 updated replicas are available"
    );
    let m = RolloutState::missing(WorkloadRef {
        kind: WorkloadKind::DaemonSet,
        name: "agent".into(),
    });
    assert_eq!(m.message, "waiting for daemon set \"agent\" to appear");
    assert_eq!(
        m.short_message(),
        "waiting for daemon set \"agent\" to appear"
    );
    assert!(!m.done);
    let s = sts(1, json!(null), json!({"replicas": 3}));
    assert_eq!(
        statefulset_state(&s).unwrap().short_message(),
        "Waiting for statefulset spec update to be observed"
    );
}
