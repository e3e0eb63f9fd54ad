//! `/kubeconfig` on Telegram: the kubeconfig goes to the user's private chat with the bot as a
//! document, never to the group, which is only told where it went; a user who never opened a
//! private chat with the bot is told how to, and nothing is sent.

use labkube_testkit::conformance::{TestUser, wait_for};
use labkube_testkit::fakekube::{FakeKube, FakeOptions};
use labkube_testkit::support::{LogOnPanic, kubectl};

use super::TelegramPlatform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_goes_to_the_private_chat_only_once_the_user_opened_it() {
    let fake = FakeKube::start(FakeOptions {
        tls: true,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let kube_dir = tempfile::tempdir().unwrap();
    let extra = super::group_cluster(&fake, kube_dir.path());
    let p = TelegramPlatform::new_with(super::SUITE_PACE_MS, &extra).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let (op, private) = (p.op.clone(), p.op_private.clone());

    // Never wrote to the bot privately: Telegram refuses, the group is told how to fix it.
    let asked = op.send("/kubeconfig cluster=lab-1 ttl=1h").await;
    let refusal = wait_for(&*op, "the refusal", |m| {
        m.reply_to.as_deref() == Some(asked.as_str())
    })
    .await;
    assert_eq!(
        refusal.text,
        "nothing was sent: Telegram lets a bot write to you only after you open a private chat \
         with it: open the bot's profile, press Start, then ask again here"
    );
    assert!(private.documents().await.is_empty());

    // Opened: the document arrives there, the group gets a pointer only.
    private.send("/start").await;
    wait_for(&*private, "the greeting", |m| m.text.contains("you are")).await;
    let asked = op.send("/kubeconfig cluster=lab-1 ttl=1h").await;
    let pointer = wait_for(&*op, "the pointer", |m| {
        m.reply_to.as_deref() == Some(asked.as_str())
    })
    .await;
    assert!(
        pointer
            .text
            .starts_with("sent a kubeconfig for lab-1 (namespace default, edit), valid until "),
        "{}",
        pointer.text
    );
    assert!(
        pointer.text.ends_with("to your private chat with the bot"),
        "{}",
        pointer.text
    );
    let deadline = std::time::Instant::now() + labkube_testkit::conformance::WAIT;
    let doc = loop {
        if let Some(d) = private.documents().await.into_iter().next() {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no document came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(doc.name, "kubeconfig-lab-1.yaml");
    assert!(
        doc.caption.starts_with("a kubeconfig for lab-1"),
        "{}",
        doc.caption
    );
    let in_group: Vec<String> = op.documents().await.into_iter().map(|d| d.name).collect();
    assert!(
        in_group.is_empty(),
        "documents reached the group: {in_group:?}"
    );
    let token = doc
        .content
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"token\": \""))
        .map(|t| t.trim_end_matches(['"', ',']).to_string())
        .expect("a token in the kubeconfig");
    for m in op.bot_messages().await {
        assert!(!m.text.contains(&token), "the token reached the group");
    }
    assert!(!p.bot_log().contains(&token), "the token reached the log");

    let path = kube_dir.path().join("mine");
    std::fs::write(&path, &doc.content).unwrap();
    let (ok, _, err) = kubectl(&path, &["get", "pods"]);
    assert!(ok, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_gets_access_to_the_namespaces_the_room_made_and_no_others() {
    let fake = FakeKube::start(FakeOptions {
        tls: true,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let kube_dir = tempfile::tempdir().unwrap();
    // Sam is an operator here (Olga, `op`, is an admin).
    let extra = format!(
        "{}[[users]]\nplatform = \"telegram\"\nid = \"{}\"\nrole = \"operator\"\n",
        super::group_cluster(&fake, kube_dir.path()),
        super::STRANGER
    );
    let p = TelegramPlatform::new_with(super::SUITE_PACE_MS, &extra).await;
    let _log = LogOnPanic::in_dir(p.dir.path());
    let op = p.stranger.clone();
    let chat = serde_json::json!({ "id": super::STRANGER, "type": "private", "first_name": "Sam" });
    let private = std::sync::Arc::new(labkube_testkit::conformance::tg_user::TgUser::new(
        &p.api.url(),
        super::STRANGER,
        "Sam",
        false,
        chat,
    ));
    // Writing to the bot privately opens the chat (the answer is onboarding: the chat is no
    // room of the lab's, and need not be for delivery).
    private.send("/start").await;
    wait_for(&*private, "the answer", |_| true).await;
    let answer = |asked: String| {
        let op = op.clone();
        async move {
            wait_for(&*op, "the answer", |m| {
                m.reply_to.as_deref() == Some(asked.as_str())
            })
            .await
            .text
        }
    };

    // Not made with /ns create, not the room's namespace: refused, nothing made.
    fake.put(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "team-b" }
    }));
    let refused = answer(op.send("/kubeconfig cluster=lab-1 ns=team-b").await).await;
    assert!(
        refused.starts_with("you may have access to your room's namespace default and those /ns create made for it (/ns list) only"),
        "{refused}"
    );

    let made = answer(op.send("/ns create team-a cluster=lab-1 pods=5").await).await;
    assert!(
        made.starts_with("namespace team-a on lab-1 is created: this room's, with 5 pods"),
        "{made}"
    );
    let listed = answer(op.send("/ns list cluster=lab-1").await).await;
    assert!(listed.contains("team-a: no GEs; 5 pods"), "{listed}");
    let sent = answer(op.send("/kubeconfig cluster=lab-1 ns=team-a ttl=1h").await).await;
    assert!(
        sent.starts_with("sent a kubeconfig for lab-1 (namespace team-a, edit), valid until "),
        "{sent}"
    );
    let deadline = std::time::Instant::now() + labkube_testkit::conformance::WAIT;
    let doc = loop {
        if let Some(d) = private.documents().await.into_iter().next() {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no document came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let path = kube_dir.path().join("team-a");
    std::fs::write(&path, &doc.content).unwrap();
    let (ok, _, err) = kubectl(&path, &["get", "pods", "-n", "team-a"]);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&path, &["get", "pods", "-n", "team-b"]);
    assert!(!ok && err.contains("forbidden"), "{err}");
    let (ok, _, err) = kubectl(&path, &["get", "resourcequota", "-n", "team-a"]);
    assert!(ok, "{err}");
}
