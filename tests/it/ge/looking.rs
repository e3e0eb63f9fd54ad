//! `/ge logs` and `/ge events`: the tail of a pod's logs with generated passwords masked, the
//! API server's refusals in its words, the release's events newest first; the owning room and
//! admins only.

use labkube_testkit::ge_rig::{OTHER_ROOM, Rig};

/// The first orion pod and its first container.
fn orion_pod(rig: &Rig) -> (String, String) {
    let (_, pod, container) = rig
        .fake
        .pod_named(Some("demo"), "orion-")
        .expect("an orion pod");
    (pod, container)
}

/// A password labkube generated for the release's database.
fn generated_password(rig: &Rig) -> String {
    rig.fake
        .objects("Secret", Some("demo"))
        .into_iter()
        .flat_map(|s| {
            let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(s).unwrap();
            secret.data.unwrap_or_default().into_values()
        })
        .map(|v| String::from_utf8(v.0).unwrap())
        .find(|v| v.len() >= 16)
        .expect("a generated password")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_mask_a_generated_password_the_pod_printed_and_other_rooms_are_refused() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    let (pod, container) = orion_pod(&rig);
    let password = generated_password(&rig);
    rig.fake.print("demo", &pod, &container, "orion starting");
    rig.fake.print(
        "demo",
        &pod,
        &container,
        &format!("connecting to mongodb://admin:{password}@mongodb:27017/orion"),
    );
    rig.fake
        .print("demo", &pod, &container, "listening on port 1026");

    rig.say("/ge logs orion lines=2").await;
    let logs = rig.wait_for("logs of orion in demo on lab-1").await;
    assert_eq!(
        logs,
        format!(
            "logs of orion in demo on lab-1, pod {pod}, container {container}, the last 2 line(s):\n\
             connecting to mongodb://admin:***@mongodb:27017/orion\nlistening on port 1026"
        )
    );
    for t in rig.texts() {
        assert!(!t.contains(&password), "the password reached the chat: {t}");
    }

    // The API server's own refusal, in its words.
    rig.say("/ge logs orion previous").await;
    rig.wait_for(&format!(
        "reading the pod's logs on cluster lab-1 failed: previous terminated container \"{container}\" in pod \"{pod}\" not found"
    ))
    .await;
    rig.say("/ge logs orion pod=orion-nope").await;
    rig.wait_for(&format!(
        "pod orion-nope is not a pod of orion in demo on lab-1; its pods: {pod}"
    ))
    .await;

    // A viewer of another room reads nothing of a cluster it does not own.
    rig.say_in(OTHER_ROOM, "vic", "/ge logs orion cluster=lab-1 ns=demo")
        .await;
    rig.wait_for(
        "cluster lab-1 belongs to another room; its GEs are shown only to that room and admins",
    )
    .await;
    rig.say_in(OTHER_ROOM, "vic", "/ge events orion cluster=lab-1 ns=demo")
        .await;
    let refusals = rig
        .texts()
        .iter()
        .filter(|t| t.starts_with("cluster lab-1 belongs to another room"))
        .count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut refused = refusals;
    while refused < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        refused = rig
            .texts()
            .iter()
            .filter(|t| t.starts_with("cluster lab-1 belongs to another room"))
            .count();
    }
    assert_eq!(refused, 2, "both refused: {:#?}", rig.texts());
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_show_a_crash_loop_newest_first() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    let (pod, _) = orion_pod(&rig);
    rig.say("/ge events orion").await;
    let first = rig
        .wait_for("events of orion in demo on lab-1, newest first")
        .await;
    assert!(
        first.contains(&format!(
            " Normal Scheduled pod/{pod}: Successfully assigned demo/{pod} to fake-node-0"
        )),
        "{first}"
    );
    rig.fake.crash_image("fiware/orion", 1, "Error");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        rig.say("/ge events orion").await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let found = rig.texts().into_iter().find(|t| {
            t.starts_with("events of orion in demo on lab-1, newest first")
                && t.contains(&format!(
                    "Warning BackOff pod/{pod}: Back-off restarting failed container"
                ))
        });
        if let Some(t) = found {
            let backoff = t.find(" Warning BackOff ").unwrap();
            let scheduled = t.find(" Normal Scheduled ").unwrap();
            assert!(backoff < scheduled, "newest first: {t}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:#?}", rig.texts());
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_shows_its_tail_and_comes_whole_as_a_file() {
    let rig = Rig::start().await;
    rig.run("/ge install orion ns=demo").await;
    let (pod, container) = orion_pod(&rig);
    let password = generated_password(&rig);
    let lines: Vec<String> = (0..400)
        .map(|i| format!("request {i:04} from 127.0.0.1 answered 200 OK in 3 ms"))
        .collect();
    rig.fake.print(
        "demo",
        &pod,
        &container,
        &format!("mongodb://admin:{password}@mongodb:27017/orion"),
    );
    for l in &lines {
        rig.fake.print("demo", &pod, &container, l);
    }

    rig.say("/ge logs orion lines=500").await;
    let text = rig.wait_for("logs of orion in demo on lab-1").await;
    let file_name = format!("{pod}.{container}.txt");
    assert!(
        text.contains(&format!(
            "lines here (lines=500 asked); all 401 in the attached {file_name}:\n"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(lines.last().unwrap()),
        "the newest line last"
    );
    assert!(text.len() < 4_096, "one Telegram message: {}", text.len());
    let files = rig.chat.files.lock().unwrap().clone();
    assert_eq!(files.len(), 1, "one file: {files:?}");
    let (_, file) = &files[0];
    assert_eq!(file.name, file_name);
    assert_eq!(
        file.caption,
        format!("logs of orion in demo on lab-1, pod {pod}, container {container}, 401 lines")
    );
    let want = format!(
        "mongodb://admin:***@mongodb:27017/orion\n{}\n",
        lines.join("\n")
    );
    assert_eq!(file.body, want, "every line, the password masked");

    // A short answer has no file.
    rig.say("/ge logs orion lines=3").await;
    rig.wait_for("the last 3 line(s)").await;
    assert_eq!(rig.chat.files.lock().unwrap().len(), 1);
    rig.stop().await;
}
