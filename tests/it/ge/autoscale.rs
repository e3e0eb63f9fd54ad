//! `/ge autoscale`: a HorizontalPodAutoscaler on a stateless GE, which the fake's HPA
//! controller acts on (bounds, CPU utilization from the metrics API); upgrades keep the count
//! it reached; off removes it and keeps the pods; and every refusal changes nothing.

use std::time::{Duration, Instant};

use labkube::store::{JobState, JobStore};
use labkube_testkit::fakekube::FakeOptions;
use labkube_testkit::ge_rig::{Rig, RigOptions};

/// The live `spec.replicas` of deployment `name` in `demo`.
fn replicas(rig: &Rig, name: &str) -> Option<i64> {
    rig.fake
        .object("apps/v1", "Deployment", Some("demo"), name)
        .and_then(|d| d.pointer("/spec/replicas").and_then(|r| r.as_i64()))
}

/// Waits until deployment orion wants `n` pods.
async fn scaled_to(rig: &Rig, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while replicas(rig, "orion") != Some(n) {
        assert!(
            Instant::now() < deadline,
            "orion never went to {n} replicas (it has {:?})",
            replicas(rig, "orion")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autoscaler_sets_the_pod_count_and_upgrades_keep_it() {
    let rig = Rig::start().await;
    rig.run("/ge install orion replicas=2 ns=demo").await;
    let (job, outcome) = rig
        .run("/ge autoscale orion min=1 max=4 cpu=50 ns=demo")
        .await;
    // The revision without replicas did not drop the Deployment to one pod (server-side apply
    // removes a field its only manager stops applying; the count was handed over first).
    assert_eq!(replicas(&rig, "orion"), Some(2), "{outcome}");
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome.contains("orion in demo is autoscaled from 1 to 4 pods at 50% CPU (revision 2)"),
        "{outcome}"
    );
    let hpa = rig
        .fake
        .object(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("demo"),
            "orion",
        )
        .expect("the HPA is there");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "orion");
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(hpa["spec"]["maxReplicas"], 4);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        50
    );
    assert_eq!(
        hpa["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "labkube"
    );

    // A load of 120 % of one pod's request against a 50 % target: three pods (40 % each).
    // The upgrade's revision, like the autoscaler's, applies the Deployment without replicas.
    rig.fake.set_cpu_load(Some(120));
    scaled_to(&rig, 3).await;

    // An upgrade keeps the autoscaler's three pods.
    let (job, outcome) = rig.run("/ge upgrade orion version=4.1.1 ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert_eq!(replicas(&rig, "orion"), Some(3), "{outcome}");
    let deployment = rig
        .fake
        .object("apps/v1", "Deployment", Some("demo"), "orion")
        .unwrap();
    let managers: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(
        managers.contains(&"labkube-replicas-handover")
            && managers.contains(&"kube-controller-manager"),
        "{managers:?}"
    );

    rig.say("/ge status orion ns=demo").await;
    let status = rig.wait_for("pod(s) now").await;
    assert!(
        status.contains("revision 3 (quay.io/fiware/orion:4.1.1), autoscaled")
            && status.contains(
                "\nautoscaled from 1 to 4 pods at 50% CPU: 3 pod(s) now, 3 wanted, CPU at 40% of requests"
            ),
        "{status}"
    );

    // While it runs, the count is the autoscaler's.
    rig.say("/ge scale orion replicas=2 ns=demo").await;
    let refused = rig.wait_for("/ge autoscale orion off first").await;
    assert!(
        refused.contains("/ge autoscale orion off first")
            && refused.ends_with("nothing was changed"),
        "{refused}"
    );
    assert_eq!(rig.last_job(), 3, "the refused scale queued nothing");

    let (job, outcome) = rig.run("/ge autoscale orion off ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome.contains("orion in demo is no longer autoscaled and keeps 3 replicas (revision 4)"),
        "{outcome}"
    );
    assert!(
        rig.fake
            .object(
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                Some("demo"),
                "orion"
            )
            .is_none(),
        "off removes the HPA"
    );
    assert_eq!(replicas(&rig, "orion"), Some(3));
    rig.fake.set_cpu_load(Some(600));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        replicas(&rig, "orion"),
        Some(3),
        "nothing scales it any more"
    );

    rig.say("/ge history orion ns=demo").await;
    let history = rig.wait_for("autoscale off").await;
    assert!(
        history.contains("\n  2 superseded autoscale by ada at ")
            && history
                .contains(", autoscaled from 1 to 4 pods at 50% CPU, quay.io/fiware/orion:4.1.0")
            && history.contains(", 3 replica(s), quay.io/fiware/orion:4.1.1"),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscaling_is_refused_where_it_cannot_work_and_changes_nothing() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    let cases = [
        (
            "/ge autoscale mongodb min=1 max=2 ns=demo",
            "mongodb keeps data in a volume that more pods would not share, so it is not autoscaled; nothing was changed",
        ),
        (
            "/ge autoscale orion min=1 max=9 ns=demo",
            "orion runs with 1 to 5 pods; min=1 max=9 is outside that; nothing was changed",
        ),
        (
            "/ge autoscale orion off ns=demo",
            "orion in demo is not autoscaled; nothing was changed",
        ),
        (
            "/ge autoscale orion min=3 max=2 ns=demo",
            "min=3 is more than max=2; nothing was changed",
        ),
        (
            "/ge autoscale orion min=2 ns=demo",
            "/ge autoscale needs max=M: most pods",
        ),
        (
            "/ge autoscale orion off min=1 ns=demo",
            "/ge autoscale off takes no min=",
        ),
        ("/ge autoscale orion min=1 max=2 cpu=5 ns=demo", "cpu"),
    ];
    for (text, needle) in cases {
        rig.refused("ada", text, needle).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_server_no_autoscaler_is_queued() {
    let rig = Rig::with(RigOptions {
        fake: FakeOptions {
            metrics_server: false,
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    rig.run("/ge install orion ns=demo").await;
    let jobs = rig.last_job();
    rig.say("/ge autoscale orion min=1 max=3 ns=demo").await;
    let answer = rig.wait_for("metrics-server").await;
    assert_eq!(
        answer,
        "cluster lab-1 has no working metrics-server (it has no APIService v1beta1.metrics.k8s.io), so an autoscaler could not read CPU use. Clusters labkube creates have it; on another cluster install metrics-server, then try again; nothing was changed"
    );
    assert_eq!(rig.last_job(), jobs);
    assert!(
        rig.store
            .recent(5)
            .unwrap()
            .iter()
            .all(|j| !j.command_text.contains("autoscale")),
        "nothing queued"
    );
}
