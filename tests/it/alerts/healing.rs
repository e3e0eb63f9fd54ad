//! Self-healing shown: a deleted pod that Kubernetes replaces is told once, with how long the
//! replacement took to become Ready.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use super::{alerts_sent, rig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_that_kubernetes_replaces_is_told_once_with_the_time_to_ready() {
    let rig = rig(300).await;
    rig.run("/ge install orion ns=demo").await;
    let pod = rig
        .fake
        .names("Pod", Some("demo"))
        .into_iter()
        .find(|n| n.starts_with("orion-"))
        .expect("an orion pod");
    let pods: Api<Pod> = Api::namespaced(rig.fake.client().await.unwrap(), "demo");
    pods.delete(&pod, &Default::default()).await.unwrap();

    let told = format!(
        "orion in demo on lab-1: pod {pod} was deleted; Kubernetes replaced it with orion-"
    );
    let line = rig.wait_for(&told).await;
    assert!(line.contains(" on fake-node-0, Ready after "), "{line}");
    let replacement = line
        .split("replaced it with ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap();
    assert_ne!(replacement, pod);
    assert!(
        rig.fake
            .names("Pod", Some("demo"))
            .contains(&replacement.to_string()),
        "the replacement named is the pod that runs"
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let times = rig.sent().iter().filter(|t| t.contains(&told)).count();
    assert_eq!(times, 1, "told once");
    assert!(
        alerts_sent(&rig).is_empty(),
        "a replacement is not an incident"
    );
    rig.stop().await;
}
