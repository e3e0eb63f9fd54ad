//! Only what is ours: an install never overwrites an object of the same name someone else
//! made, and uninstall and purge leave objects that are not labkube's for that release alone.

use labkube::store::JobState;
use labkube_testkit::ge_rig::Rig;
use serde_json::json;

fn foreign(kind: &str, name: &str, labels: serde_json::Value) -> serde_json::Value {
    let mut obj = json!({
        "apiVersion": "v1", "kind": kind,
        "metadata": { "name": name, "namespace": "demo", "labels": labels },
    });
    match kind {
        "Service" => obj["spec"] = json!({ "ports": [{ "port": 80 }] }),
        "PersistentVolumeClaim" => {
            obj["spec"] = json!({
                "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": "1Gi" } },
            })
        }
        "Secret" => obj["data"] = json!({ "password": "c2l0ZXM=" }),
        "Namespace" => obj["metadata"] = json!({ "name": name }),
        _ => {}
    }
    obj
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_over_an_object_labkube_did_not_make_is_refused_naming_it() {
    let rig = Rig::start().await;
    rig.fake.put(foreign("Namespace", "demo", json!({})));
    // The site's own Service called orion, and a Secret mongodb-credentials it uses elsewhere.
    rig.fake
        .put(foreign("Service", "orion", json!({ "app": "site" })));
    let (job, outcome) = rig.run("/ge install orion ns=demo").await;
    let JobState::Failed { reason } = &job.state else {
        panic!("{outcome}");
    };
    assert!(
        reason.contains(
            "service/orion already exists in demo and labkube did not create it for orion"
        ),
        "{reason}"
    );
    let svc = rig
        .fake
        .object("v1", "Service", Some("demo"), "orion")
        .unwrap();
    assert_eq!(
        svc["metadata"]["labels"],
        json!({ "app": "site" }),
        "left as it was"
    );
    assert!(
        rig.fake
            .object("apps/v1", "Deployment", Some("demo"), "orion")
            .is_none(),
        "nothing of orion was applied"
    );

    // In another namespace (orion's install brought mongodb into demo first).
    let mut secret = foreign("Secret", "mongodb-credentials", json!({}));
    secret["metadata"]["namespace"] = json!("other");
    rig.fake.put(secret);
    let (job, outcome) = rig.run("/ge install mongodb ns=other").await;
    let JobState::Failed { reason } = &job.state else {
        panic!("{outcome}");
    };
    assert!(
        reason.contains(
            "secret/mongodb-credentials already exists in other and labkube did not create it"
        ),
        "{reason}"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_and_purge_leave_what_is_not_labkubes() {
    let rig = Rig::start().await;
    let (job, outcome) = rig.run("/ge install mongodb ns=demo").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    // A claim that only looks like the release's (same instance label, not labkube's).
    rig.fake.put(foreign(
        "PersistentVolumeClaim",
        "site-backups",
        json!({ "app.kubernetes.io/instance": "mongodb" }),
    ));
    let (job, outcome) = rig.run("/ge uninstall mongodb ns=demo purge").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(
        rig.fake
            .object("v1", "PersistentVolumeClaim", Some("demo"), "site-backups")
            .is_some(),
        "purge deleted a claim labkube never made"
    );
    assert!(
        rig.fake
            .objects("PersistentVolumeClaim", Some("demo"))
            .iter()
            .all(|p| p["metadata"]["name"] == "site-backups"),
        "mongodb's own claim went"
    );
    assert!(
        rig.fake
            .object("v1", "Secret", Some("demo"), "mongodb-credentials")
            .is_none()
    );
    rig.stop().await;
}
