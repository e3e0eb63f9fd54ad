//! A GE's own install parameters: plain ones (`app_id=`) recorded with the release and kept by
//! upgrades, `secret` ones (`password=`) written straight into the GE's Secret and found
//! nowhere else; required ones refused, naming the whole form, before anything changes.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};
use labkube::store::{JobState, JobStore};
use labkube_testkit::ge_rig::Rig;

/// What Keyrock issued for the PEP proxy (the password is what must never leak).
const APP_ID: &str = "6a0c1e3e-7c1d-4b53-9a3b-2f4e8d1c0b7a";
const USERNAME: &str = "pep_proxy_1f2e3d4c-5b6a-4789-8a7b-6c5d4e3f2a1b";
const PASSWORD: &str = "pep_proxy_pw/Zk8+q=Xr3";

fn install_wilma() -> String {
    format!("/ge install wilma ns=sec app_id={APP_ID} username={USERNAME} password={PASSWORD}")
}

/// Every file under `dir`, read as bytes.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wilma_without_its_keyrock_credentials_is_refused_and_changes_nothing() {
    let rig = Rig::start().await;
    rig.say("/ge install wilma ns=sec").await;
    let answer = rig.wait_for("wilma needs").await;
    assert!(
        answer.contains(
            "wilma needs app_id=… username=… password=… (missing: app_id, username, password)"
        ) && answer.contains("password: the PEP proxy's password Keyrock showed")
            && answer.ends_with("nothing was changed"),
        "{answer}"
    );
    rig.say(&format!(
        "/ge install wilma ns=sec app_id={APP_ID} username={USERNAME}"
    ))
    .await;
    rig.wait_for("(missing: password)").await;
    // A bad secret is refused without being echoed.
    let long = "x".repeat(300);
    rig.say(&format!(
        "/ge install wilma ns=sec app_id={APP_ID} username={USERNAME} password={long}"
    ))
    .await;
    let answer = rig.wait_for("password must be 1 to 256").await;
    assert!(!answer.contains(&long), "{answer}");
    rig.say("/ge install orion ns=sec colour=blue").await;
    rig.wait_for("orion has no parameter `colour`; accepted: log_level")
        .await;
    assert_eq!(rig.last_job(), 0, "nothing was queued");
    assert_eq!(rig.fake.mutations(), 0, "nothing reached the cluster");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wilma_credentials_reach_its_secret_and_nowhere_else() {
    let rig = Rig::start().await;
    let (job, outcome) = rig.run(&install_wilma()).await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");

    let secret = rig
        .fake
        .object("v1", "Secret", Some("sec"), "wilma-credentials")
        .expect("the credentials Secret");
    let client = rig.fake.client().await.unwrap();
    let api: Api<Secret> = Api::namespaced(client, "sec");
    let typed = api.get("wilma-credentials").await.unwrap();
    let password = typed.data.unwrap()["password"].0.clone();
    assert_eq!(password, PASSWORD.as_bytes(), "{secret}");
    let env =
        rig.deployment("sec", "wilma")["spec"]["template"]["spec"]["containers"][0]["env"].clone();
    let var = |name: &str| {
        env.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(var("PEP_PROXY_APP_ID")["value"], APP_ID);
    assert_eq!(var("PEP_PROXY_USERNAME")["value"], USERNAME);
    assert_eq!(
        var("PEP_PASSWORD")["valueFrom"]["secretKeyRef"]["name"],
        "wilma-credentials"
    );

    // Plain parameters are recorded (an upgrade keeps them); the password nowhere.
    let release = rig.release("sec", "wilma").unwrap();
    let recorded = serde_json::to_string(&release).unwrap();
    assert!(recorded.contains(APP_ID), "{recorded}");
    let (job, outcome) = rig
        .run("/ge upgrade wilma ns=sec version=8.4.1-distroless")
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert_eq!(
        rig.deployment("sec", "wilma")["spec"]["template"]["spec"]["containers"][0]["env"],
        env
    );
    for id in 1..=rig.last_job() {
        let job = serde_json::to_string(&rig.store.get(id).unwrap().unwrap()).unwrap();
        assert!(
            !job.contains(PASSWORD),
            "job #{id} holds the password: {job}"
        );
    }
    let said = rig.texts().join("\n");
    assert!(!said.contains(PASSWORD), "{said}");
    assert!(
        files_holding(rig.data_dir(), PASSWORD.as_bytes()).is_empty(),
        "the bot's data holds the password"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wilma_whose_credentials_secret_is_gone_fails_naming_it() {
    let rig = Rig::start().await;
    let (job, outcome) = rig.run(&install_wilma()).await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    let client = rig.fake.client().await.unwrap();
    let api: Api<Secret> = Api::namespaced(client, "sec");
    api.delete("wilma-credentials", &DeleteParams::default())
        .await
        .unwrap();
    // The kubelet cannot build the new pod's environment; the rollout fails with its words
    // and goes back, and the old pod (started before) keeps serving.
    let (job, outcome) = rig
        .run("/ge upgrade wilma ns=sec version=8.4.1-distroless")
        .await;
    assert!(matches!(job.state, JobState::Failed { .. }), "{outcome}");
    assert!(
        outcome.contains("CreateContainerConfigError")
            && outcome.contains("secret \"wilma-credentials\" not found"),
        "{outcome}"
    );
    // A second install is refused before its credentials are written anywhere.
    rig.say(&install_wilma()).await;
    rig.wait_for("wilma is already installed in sec").await;
    assert!(
        rig.fake
            .object("v1", "Secret", Some("sec"), "wilma-credentials")
            .is_none()
    );
    rig.stop().await;
}

fn env_of(rig: &Rig, ns: &str, name: &str) -> Vec<serde_json::Value> {
    rig.deployment(ns, name)["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orion_ld_with_troe_brings_timescaledb_and_mintaka_reads_it() {
    let rig = Rig::start().await;
    // Without troe, Orion-LD needs MongoDB only.
    let (job, outcome) = rig.run("/ge install orion-ld ns=plain").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert!(rig.release("plain", "timescaledb").is_none());
    assert!(
        !env_of(&rig, "plain", "orion-ld")
            .iter()
            .any(|e| e["name"] == "ORIONLD_TROE")
    );

    let (job, outcome) = rig.run("/ge install orion-ld ns=t troe=true").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    for dep in ["mongodb", "timescaledb"] {
        assert!(
            rig.release("t", dep)
                .is_some_and(|r| r.deployed().is_some()),
            "{dep} was not installed first: {outcome}"
        );
    }
    let env = env_of(&rig, "t", "orion-ld");
    let var = |name: &str| env.iter().find(|e| e["name"] == name).cloned();
    assert_eq!(var("ORIONLD_TROE").unwrap()["value"], "TRUE");
    assert_eq!(var("ORIONLD_TROE_HOST").unwrap()["value"], "timescaledb");
    assert_eq!(
        var("ORIONLD_TROE_PWD").unwrap()["valueFrom"]["secretKeyRef"]["name"],
        "timescaledb-credentials"
    );
    // The PostGIS-enabled image, which TRoE's tables need.
    let sts = rig
        .fake
        .object("apps/v1", "StatefulSet", Some("t"), "timescaledb")
        .unwrap();
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"],
        "timescale/timescaledb-ha:pg16.6-ts2.17.2"
    );

    // Mintaka reuses that database.
    let (job, outcome) = rig.run("/ge install mintaka ns=t").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert_eq!(
        rig.release("t", "timescaledb").unwrap().revisions.len(),
        1,
        "timescaledb was installed again"
    );

    // An upgrade keeps TRoE on; the database cannot go while Orion-LD writes to it.
    let (job, outcome) = rig.run("/ge upgrade orion-ld ns=t version=1.10.1").await;
    assert_eq!(job.state, JobState::Succeeded, "{outcome}");
    assert_eq!(env_of(&rig, "t", "orion-ld"), env);
    rig.say("/ge uninstall timescaledb ns=t").await;
    let refusal = rig.wait_for("timescaledb in t is used by").await;
    assert!(
        refusal.contains("mintaka") && refusal.contains("orion-ld"),
        "{refusal}"
    );
    rig.stop().await;
}
