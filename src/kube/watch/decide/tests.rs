//! The decision on cached objects: grace period, crash loops, old revisions, deadlines, caches.

use super::*;
use crate::kube::status::workload::WorkloadKind;
use serde_json::{Value, json};

fn deployment(status: Value) -> Watched {
    Watched::Deployment(Box::new(
        serde_json::from_value(json!({
            "metadata": {"name": "orion", "uid": "d1", "generation": 2},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap(),
    ))
}

fn replicaset(hash: &str, revision: &str) -> Watched {
    Watched::ReplicaSet(Box::new(
        serde_json::from_value(json!({
            "metadata": {"name": format!("orion-{hash}"), "labels": {"pod-template-hash": hash},
                "annotations": {"deployment.kubernetes.io/revision": revision},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "orion", "uid": "d1"}]},
            "spec": {"selector": {}},
        }))
        .unwrap(),
    ))
}

fn pod(hash: &str, reason: &str, restarts: i32) -> Watched {
    Watched::Pod(Box::new(
        serde_json::from_value(json!({
            "metadata": {"name": format!("orion-{hash}-x2"), "labels": {"pod-template-hash": hash},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("orion-{hash}"), "uid": "r"}]},
            "spec": {"containers": [{"name": "orion"}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "orion", "ready": false, "restartCount": restarts,
                "image": "i", "imageID": "", "state": {"waiting": {"reason": reason, "message": "Back-off pulling image \"quay.io/fiware/orion:broken\""}}}]},
        }))
        .unwrap(),
    ))
}

/// A synced cache holding `objs` (the forced-rollback tests share it).
pub(in crate::kube::watch) fn cache(objs: Vec<Watched>) -> Cache {
    let mut c = Cache::default();
    c.apply(Event::Init);
    for o in objs {
        c.apply(Event::InitApply(o));
    }
    c.apply(Event::InitDone);
    c
}

const WAITING: &str =
    r#"{"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}"#;

fn orion() -> Vec<WorkloadRef> {
    vec![WorkloadRef {
        kind: WorkloadKind::Deployment,
        name: "orion".into(),
    }]
}

fn run(
    d: &Cache,
    pods: &Cache,
    sets: &Cache,
    grace: Duration,
    tracker: &mut GraceTracker,
    now: Instant,
) -> Verdict {
    evaluate(&orion(), &[d], pods, sets, grace, tracker, now)
}

#[test]
fn failing_pod_needs_the_grace_period_and_alternating_pull_errors_count_as_one() {
    let d = cache(vec![deployment(serde_json::from_str(WAITING).unwrap())]);
    let sets = cache(vec![replicaset("old", "1"), replicaset("new", "2")]);
    let grace = Duration::from_secs(30);
    let t0 = Instant::now();
    let mut tracker = GraceTracker::default();
    let v = run(
        &d,
        &cache(vec![pod("new", "ErrImagePull", 0)]),
        &sets,
        grace,
        &mut tracker,
        t0,
    );
    assert!(v.failure.is_none() && !v.all_done());
    let later = t0 + Duration::from_secs(29);
    let v = run(
        &d,
        &cache(vec![pod("new", "ImagePullBackOff", 0)]),
        &sets,
        grace,
        &mut tracker,
        later,
    );
    assert!(v.failure.is_none(), "29 s < grace");
    let v = run(
        &d,
        &cache(vec![pod("new", "ImagePullBackOff", 0)]),
        &sets,
        grace,
        &mut tracker,
        t0 + grace,
    );
    match v.failure {
        Some(FailReason::Pod { workload, problem }) => {
            assert_eq!(workload.name, "orion");
            assert_eq!(
                (problem.pod.as_str(), problem.reason.as_str()),
                ("orion-new-x2", "ImagePullBackOff")
            );
        }
        other => panic!("expected a pod failure, got {other:?}"),
    }
}

#[test]
fn recovery_resets_the_grace_period() {
    let d = cache(vec![deployment(serde_json::from_str(WAITING).unwrap())]);
    let sets = cache(vec![replicaset("new", "2")]);
    let grace = Duration::from_secs(30);
    let t0 = Instant::now();
    let mut tracker = GraceTracker::default();
    run(
        &d,
        &cache(vec![pod("new", "ErrImagePull", 0)]),
        &sets,
        grace,
        &mut tracker,
        t0,
    );
    run(
        &d,
        &cache(vec![pod("new", "ContainerCreating", 0)]),
        &sets,
        grace,
        &mut tracker,
        t0 + Duration::from_secs(20),
    );
    let v = run(
        &d,
        &cache(vec![pod("new", "ErrImagePull", 0)]),
        &sets,
        grace,
        &mut tracker,
        t0 + Duration::from_secs(40),
    );
    assert!(v.failure.is_none(), "the failure restarted at 40 s");
}

#[test]
fn crash_loop_with_two_restarts_fails_at_once_but_old_revision_pods_are_ignored() {
    let d = cache(vec![deployment(serde_json::from_str(WAITING).unwrap())]);
    let sets = cache(vec![replicaset("old", "1"), replicaset("new", "2")]);
    let grace = Duration::from_secs(600);
    let now = Instant::now();
    let mut tracker = GraceTracker::default();
    let v = run(
        &d,
        &cache(vec![pod("old", "CrashLoopBackOff", 9)]),
        &sets,
        grace,
        &mut tracker,
        now,
    );
    assert!(
        v.failure.is_none(),
        "old revision pod must not fail the rollout"
    );
    let v = run(
        &d,
        &cache(vec![pod("new", "CrashLoopBackOff", 1)]),
        &sets,
        grace,
        &mut tracker,
        now,
    );
    assert!(v.failure.is_none(), "one restart is not yet a loop");
    let v = run(
        &d,
        &cache(vec![pod("new", "CrashLoopBackOff", 2)]),
        &sets,
        grace,
        &mut tracker,
        now,
    );
    assert!(
        matches!(v.failure, Some(FailReason::Pod { ref problem, .. }) if problem.restarts == 2)
    );
}

#[test]
fn without_replicaset_no_pod_is_judged() {
    let d = cache(vec![deployment(serde_json::from_str(WAITING).unwrap())]);
    let mut tracker = GraceTracker::default();
    let v = run(
        &d,
        &cache(vec![pod("new", "CrashLoopBackOff", 5)]),
        &cache(vec![]),
        Duration::ZERO,
        &mut tracker,
        Instant::now(),
    );
    assert!(v.failure.is_none());
}

#[test]
fn done_workload_ignores_pods_and_deadline_fails() {
    let done = json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1});
    let d = cache(vec![deployment(done)]);
    let sets = cache(vec![replicaset("new", "2")]);
    let mut tracker = GraceTracker::default();
    let v = run(
        &d,
        &cache(vec![pod("new", "CrashLoopBackOff", 5)]),
        &sets,
        Duration::ZERO,
        &mut tracker,
        Instant::now(),
    );
    assert!(v.all_done());

    let late = json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]});
    let d = cache(vec![deployment(late)]);
    let v = run(
        &d,
        &cache(vec![]),
        &sets,
        Duration::ZERO,
        &mut tracker,
        Instant::now(),
    );
    assert_eq!(
        v.failure,
        Some(FailReason::ProgressDeadline {
            workload: orion()[0].clone()
        })
    );
    assert_eq!(
        v.states[0].message,
        "deployment \"orion\" exceeded its progress deadline"
    );
}

#[test]
fn missing_workload_waits_to_appear() {
    let mut tracker = GraceTracker::default();
    let empty = cache(vec![]);
    let v = run(
        &empty,
        &empty,
        &empty,
        Duration::ZERO,
        &mut tracker,
        Instant::now(),
    );
    assert_eq!(
        v.states[0].message,
        "waiting for deployment \"orion\" to appear"
    );
    assert!(!v.all_done() && v.failure.is_none());
}

#[test]
fn cache_follows_relist_and_deletes() {
    let mut c = Cache::default();
    assert!(!c.synced());
    c.apply(Event::Init);
    c.apply(Event::InitApply(replicaset("a", "1")));
    assert!(
        c.get("orion-a").is_none(),
        "a relist is applied only when complete"
    );
    c.apply(Event::InitDone);
    assert!(c.synced() && c.get("orion-a").is_some());
    c.apply(Event::Apply(replicaset("b", "2")));
    c.apply(Event::Delete(replicaset("a", "1")));
    assert_eq!(c.objects().count(), 1);
    c.apply(Event::Init);
    c.apply(Event::InitApply(replicaset("c", "3")));
    c.apply(Event::InitDone);
    assert!(
        c.get("orion-b").is_none() && c.get("orion-c").is_some(),
        "relist replaces the set"
    );
}

/// A Deployment just rolled back: generation 3, the controller has not caught up yet, and the bad
/// revision's pod crash-loops.
fn rolled_back(observed: i64, stamped: &str) -> Cache {
    let mut d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "orion", "uid": "d1", "generation": 3,
            "annotations": {"deployment.kubernetes.io/revision": stamped}},
        "spec": {"replicas": 1, "selector": {}, "template": {}},
        "status": {"observedGeneration": observed, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 0},
    }))
    .unwrap();
    d.metadata.generation = Some(3);
    cache(vec![Watched::Deployment(Box::new(d))])
}

#[test]
fn the_bad_revision_does_not_decide_a_rollback_before_it_is_observed() {
    let mut tracker = GraceTracker::default();
    let now = Instant::now();
    let mut judge = |observed: i64, stamped: &str, pods: &Cache, sets: &Cache| {
        run(
            &rolled_back(observed, stamped),
            pods,
            sets,
            Duration::ZERO,
            &mut tracker,
            now,
        )
        .failure
    };
    let bad_pods = cache(vec![pod("bad", "CrashLoopBackOff", 5)]);
    let before = cache(vec![replicaset("good", "1"), replicaset("bad", "2")]);
    // Spec not yet observed: the newest ReplicaSet is still the bad one, but it must not count,
    // and the counts are marked as the previous revision's.
    let f = judge(2, "2", &bad_pods, &before);
    assert!(f.is_none(), "{f:?}");
    let v = run(
        &rolled_back(2, "2"),
        &bad_pods,
        &before,
        Duration::ZERO,
        &mut GraceTracker::default(),
        now,
    );
    assert!(v.states[0].stale, "{:?}", v.states);
    assert_eq!(v.states[0].waiting_for.as_deref(), Some(NOT_OBSERVED));
    // Observed, the Deployment says revision 3, but the watch has not yet seen the good
    // ReplicaSet re-stamped as 3: still no ReplicaSet is the new one.
    let f = judge(3, "3", &bad_pods, &before);
    assert!(f.is_none(), "{f:?}");
    // Both caught up: the good ReplicaSet is revision 3, the bad pod is an old one.
    let after = cache(vec![replicaset("good", "3"), replicaset("bad", "2")]);
    let f = judge(3, "3", &bad_pods, &after);
    assert!(f.is_none(), "{f:?}");
    // And a failing pod of the good revision would still be judged.
    let good_pods = cache(vec![pod("good", "CrashLoopBackOff", 5)]);
    let f = judge(3, "3", &good_pods, &after);
    assert!(matches!(f, Some(FailReason::Pod { .. })));
}

#[test]
fn pods_refused_by_a_quota_fail_the_rollout_after_the_grace_period() {
    let refused = "pods \"orion-new-x2\" is forbidden: exceeded quota: labkube-quota, requested: requests.cpu=2, used: requests.cpu=0, limited: requests.cpu=1";
    let status = json!({"observedGeneration": 2, "replicas": 0, "updatedReplicas": 0, "availableReplicas": 0,
        "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": refused}]});
    let d = cache(vec![deployment(status)]);
    let sets = cache(vec![replicaset("new", "2")]);
    let (grace, t0) = (Duration::from_secs(30), Instant::now());
    let mut tracker = GraceTracker::default();
    let v = run(&d, &cache(vec![]), &sets, grace, &mut tracker, t0);
    assert!(v.failure.is_none(), "not before the grace period");
    let waiting = v.states[0].waiting_for.as_deref().unwrap_or_default();
    assert!(
        waiting.contains("exceeded quota: labkube-quota"),
        "{waiting}"
    );
    let v = run(&d, &cache(vec![]), &sets, grace, &mut tracker, t0 + grace);
    let failure = v.failure.map(|f| f.to_string()).unwrap_or_default();
    assert_eq!(
        failure,
        format!("orion: new pods cannot be created: {refused}")
    );

    // A condition that no longer holds fails nothing.
    let cleared = json!({"observedGeneration": 2, "replicas": 0, "updatedReplicas": 0, "availableReplicas": 0,
        "conditions": [{"type": "ReplicaFailure", "status": "False", "reason": "FailedCreate", "message": refused}]});
    let d = cache(vec![deployment(cleared)]);
    let v = run(
        &d,
        &cache(vec![]),
        &sets,
        grace,
        &mut tracker,
        t0 + grace * 2,
    );
    assert!(v.failure.is_none());
}
