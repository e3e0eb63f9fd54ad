//! The real binary, SIGKILLed while it watches a rollout, resumes the watch after a restart
//! without applying anything twice.

use std::time::Duration;

use labkube::kube::release::Release;
use labkube::store::{JobState, JobStore, SledStore};

use labkube_testkit::fakekube::{FakeKube, FakeOptions};
use labkube_testkit::support::Bot;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn sigkill_during_a_rollout_watch_then_the_watch_resumes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fake = rt
        .block_on(FakeKube::start(FakeOptions {
            ready_delay: Duration::from_secs(3),
            ..Default::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake.write_kubeconfig(dir.path()).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[limits]\nprogress_interval_ms = 250\nshutdown_grace_secs = 5\n\
             [kube]\nfailure_grace_secs = 1\nrollout_timeout_secs = 60\n\
             [console]\nnamespace = \"demo\"\n\
             [[clusters]]\nname = \"lab-1\"\nkubeconfig = {:?}\n",
            kubeconfig.display().to_string()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");

    let mut bot = Bot::console(&config, &data);
    bot.say("/ge install orion");
    bot.expect("queued job #1: ge install orion in lab-1/demo", LIMIT);
    bot.expect("(rollout) running", LIMIT);
    // Fast pods from here on: the resumed watch should not wait long.
    fake.set_ready_delay(Duration::from_millis(200));
    bot.kill();
    let applies_before = orion_applies(&fake);
    assert_eq!(applies_before, 1, "orion was applied once before the kill");

    let mut bot = Bot::console(&config, &data);
    bot.expect(
        "job #1 ge install orion in lab-1/demo resumed after a restart at step 4/4",
        LIMIT,
    );
    bot.expect("job #1 ge install orion in lab-1/demo succeeded", LIMIT);
    bot.expect("orion 4.1.0 is running in demo on lab-1 (revision 1", LIMIT);
    bot.finish(LIMIT);

    assert_eq!(orion_applies(&fake), 1, "the resumed job only watched");
    let store = SledStore::open(&data).unwrap();
    let job = store.get(1).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert!(job.resumes >= 1);
    let release = Release::load(&store, "lab-1", "demo", "orion")
        .unwrap()
        .unwrap();
    assert_eq!(release.revisions.len(), 1);
    assert_eq!(release.deployed().unwrap().number, 1);
    drop(store);
    rt.block_on(fake.stop());
}

/// Server-side applies of the orion Deployment seen by the fake (not the dry run that checks
/// every object first).
fn orion_applies(fake: &FakeKube) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/namespaces/demo/deployments/orion"))
        .filter(|r| !r.query.contains("dryRun=All"))
        .count()
}
