//! Every GE of the catalogue, installed with its dependencies on a cluster as `/cluster create`
//! leaves it (the fake's default: a tainted control plane, workers with allocatable CPU and
//! memory, local-path as the default StorageClass), comes up Ready.

use labkube::kube::Catalogue;
use labkube::store::JobState;
use labkube_testkit::fakekube::FakeOptions;
use labkube_testkit::ge_rig::{Rig, RigOptions};

/// The parameters a GE cannot be installed without (what Keyrock issues for Wilma).
fn required_params(ge: &str) -> &'static str {
    match ge {
        "wilma" => "app_id=6a0c1e3e username=pep_proxy_1f2e3d4c password=Zk8q3Xr",
        _ => "",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalogue_ge_comes_up_on_a_cluster_as_labkube_leaves_it() {
    // Three 4-CPU, 8Gi workers: the whole catalogue in one namespace asks for more than one.
    let rig = Rig::with(RigOptions {
        fake: FakeOptions {
            nodes: 3,
            ..FakeOptions::default()
        },
        ..RigOptions::default()
    })
    .await;
    let catalogue = Catalogue::builtin().unwrap();
    let names: Vec<String> = catalogue.all().map(|g| g.name.clone()).collect();
    assert!(names.len() >= 18, "{names:?}");
    for ge in &names {
        // A database installed earlier as another GE's dependency came up then.
        if rig
            .release("lab", ge)
            .is_some_and(|r| r.deployed().is_some())
        {
            continue;
        }
        let (job, outcome) = rig
            .run(&format!("/ge install {ge} ns=lab {}", required_params(ge)))
            .await;
        assert_eq!(job.state, JobState::Succeeded, "{ge}: {outcome}");
        let release = rig.release("lab", ge).expect("recorded");
        assert!(release.deployed().is_some(), "{ge}");
    }
    for ge in &names {
        assert!(
            rig.release("lab", ge)
                .is_some_and(|r| r.deployed().is_some()),
            "{ge} is not running"
        );
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fogflow_says_what_of_it_does_not_run_here() {
    let rig = Rig::start().await;
    rig.say("/ge catalog").await;
    let catalog = rig.wait_for("fogflow 3.2.8").await;
    assert!(
        catalog.contains("fogflow 3.2.8 - FogFlow cloud node")
            && catalog.contains("Not here: FogFlow's worker"),
        "{catalog}"
    );
    let (job, outcome) = rig.run("/ge install fogflow ns=fog").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    let said = rig.texts().join("\n");
    assert!(
        said.contains("not here: FogFlow's worker, which runs the fog functions' operators"),
        "{said}"
    );
    // The RabbitMQ password reaches config.json from the Secret, never through the ConfigMap.
    let cm = rig
        .fake
        .object("v1", "ConfigMap", Some("fog"), "fogflow-config")
        .unwrap();
    let template = cm["data"]["config.json.template"].as_str().unwrap();
    assert!(
        template.contains("\"password\": \"@RABBITMQ_PASSWORD@\""),
        "{template}"
    );
    rig.stop().await;
}
