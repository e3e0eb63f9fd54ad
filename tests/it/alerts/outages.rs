//! The API server unreachable for a minute, and the bot SIGKILLed in the middle of an
//! incident: neither repeats nor loses one.

use std::time::{Duration, Instant};

use labkube_testkit::console_lab::ConsoleLab;
use labkube_testkit::support::Bot;

use super::{alert, alerts_sent, rig, shows};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_gone_for_a_minute_is_one_incident_and_the_watch_resumes_with_nothing_repeated()
 {
    let rig = rig(300).await;
    rig.run("/ge install orion ns=demo").await;
    rig.fake.crash_image("fiware/orion", 1, "Error");
    let (crash, _) = alert(&rig, "orion in demo on lab-1").await;

    rig.fake.pause().await;
    let (outage, opened) = alert(&rig, "cluster lab-1").await;
    assert!(
        opened.starts_with(
            "alert #2 (critical): cluster lab-1: the API server has not answered for "
        ),
        "{opened}"
    );
    // Meanwhile the pod recovers; nobody can see it while the API server is away, so the
    // incident stays open rather than closing on what is not known.
    rig.fake.heal_image("fiware/orion");
    tokio::time::sleep(Duration::from_secs(55)).await;
    assert!(
        !rig.texts().iter().any(|t| t.starts_with("alert #1 closed")),
        "closed while the API server was away"
    );
    shows(&rig, &outage, "has not answered for 1 min").await;

    rig.fake.resume().await.unwrap();
    shows(
        &rig,
        &outage,
        "alert #2 closed: cluster lab-1 recovered after",
    )
    .await;
    shows(
        &rig,
        &crash,
        "alert #1 closed: orion in demo on lab-1 recovered after",
    )
    .await;
    let sent: Vec<String> = alerts_sent(&rig).into_iter().map(|(_, t)| t).collect();
    assert_eq!(sent.len(), 2, "one message per incident: {sent:#?}");

    // Watching goes on: a new crash is a new incident.
    rig.fake.crash_image("fiware/orion", 137, "OOMKilled");
    let (_, again) = alert(&rig, "alert #3 ").await;
    assert!(again.contains("orion in demo on lab-1"), "{again}");
    rig.stop().await;
}

#[test]
fn a_bot_killed_in_the_middle_of_an_incident_neither_repeats_nor_loses_it() {
    const LIMIT: Duration = Duration::from_secs(60);
    let lab = ConsoleLab::start(
        Duration::from_millis(300),
        "[alerts]\nrecovered_after_secs = 2\nrescan_secs = 1\n",
    );
    let (fake, config, data) = (&lab.fake, &lab.config, &lab.data);

    let mut bot = Bot::console(config, data);
    bot.say("/ge install orion");
    bot.expect("orion 4.1.0 is running in demo on lab-1", LIMIT);
    fake.crash_image("fiware/orion", 137, "OOMKilled");
    bot.expect("alert #1 (warning): orion in demo on lab-1", LIMIT);
    // Edited once: the message is on record (a kill between a send and its record is the one
    // window where a message can be told twice; see docs/ARCHITECTURE.md).
    bot.expect("~ alert #1 (warning)", LIMIT);
    bot.kill();

    // Started again while the pod still crashes: the incident is still #1, told once.
    let mut bot = Bot::console(config, data);
    bot.expect("labkube console", LIMIT);
    bot.expect("~ alert #1 (warning): orion in demo on lab-1", LIMIT);
    fake.heal_image("fiware/orion");
    bot.expect(
        "~ alert #1 closed: orion in demo on lab-1 recovered after",
        LIMIT,
    );
    let until = Instant::now() + Duration::from_secs(3);
    while bot.next_line(until).is_some() {}
    let seen = bot.finish(LIMIT);
    let opened: Vec<&String> = seen.iter().filter(|l| l.starts_with("alert #")).collect();
    assert!(
        opened.is_empty(),
        "told again after the restart: {opened:#?}"
    );
}
