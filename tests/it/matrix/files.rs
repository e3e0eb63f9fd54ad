//! A long `/ge logs` on a real Synapse, in an encrypted room: the notifying reply shows the
//! tail, and the whole comes as an `m.file` replying to the command, uploaded encrypted (the
//! event carries `file`, never a plain `url`) and readable by a member's client.

use labkube_testkit::conformance::{self, Platform, TestUser};
use labkube_testkit::fakekube::{FakeKube, FakeOptions};
use labkube_testkit::support::LogOnPanic;

use super::MatrixPlatform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_comes_as_an_encrypted_file_replying_to_the_command() {
    let fake = FakeKube::start(FakeOptions::default()).await.unwrap();
    let mut p = MatrixPlatform::prepare(true).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    p.add_cluster(&fake, "");
    p.start_bot().await;
    p.wait_bot_joined().await;
    let op = p.op.clone();
    let prefix = p.prefix();

    op.send(&format!("{prefix}ge install orion")).await;
    conformance::wait_for(&*op, "orion installed", |m| {
        m.text.contains("install orion") && m.text.contains(" succeeded in ")
    })
    .await;
    let (ns, name, container) = fake.pod_named(None, "orion-").expect("an orion pod");
    let lines: Vec<String> = (0..300)
        .map(|i| format!("request {i:04} answered 200 OK in 3 ms"))
        .collect();
    for l in &lines {
        fake.print(&ns, &name, &container, l);
    }

    let asked = op.send(&format!("{prefix}ge logs orion lines=300")).await;
    let tail = conformance::wait_for(&*op, "the tail of the logs", |m| {
        m.text.starts_with("logs of orion in ")
    })
    .await;
    let file_name = format!("{name}.{container}.txt");
    assert!(
        tail.text
            .contains(&format!("all 300 in the attached {file_name}:")),
        "{}",
        tail.text
    );
    assert_eq!(tail.reply_to.as_deref(), Some(asked.as_str()));

    let deadline = std::time::Instant::now() + conformance::WAIT;
    let (_, content, bytes) = loop {
        if let Some(f) = op.bot_files().await.into_iter().next() {
            break f;
        }
        assert!(std::time::Instant::now() < deadline, "no file came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(content["filename"], file_name.as_str(), "{content}");
    assert!(
        content["body"]
            .as_str()
            .is_some_and(|b| b.starts_with("logs of orion in ") && b.ends_with(", 300 lines")),
        "the caption: {content}"
    );
    assert_eq!(
        content["m.relates_to"]["m.in_reply_to"]["event_id"],
        asked.as_str(),
        "{content}"
    );
    assert!(
        content.get("url").is_none() && content["file"]["url"].is_string(),
        "uploaded encrypted: {content}"
    );
    assert_eq!(
        content["m.mentions"],
        serde_json::json!({}),
        "the file mentions nobody: {content}"
    );
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        lines.join("\n") + "\n",
        "every line as printed"
    );
}
