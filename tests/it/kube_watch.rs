//! The watch-based rollout wait (`labkube::kube::watch`) through its public API, against the
//! test kit's fake API server with its controllers off: each test scripts the objects' states
//! itself with `FakeKube::put`.

use std::time::{Duration, Instant};

use kube::Client;
use labkube::kube::watch::{WaitError, WaitOutcome, WaitSpec, current_states, wait_rollout};
use labkube::kube::{WorkloadKind, WorkloadRef};
use labkube_testkit::fakekube::{FakeKube, FakeOptions};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const NS: &str = "lab";

fn orion(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "orion", "namespace": NS, "uid": "d1", "generation": generation},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "orion"}}, "template": {}},
        "status": status,
    })
}

/// A fake API server that changes nothing by itself, holding namespace `lab` and `objects`.
async fn scripted(objects: Vec<Value>) -> FakeKube {
    let fake = FakeKube::start(FakeOptions {
        controllers: false,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    fake.put(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS},
        "status": {"phase": "Active"}}),
    );
    for obj in objects {
        fake.put(obj);
    }
    fake
}

/// A client of `fake`.
async fn client(fake: &FakeKube) -> Client {
    fake.client().await.unwrap()
}

fn spec(timeout: Duration) -> WaitSpec {
    let mut s = WaitSpec::new(
        NS,
        vec![WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "orion".into(),
        }],
        "app.kubernetes.io/instance=orion",
    );
    s.timeout = timeout;
    s.unreachable_after = Duration::from_secs(5);
    s
}

/// Runs the wait in a task; progress messages arrive on the returned channel.
fn spawn_wait(
    client: Client,
    spec: WaitSpec,
    cancel: CancellationToken,
) -> (
    mpsc::UnboundedReceiver<Vec<String>>,
    tokio::task::JoinHandle<Result<WaitOutcome, WaitError>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        wait_rollout(
            client,
            &spec,
            move |states| {
                let _ = tx.send(states.iter().map(|s| s.message.clone()).collect());
            },
            cancel,
        )
        .await
    });
    (rx, task)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Vec<String>>) -> String {
    let msgs = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("progress in time")
        .expect("progress");
    msgs.join(" | ")
}

const W: &str = "Waiting for deployment \"orion\" rollout to finish";

#[tokio::test]
async fn progress_sequence_then_done() {
    let fake = scripted(vec![orion(
        2,
        json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 0}),
    )])
    .await;
    let (mut rx, task) = spawn_wait(
        client(&fake).await,
        spec(Duration::from_secs(30)),
        CancellationToken::new(),
    );
    assert_eq!(
        next(&mut rx).await,
        "Waiting for deployment spec update to be observed..."
    );
    let steps = [
        (
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}),
            format!("{W}: 1 out of 2 new replicas have been updated..."),
        ),
        (
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
            format!("{W}: 1 old replicas are pending termination..."),
        ),
        (
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
            format!("{W}: 1 of 2 updated replicas are available..."),
        ),
    ];
    for (status, want) in steps {
        // An event that changes nothing visible must not produce a progress call.
        fake.put(orion(2, status.clone()));
        fake.put(orion(2, status));
        assert_eq!(next(&mut rx).await, want);
    }
    fake.put(orion(2, json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2})));
    assert_eq!(
        next(&mut rx).await,
        "deployment \"orion\" successfully rolled out"
    );
    match task.await.unwrap().unwrap() {
        WaitOutcome::Done { states, .. } => assert!(states[0].done && states[0].available == 2),
        other => panic!("expected Done, got {other:?}"),
    }
    assert!(rx.recv().await.is_none(), "no progress after the end");
}

#[tokio::test]
async fn missing_workload_appears_later() {
    let fake = scripted(vec![]).await;
    let (mut rx, task) = spawn_wait(
        client(&fake).await,
        spec(Duration::from_secs(30)),
        CancellationToken::new(),
    );
    assert_eq!(
        next(&mut rx).await,
        "waiting for deployment \"orion\" to appear"
    );
    fake.put(orion(1, json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})));
    assert_eq!(
        next(&mut rx).await,
        "deployment \"orion\" successfully rolled out"
    );
    assert!(matches!(
        task.await.unwrap().unwrap(),
        WaitOutcome::Done { .. }
    ));
}

#[tokio::test]
async fn progress_deadline_fails_at_once() {
    let fake = scripted(vec![orion(
        2,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1}),
    )])
    .await;
    let (mut rx, task) = spawn_wait(
        client(&fake).await,
        spec(Duration::from_secs(30)),
        CancellationToken::new(),
    );
    next(&mut rx).await;
    let cond =
        json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
    fake.put(orion(
        2,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "conditions": cond}),
    ));
    match task.await.unwrap().unwrap() {
        WaitOutcome::Failed { reason, states, .. } => {
            assert_eq!(
                reason.to_string(),
                "deployment \"orion\" exceeded its progress deadline"
            );
            assert_eq!(states[0].updated, 1);
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn replicaset(hash: &str, revision: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("orion-{hash}"), "namespace": NS,
            "labels": {"pod-template-hash": hash, "app.kubernetes.io/instance": "orion"},
            "annotations": {"deployment.kubernetes.io/revision": revision},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "orion", "uid": "d1", "controller": true}]},
        "spec": {"selector": {}}})
}

fn pod(hash: &str, reason: &str, message: &str, restarts: i32) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("orion-{hash}-x2"), "namespace": NS,
            "labels": {"pod-template-hash": hash, "app.kubernetes.io/instance": "orion"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("orion-{hash}"), "uid": "r", "controller": true}]},
        "spec": {"containers": [{"name": "orion"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "orion", "ready": false, "restartCount": restarts,
            "image": "i", "imageID": "", "state": {"waiting": {"reason": reason, "message": message}}}]}})
}

#[tokio::test]
async fn new_pod_stuck_in_image_pull_fails_after_grace_old_crashloop_ignored() {
    let pull = "Back-off pulling image \"quay.io/fiware/orion:broken\"";
    let fake = scripted(vec![
        orion(2, json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2})),
        replicaset("5b8c", "1"),
        replicaset("7d9c", "2"),
        pod("5b8c", "CrashLoopBackOff", "old", 7),
        pod("7d9c", "ImagePullBackOff", pull, 0),
    ])
    .await;
    let mut s = spec(Duration::from_secs(30));
    s.failure_grace = Duration::from_millis(600);
    let started = Instant::now();
    let (_rx, task) = spawn_wait(client(&fake).await, s, CancellationToken::new());
    match task.await.unwrap().unwrap() {
        WaitOutcome::Failed {
            reason, elapsed, ..
        } => {
            assert_eq!(
                reason.to_string(),
                "orion: new pod orion-7d9c-x2 is stuck in ImagePullBackOff (Back-off pulling image \"quay.io/fiware/orion:broken\")"
            );
            assert!(
                elapsed >= Duration::from_millis(600),
                "failed before the grace period: {elapsed:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(5));
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn timeout_reports_pending_workloads() {
    let fake = scripted(vec![orion(2, json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}))]).await;
    let (_rx, task) = spawn_wait(
        client(&fake).await,
        spec(Duration::from_millis(700)),
        CancellationToken::new(),
    );
    match tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WaitOutcome::Failed {
            reason, elapsed, ..
        } => {
            assert_eq!(
                reason.to_string(),
                "timed out after 0.7 s: deployment/orion 1 of 2 updated replicas are available"
            );
            assert!(elapsed >= Duration::from_millis(700));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn cancel_returns_promptly() {
    let fake = scripted(vec![orion(2, json!({"observedGeneration": 1}))]).await;
    let cancel = CancellationToken::new();
    let (mut rx, task) = spawn_wait(
        client(&fake).await,
        spec(Duration::from_secs(60)),
        cancel.clone(),
    );
    next(&mut rx).await;
    let t = Instant::now();
    cancel.cancel();
    let res = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(res, Err(WaitError::Cancelled)), "{res:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn closed_port_is_unreachable_within_the_bound() {
    let fake = scripted(vec![]).await;
    let closed = client(&fake).await;
    fake.stop().await;
    let mut s = spec(Duration::from_secs(60));
    s.unreachable_after = Duration::from_secs(1);
    let t = Instant::now();
    let (mut rx, task) = spawn_wait(closed, s, CancellationToken::new());
    let res = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let took = t.elapsed();
    match res {
        Err(err @ WaitError::Unreachable { after, .. }) => {
            assert!(after >= Duration::from_secs(1), "{after:?}");
            assert!(
                err.to_string()
                    .starts_with("the Kubernetes API server has not answered for 1"),
                "{err}"
            );
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    assert!(rx.try_recv().is_err(), "no progress without data");
}

#[tokio::test]
async fn api_server_going_down_mid_wait_is_unreachable() {
    let fake = scripted(vec![orion(2, json!({"observedGeneration": 1}))]).await;
    let mut s = spec(Duration::from_secs(60));
    s.unreachable_after = Duration::from_secs(1);
    let (mut rx, task) = spawn_wait(client(&fake).await, s, CancellationToken::new());
    next(&mut rx).await;
    let t = Instant::now();
    fake.pause().await;
    let res = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(res, Err(WaitError::Unreachable { .. })), "{res:?}");
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn gone_410_relists_and_carries_on() {
    let fake = scripted(vec![orion(2, json!({"observedGeneration": 1}))]).await;
    let (mut rx, task) = spawn_wait(
        client(&fake).await,
        spec(Duration::from_secs(30)),
        CancellationToken::new(),
    );
    assert_eq!(
        next(&mut rx).await,
        "Waiting for deployment spec update to be observed..."
    );
    // The watches are cut and, while they reconnect, the history they would resume from is
    // compacted away: they get 410 Expired and must relist.
    fake.pause().await;
    fake.put(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "unrelated", "namespace": NS}}));
    fake.compact();
    let lists = deployment_lists(&fake);
    fake.resume().await.unwrap();
    fake.put(orion(2, json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})));
    assert_eq!(
        next(&mut rx).await,
        "deployment \"orion\" successfully rolled out"
    );
    assert!(matches!(
        task.await.unwrap().unwrap(),
        WaitOutcome::Done { .. }
    ));
    assert!(
        deployment_lists(&fake) > lists,
        "the Deployment was not listed again after the watch expired"
    );
}

/// How many times the Deployments were listed (not watched) so far.
fn deployment_lists(fake: &FakeKube) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            r.method == "GET" && r.path.ends_with("/deployments") && !r.query.contains("watch=true")
        })
        .count()
}

#[tokio::test]
async fn bad_token_is_an_api_error_without_the_token() {
    let fake = scripted(vec![orion(1, json!({}))]).await;
    let (_rx, task) = spawn_wait(
        fake.client_with_token("wrong-t0ken").await.unwrap(),
        spec(Duration::from_secs(30)),
        CancellationToken::new(),
    );
    let res = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    match res {
        Err(err @ WaitError::Api(_)) => {
            let text = err.to_string();
            assert!(
                text.contains("Unauthorized") && !text.contains("t0ken"),
                "{text}"
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn current_states_one_shot() {
    let late =
        json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
    let fake = scripted(vec![orion(
        2,
        json!({"observedGeneration": 2, "updatedReplicas": 1, "conditions": late}),
    )])
    .await;
    let workloads = vec![
        WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "orion".into(),
        },
        WorkloadRef {
            kind: WorkloadKind::StatefulSet,
            name: "mongo".into(),
        },
    ];
    let states = current_states(client(&fake).await, NS, &workloads)
        .await
        .unwrap();
    assert_eq!(
        states[0].message,
        "deployment \"orion\" exceeded its progress deadline"
    );
    assert_eq!(
        (states[0].desired, states[0].updated, states[0].done),
        (2, 1, false)
    );
    assert_eq!(
        states[1].message,
        "waiting for statefulset \"mongo\" to appear"
    );
    let err = current_states(
        fake.client_with_token("nope").await.unwrap(),
        NS,
        &workloads,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, WaitError::Api(_)));
}
