//! The real binary, SIGKILLed while it watches a rollout, resumes the watch after a restart
//! without applying anything twice; killed after its apply but before the step's checkpoint,
//! it finds its revision on the cluster and does not apply it again.

use std::time::Duration;

use labkube::kube::release::Release;
use labkube::store::{JobState, JobStore, SledStore};

use labkube_testkit::console_lab::ConsoleLab;
use labkube_testkit::fakekube::FakeKube;
use labkube_testkit::support::Bot;

const LIMIT: Duration = Duration::from_secs(60);

/// `/ge install orion` on the setup, the bot killed while it watches the rollout (after one
/// apply), pods fast from then on so that the resumed watch does not wait long.
fn killed_while_orion_rolls_out() -> ConsoleLab {
    let setup = ConsoleLab::start(Duration::from_secs(3), "");
    let mut bot = Bot::console(&setup.config, &setup.data);
    bot.say("/ge install orion");
    bot.expect("queued job #1: ge install orion in lab-1/demo", LIMIT);
    bot.expect("(rollout) running", LIMIT);
    setup.fake.set_ready_delay(Duration::from_millis(200));
    bot.kill();
    assert_eq!(
        orion_applies(&setup.fake),
        1,
        "orion was applied once before the kill"
    );
    setup
}

#[test]
fn sigkill_during_a_rollout_watch_then_the_watch_resumes() {
    let ConsoleLab {
        rt,
        fake,
        dir: _dir,
        config,
        data,
    } = killed_while_orion_rolls_out();

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

#[test]
fn killed_after_the_apply_before_its_checkpoint_the_revision_is_not_applied_again() {
    let ConsoleLab {
        rt,
        fake,
        dir: _dir,
        config,
        data,
    } = killed_while_orion_rolls_out();
    // As if the kill had come right after the apply's last request: the step not checkpointed.
    let apply = {
        let store = SledStore::open(&data).unwrap();
        let job = store.get(1).unwrap().unwrap();
        let apply = job.plan.iter().position(|s| s.title() == "apply").unwrap();
        store
            .update(1, &mut |j| {
                j.steps.retain(|s| s.index < apply);
                j.state = JobState::Running { step: apply };
                Ok(())
            })
            .unwrap();
        apply
    };

    let mut bot = Bot::console(&config, &data);
    bot.expect(
        &format!("resumed after a restart at step {}/4", apply + 1),
        LIMIT,
    );
    bot.expect("job #1 ge install orion in lab-1/demo succeeded", LIMIT);
    bot.finish(LIMIT);
    assert_eq!(
        orion_applies(&fake),
        1,
        "the revision the cluster had was not applied again"
    );
    let store = SledStore::open(&data).unwrap();
    let log: Vec<String> = store
        .log_tail(1, 100)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        log.iter().any(|l| l.contains(
            "revision 1 of orion reached the cluster before the restart; not applied again"
        )),
        "{log:#?}"
    );
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
