//! Opt-in suite against a real cluster: install, upgrade, failed upgrade with automatic
//! rollback, manual rollback and uninstall of Orion (with its MongoDB), through the same
//! dispatcher, worker and store as the bot.
//!
//!     LABKUBE_E2E_KUBECONFIG=~/.kube/config cargo test --features e2e --test e2e
//!
//! It works in a namespace of its own (`labkube-e2e-<random>`), which it deletes at the end.
//! Without `LABKUBE_E2E_KUBECONFIG` it fails and says so: it is never silently skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Namespace;
use labkube::app::Bot;
use labkube::auth::Role;
use labkube::chat::{ChatError, Incoming, LiveProgress, Replier};
use labkube::config::{Config, ExistingCluster, Owner};
use labkube::kube::KubeLayer;
use labkube::metrics::Metrics;
use labkube::progress::MessageRef;
use labkube::store::{JobState, JobStore, SledStore};
use labkube_testkit::support::room_policy;

const LIMIT: Duration = Duration::from_secs(900);

#[derive(Default)]
struct Chat(Mutex<Vec<String>>);

#[async_trait]
impl Replier for Chat {
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        println!("{text}");
        let mut log = self.0.lock().unwrap();
        log.push(text.to_string());
        Ok(MessageRef {
            platform: platform.into(),
            room: room.into(),
            id: log.len().to_string(),
        })
    }

    async fn edit(&self, _: &MessageRef, _: &str) -> Result<(), ChatError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_upgrade_rollback_uninstall_on_a_real_cluster() {
    let kubeconfig = std::env::var_os("LABKUBE_E2E_KUBECONFIG")
        .expect("set LABKUBE_E2E_KUBECONFIG to the kubeconfig of a cluster this suite may use");
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let ns = format!("labkube-e2e-{}", fastrand::u32(..));
    let mut config = Config::default();
    config.clusters.push(ExistingCluster {
        name: "e2e".into(),
        kubeconfig: kubeconfig.into(),
        owner: Some(Owner {
            platform: "t".into(),
            room: "lab".into(),
        }),
    });
    let store = Arc::new(SledStore::open(&dir.path().join("data")).unwrap());
    let chat = Arc::new(Chat::default());
    let progress = Arc::new(LiveProgress::new(chat.clone(), Duration::from_secs(2)));
    config.data_dir = dir.path().to_path_buf();
    let policy = room_policy("t", "lab", &ns, &[("e2e", Role::Operator)]);
    // The suite's own handle on the cluster, to delete its namespace at the end.
    let layer = KubeLayer::new(
        &config,
        Arc::new(labkube::app::catalogue(&config).unwrap()),
        store.clone(),
    );
    let bot = Bot::build(
        config,
        store.clone(),
        policy,
        chat.clone(),
        progress,
        Metrics::new(),
    )
    .unwrap();
    let (dispatcher, worker) = (bot.dispatcher, bot.worker);
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(worker.run(stop.clone(), Duration::from_secs(5)));

    let mut n = 0;
    let mut run = async |text: &str| -> (JobState, String) {
        n += 1;
        let before = store.recent(1).unwrap().first().map(|j| j.id).unwrap_or(0);
        let msg = Incoming {
            platform: "t".into(),
            room: "lab".into(),
            sender: "e2e".into(),
            event_id: format!("$e2e{n}"),
            text: text.into(),
            bot_username: None,
            help_note: None,
            sent_at_ms: None,
            private: false,
            edit_of: None,
            handled: None,
        };
        dispatcher.handle(&msg).await;
        let id = store.recent(1).unwrap().first().map(|j| j.id).unwrap_or(0);
        assert!(
            id > before,
            "{text:?} queued no job: {:?}",
            chat.0.lock().unwrap().last()
        );
        let deadline = Instant::now() + LIMIT;
        loop {
            let job = store.get(id).unwrap().unwrap();
            if job.state.is_terminal() {
                return (job.state, job.summary.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "job #{id} did not finish");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };

    let (state, summary) = run("/ge install orion version=4.0.0").await;
    assert_eq!(state, JobState::Succeeded, "{summary}");
    let (state, summary) = run("/ge upgrade orion version=4.1.0").await;
    assert_eq!(state, JobState::Succeeded, "{summary}");
    let (state, _) = run("/ge upgrade orion version=0.0.0-labkube-does-not-exist").await;
    let JobState::Failed { reason } = state else {
        panic!("an upgrade to a missing image must fail");
    };
    assert!(reason.contains("Rolled back automatically"), "{reason}");
    let (state, summary) = run("/rollback orion to=1").await;
    assert_eq!(state, JobState::Succeeded, "{summary}");
    assert!(summary.contains("quay.io/fiware/orion:4.0.0"), "{summary}");
    let (state, summary) = run("/ge uninstall orion").await;
    assert_eq!(state, JobState::Succeeded, "{summary}");
    let (state, summary) = run("/ge uninstall mongodb purge").await;
    assert_eq!(state, JobState::Succeeded, "{summary}");

    let client = layer.client("e2e").await.unwrap();
    let namespaces: kube::Api<Namespace> = kube::Api::all(client);
    namespaces
        .delete(&ns, &Default::default())
        .await
        .expect("delete the test namespace");
    stop.cancel();
    let _ = task.await;
}
