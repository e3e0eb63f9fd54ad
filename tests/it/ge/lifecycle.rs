//! Install, upgrade, scale, status, uninstall and purge, and parallel installs.

use labkube::kube::release::Status;
use labkube::store::{JobState, JobStore};

use labkube_testkit::ge_rig::Rig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_orion_with_its_mongodb_into_demo() {
    let rig = Rig::start().await;
    let (job, outcome) = rig.run("/ge install orion ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome.contains("orion 4.1.0 is running in demo on lab-1 (revision 1"),
        "{outcome}"
    );
    assert!(outcome.contains("pods ready in"), "{outcome}");
    assert!(
        outcome.contains("endpoints: orion.demo.svc:1026"),
        "{outcome}"
    );

    // The namespace was created and labelled; the dependency is its own release.
    let ns = rig.fake.object("v1", "Namespace", None, "demo").unwrap();
    assert_eq!(
        ns.pointer("/metadata/labels/app.kubernetes.io~1managed-by"),
        Some(&serde_json::json!("labkube"))
    );
    let mongo = rig.release("demo", "mongodb").expect("mongodb release");
    assert_eq!(mongo.deployed().unwrap().number, 1);
    let orion = rig.release("demo", "orion").expect("orion release");
    let rev = orion.deployed().unwrap();
    assert_eq!(rev.image, "quay.io/fiware/orion:4.1.0");
    assert_eq!(rev.by, "ada", "the requester as /jobs and /job write them");
    assert!(!rev.manifests.is_empty());
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.0");

    // Applied by server-side apply under the labkube field manager.
    let d = rig
        .fake
        .object("apps/v1", "Deployment", Some("demo"), "orion")
        .unwrap();
    let managers: Vec<&str> = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"labkube"), "{managers:?}");
    assert!(
        rig.fake
            .requests()
            .iter()
            .any(|r| r.method == "PATCH" && r.content_type == "application/apply-patch+yaml")
    );

    // The live message showed the workloads rolling out.
    assert!(
        rig.texts()
            .iter()
            .any(|t| t.contains("deployment/orion") && t.contains("updated")),
        "{:#?}",
        rig.texts()
    );

    // Generated credentials exist in the cluster and appear nowhere in chat or the job log.
    let secrets = rig.fake.objects("Secret", Some("demo"));
    assert!(!secrets.is_empty(), "credentials were generated");
    let mut values = Vec::new();
    for s in &secrets {
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(s.clone()).unwrap();
        for (_, v) in secret.data.unwrap_or_default() {
            values.push(String::from_utf8(v.0).unwrap());
        }
    }
    let log: Vec<String> = rig
        .store
        .log_tail(job.id, 1000)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    for plain in &values {
        assert!(plain.len() >= 16, "a real password");
        for t in rig.texts().iter().chain(log.iter()) {
            assert!(!t.contains(plain.as_str()), "a secret leaked into {t:?}");
        }
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_scale_status_history_and_list() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    let (job, outcome) = rig.run("/ge upgrade orion version=4.1.1 ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        outcome
            .contains("orion in demo upgraded to 4.1.1 (revision 2, quay.io/fiware/orion:4.1.1)"),
        "{outcome}"
    );
    assert_eq!(rig.image("demo", "orion"), "quay.io/fiware/orion:4.1.1");
    assert_eq!(
        rig.deployment_revision("demo", "orion"),
        "2",
        "the deployment controller made a second ReplicaSet"
    );

    let (job, outcome) = rig.run("/ge scale orion replicas=3").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(outcome.contains("scaled to 3 replicas"), "{outcome}");
    assert!(outcome.contains("3/3 pods ready"), "{outcome}");
    assert_eq!(
        rig.deployment("demo", "orion").pointer("/spec/replicas"),
        Some(&serde_json::json!(3))
    );

    rig.say("/ge status orion").await;
    let status = rig.wait_for("orion in demo on lab-1: revision 3").await;
    assert!(status.contains("pods:"), "{status}");
    assert!(status.contains("1/1 ready"), "{status}");
    assert!(status.contains("restart(s)"), "{status}");

    rig.say("/ge history orion").await;
    let history = rig.wait_for("history of orion in demo").await;
    assert!(history.contains("1 superseded install"), "{history}");
    assert!(history.contains("2 superseded upgrade"), "{history}");
    assert!(history.contains("3 deployed scale"), "{history}");

    rig.say("/ge list").await;
    let list = rig.wait_for("Generic Enablers in lab-1").await;
    assert!(list.contains("demo/orion 4.1.1"), "{list}");
    assert!(list.contains("demo/mongodb"), "{list}");

    rig.say("/ge catalog").await;
    let catalog = rig.wait_for("Generic Enablers in the catalogue").await;
    for ge in ["orion", "orion-ld", "mongodb", "keyrock", "scorpio"] {
        assert!(catalog.contains(&format!("\n  {ge} ")), "{catalog}");
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_install_shows_its_pods_restarts_and_reasons() {
    let rig = Rig::start().await;
    let (job, outcome) = rig.run("/ge install orion version=crash").await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    assert!(outcome.contains("CrashLoopBackOff"), "{outcome}");
    assert!(outcome.contains("/ge uninstall orion"), "{outcome}");
    let orion = rig.release("demo", "orion").unwrap();
    assert!(matches!(
        orion.latest().unwrap().status,
        Status::Failed { .. }
    ));
    rig.say("/ge status orion").await;
    let status = rig.wait_for("orion in demo on lab-1").await;
    assert!(status.contains("CrashLoopBackOff"), "{status}");
    assert!(
        !status.contains(" 0 restart(s), last: CrashLoopBackOff"),
        "{status}"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_keeps_data_unless_purged() {
    let rig = Rig::start().await;
    rig.run("/ge install orion").await;
    let jobs_before = rig.last_job();
    rig.say("/ge uninstall mongodb").await;
    rig.wait_for("mongodb in demo is used by orion").await;
    assert_eq!(rig.last_job(), jobs_before, "refused before queuing");

    let (_, outcome) = rig.run("/ge uninstall orion").await;
    assert!(outcome.contains("orion uninstalled from demo"), "{outcome}");
    assert!(
        rig.fake
            .object("apps/v1", "Deployment", Some("demo"), "orion")
            .is_none()
    );
    assert!(rig.release("demo", "orion").is_none());

    let (_, outcome) = rig.run("/ge uninstall mongodb").await;
    assert!(outcome.contains("its data is kept"), "{outcome}");
    assert!(
        rig.fake
            .object("apps/v1", "StatefulSet", Some("demo"), "mongodb")
            .is_none()
    );
    assert!(
        !rig.fake
            .objects("PersistentVolumeClaim", Some("demo"))
            .is_empty(),
        "volume claims are kept"
    );
    assert!(
        !rig.fake.objects("Secret", Some("demo")).is_empty(),
        "credentials are kept"
    );

    let (job, outcome) = rig.run("/ge uninstall mongodb purge").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        rig.fake
            .objects("PersistentVolumeClaim", Some("demo"))
            .is_empty()
    );
    assert!(rig.fake.objects("Secret", Some("demo")).is_empty());
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installs_in_different_namespaces_run_in_parallel() {
    let rig = Rig::start().await;
    rig.fake
        .set_ready_delay(std::time::Duration::from_millis(600));
    rig.say("/ge install orion ns=alpha").await;
    rig.say("/ge install orion ns=beta expose=nodeport").await;
    let a = rig.finished(1).await;
    let b = rig.finished(2).await;
    let exposed = b.summary.clone().unwrap_or_default();
    assert!(
        exposed.contains("orion.beta.svc:1026 (NodePort 3"),
        "a NodePort is reported: {exposed}"
    );
    assert_eq!(a.state, JobState::Succeeded);
    assert_eq!(b.state, JobState::Succeeded);
    let (a0, a1) = (a.started_ms.unwrap(), a.finished_ms.unwrap());
    let (b0, b1) = (b.started_ms.unwrap(), b.finished_ms.unwrap());
    assert!(a0 < b1 && b0 < a1, "the two jobs overlapped in time");
    for ns in ["alpha", "beta"] {
        assert_eq!(rig.image(ns, "orion"), "quay.io/fiware/orion:4.1.0");
        assert!(
            rig.release(ns, "mongodb").is_some(),
            "each namespace has its own mongodb"
        );
    }
    // Installed in two namespaces, neither the room's: the reply asks which.
    rig.say("/ge status orion").await;
    rig.wait_for(
        "orion is installed in several namespaces of lab-1: alpha, beta; say which with ns=NAME",
    )
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installs_in_one_namespace_run_one_after_the_other_in_queue_order() {
    // Jobs in one namespace share its dependencies, so the worker runs them one at a time
    // (the job's target), even with free slots.
    let rig = Rig::start().await;
    rig.fake
        .set_ready_delay(std::time::Duration::from_millis(600));
    rig.say("/ge install orion").await;
    rig.say("/ge install keyrock").await;
    let a = rig.finished(1).await;
    let b = rig.finished(2).await;
    assert_eq!(a.state, JobState::Succeeded, "{:?}", a.summary);
    assert_eq!(b.state, JobState::Succeeded, "{:?}", b.summary);
    assert_eq!(a.target, b.target, "both lock the same namespace");
    let (a0, a1) = (a.started_ms.unwrap(), a.finished_ms.unwrap());
    let b0 = b.started_ms.unwrap();
    assert!(a0 <= b0, "queue order: #1 started first");
    assert!(a1 <= b0, "#2 started only once #1 had finished");
    rig.stop().await;
}
