//! A long `/ge logs` on Telegram: the message shows the tail, and the whole comes as a document
//! (`sendDocument`, multipart) replying to the command, its caption saying what it holds.

use labkube_testkit::conformance::{TestUser, wait_for};
use labkube_testkit::fakekube::{FakeKube, FakeOptions};
use labkube_testkit::support::LogOnPanic;

use super::{GROUP, TelegramPlatform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_log_comes_as_a_document_replying_to_the_command() {
    let fake = FakeKube::start(FakeOptions::default()).await.unwrap();
    let kube_dir = tempfile::tempdir().unwrap();
    let extra = super::group_cluster(&fake, kube_dir.path());
    let p = TelegramPlatform::new_with(super::SUITE_PACE_MS, &extra).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.op.clone();
    op.send("/ge install orion").await;
    wait_for(&*op, "orion installed", |m| {
        m.text.contains("install orion") && m.text.contains(" succeeded in ")
    })
    .await;
    let (ns, name, container) = fake.pod_named(None, "orion-").expect("an orion pod");
    let lines: Vec<String> = (0..300)
        .map(|i| format!("request {i:04} answered 200 OK in 3 ms <html> & more"))
        .collect();
    for l in &lines {
        fake.print(&ns, &name, &container, l);
    }

    let asked = op.send("/ge logs orion lines=300").await;
    let text = wait_for(&*op, "the tail of the logs", |m| {
        m.text.starts_with("logs of orion in ")
    })
    .await;
    let file_name = format!("{name}.{container}.txt");
    assert!(
        text.text
            .contains(&format!("all 300 in the attached {file_name}:")),
        "{}",
        text.text
    );
    assert!(text.text.ends_with(lines.last().unwrap()), "{}", text.text);
    assert_eq!(text.reply_to.as_deref(), Some(asked.as_str()));

    let deadline = std::time::Instant::now() + labkube_testkit::conformance::WAIT;
    let doc = loop {
        if let Some(d) = op.documents().await.into_iter().next() {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no document came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(doc.name, file_name);
    assert_eq!(doc.reply_to.as_deref(), Some(asked.as_str()), "{doc:?}");
    assert!(
        doc.caption.starts_with("logs of orion in ") && doc.caption.ends_with(", 300 lines"),
        "{}",
        doc.caption
    );
    assert_eq!(
        doc.content,
        lines.join("\n") + "\n",
        "every line as printed"
    );
    let docs = p
        .api
        .calls()
        .await
        .into_iter()
        .filter(|c| c["method"] == "senddocument")
        .count();
    assert_eq!(docs, 1, "one upload");
}

/// The emulator refuses documents as Telegram does, so the bot's own limits are checked against
/// refusals, not trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_refuses_what_telegram_refuses_in_a_document() {
    use teloxide::payloads::SendDocumentSetters;
    use teloxide::prelude::Requester;
    use teloxide::types::{ChatId, InputFile};

    let api = labkube_testkit::tgapi::TgApi::start();
    let url = url::Url::parse(&api.url()).unwrap();
    let bot = teloxide::Bot::new(labkube_testkit::tgapi::TOKEN).set_api_url(url);
    let chat = ChatId(GROUP);
    let refusal = |r: Result<teloxide::types::Message, teloxide::RequestError>| match r {
        // Telegram's description, which teloxide keeps as is for errors it has no name for.
        Err(teloxide::RequestError::Api(teloxide::ApiError::Unknown(d))) => d,
        Err(teloxide::RequestError::Api(e)) => e.to_string(),
        other => panic!("accepted: {other:?}"),
    };
    let long = "x".repeat(1025);
    let file = || InputFile::memory(b"hello\n".to_vec()).file_name("a.txt");
    assert_eq!(
        refusal(bot.send_document(chat, file()).caption(long).await),
        "Bad Request: message caption is too long"
    );
    assert_eq!(
        refusal(
            bot.send_document(chat, InputFile::memory(Vec::new()).file_name("e.txt"))
                .await
        ),
        "Bad Request: file must be non-empty"
    );
    let fine = bot
        .send_document(chat, file())
        .caption("x".repeat(1024))
        .await
        .expect("1024 characters are allowed");
    let doc = fine.document().expect("a document");
    assert_eq!(doc.file_name.as_deref(), Some("a.txt"));
    assert_eq!(doc.file.size, 6);
}
