//! Watches: resourceVersion semantics, selectors, bookmarks, 410 Expired, kube-runtime's watcher.

use super::super::FakeOptions;
use super::{start, start_with};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use serde_json::json;
use std::time::Duration;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

#[tokio::test]
async fn watch_from_a_version_sees_later_events_only() {
    let (_fake, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("before", json!({"w": "1"})))
        .await
        .unwrap();
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    api.create(&PostParams::default(), &cm("after", json!({"w": "1"})))
        .await
        .unwrap();
    api.patch(
        "after",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    api.patch(
        "before",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"w": "2"}}})),
    )
    .await
    .unwrap();
    api.delete("after", &DeleteParams::default()).await.unwrap();
    let wp = WatchParams::default().labels("w=1").timeout(1);
    let events: Vec<WatchEvent<ConfigMap>> = api
        .watch(&wp, &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<String> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(c) => format!("ADDED {}", c.metadata.name.as_deref().unwrap()),
            WatchEvent::Modified(c) => format!("MODIFIED {}", c.metadata.name.as_deref().unwrap()),
            WatchEvent::Deleted(c) => format!("DELETED {}", c.metadata.name.as_deref().unwrap()),
            WatchEvent::Bookmark(_) => "BOOKMARK".into(),
            WatchEvent::Error(e) => format!("ERROR {}", e.code),
        })
        .filter(|s| s != "BOOKMARK")
        .collect();
    // "before" leaving the selection shows up as DELETED, like the real server.
    assert_eq!(
        seen,
        vec![
            "ADDED after",
            "MODIFIED after",
            "DELETED before",
            "DELETED after"
        ]
    );
}

#[tokio::test]
async fn bookmarks_and_timeouts() {
    let (_fake, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let t = tokio::time::Instant::now();
    let events: Vec<WatchEvent<ConfigMap>> = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(900) && t.elapsed() < Duration::from_secs(3));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WatchEvent::Bookmark(b) if b.metadata.resource_version == rv))
    );
    // Without bookmarks requested, none are sent.
    let events: Vec<WatchEvent<ConfigMap>> = api
        .watch(&WatchParams::default().timeout(1).disable_bookmarks(), &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[tokio::test]
async fn too_old_version_is_expired() {
    let (fake, client) = start_with(FakeOptions {
        history_limit: 5,
        ..FakeOptions::default()
    })
    .await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for i in 0..8 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), json!({})))
            .await
            .unwrap();
    }
    let events: Vec<WatchEvent<ConfigMap>> = api
        .watch(&WatchParams::default().timeout(1), "1")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    match events.first() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    // Recent versions still work.
    let rv = (fake.resource_version() - 2).to_string();
    let events: Vec<WatchEvent<ConfigMap>> = api
        .watch(&WatchParams::default().timeout(1).disable_bookmarks(), &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn kube_runtime_watcher_works_end_to_end_and_recovers_from_expiry() {
    let (fake, client) = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("pre", json!({"app": "x"})))
        .await
        .unwrap();
    // Short server-side timeouts make the watcher re-watch from its last version often; without
    // bookmarks its version only moves with matching events.
    let cfg = watcher::Config::default()
        .labels("app=x")
        .timeout(1)
        .disable_bookmarks();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut s = watcher(api, cfg).boxed();
        while let Some(e) = s.next().await {
            let line = match e {
                Ok(watcher::Event::InitApply(c)) => format!("init {}", c.metadata.name.unwrap()),
                Ok(watcher::Event::InitDone) => "initdone".into(),
                Ok(watcher::Event::Apply(c)) => format!("apply {}", c.metadata.name.unwrap()),
                Ok(watcher::Event::Delete(c)) => format!("delete {}", c.metadata.name.unwrap()),
                Ok(watcher::Event::Init) => "init".into(),
                Err(e) => format!("error {e}"),
            };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("watcher event")
            .unwrap()
    };
    assert_eq!(next().await, "init");
    assert_eq!(next().await, "init pre");
    assert_eq!(next().await, "initdone");
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("live", json!({"app": "x"})))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("other", json!({"app": "y"})))
        .await
        .unwrap();
    assert_eq!(next().await, "apply live");
    api.delete("live", &DeleteParams::default()).await.unwrap();
    assert_eq!(next().await, "delete live");
    // A change it does not see, then compaction: its next watch starts from an expired version,
    // gets 410, relists, and carries on.
    api.create(&PostParams::default(), &cm("unseen", json!({"app": "y"})))
        .await
        .unwrap();
    fake.compact();
    let mut saw_error = false;
    let mut saw_relist = false;
    for _ in 0..20 {
        let e = next().await;
        saw_error |= e.starts_with("error");
        if e == "initdone" {
            saw_relist = true;
            break;
        }
    }
    assert!(
        saw_error && saw_relist,
        "watcher did not relist after expiry"
    );
    api.create(&PostParams::default(), &cm("later", json!({"app": "x"})))
        .await
        .unwrap();
    assert_eq!(next().await, "apply later");
    task.abort();
}
