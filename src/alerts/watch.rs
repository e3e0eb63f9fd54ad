//! The watches of one cluster: the pods, Deployments and volume claims labelled as labkube's
//! (cluster-wide, one watch each, so a namespace labkube installs into later is covered without
//! a new watch) and every node. kube-runtime's watchers reconnect with backoff, resume from
//! their last version and list again when it expired; each object is reduced to what alerting
//! keeps as it arrives.

use futures::stream::{BoxStream, StreamExt, select_all};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;

use crate::alerts::observe::{ClaimSeen, DeploymentSeen, PodSeen, object_key};
use crate::alerts::state::Change;
use crate::kube::catalogue::render::{LABEL_MANAGED_BY, MANAGER};
use crate::kube::nodes::NodeView;

/// One item of a cluster's watches.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A pod of a labkube release.
    Pod(Change<PodSeen>),
    /// A Deployment of a labkube release.
    Deployment(Change<DeploymentSeen>),
    /// A volume claim of a labkube release.
    Claim(Change<ClaimSeen>),
    /// A node.
    Node(Change<NodeView>),
    /// A watch failed (the watcher retries on its own); the error, without credentials.
    Failed(String),
}

fn change<K: Resource, T>(event: Event<K>, view: fn(&K) -> T) -> Change<T> {
    let key = |k: &K| object_key(k.meta());
    match event {
        Event::Init => Change::Init,
        Event::InitApply(k) => Change::InitItem(key(&k), view(&k)),
        Event::InitDone => Change::InitDone,
        Event::Apply(k) => Change::Upsert(key(&k), view(&k)),
        Event::Delete(k) => Change::Delete(key(&k)),
    }
}

fn watch<K, T>(
    api: Api<K>,
    config: watcher::Config,
    view: fn(&K) -> T,
    wrap: fn(Change<T>) -> Seen,
) -> BoxStream<'static, Seen>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    T: 'static,
{
    watcher(api, config)
        .default_backoff()
        .map(move |item| match item {
            Ok(event) => wrap(change(event, view)),
            // kube's errors name the request and the transport's failure, never a credential.
            Err(e) => Seen::Failed(e.to_string()),
        })
        .boxed()
}

/// The merged watches of the cluster `client` talks to.
pub fn cluster(client: &Client) -> BoxStream<'static, Seen> {
    let ours = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGER}"));
    select_all([
        watch(
            Api::<Pod>::all(client.clone()),
            ours.clone(),
            PodSeen::of,
            Seen::Pod,
        ),
        watch(
            Api::<Deployment>::all(client.clone()),
            ours.clone(),
            DeploymentSeen::of,
            Seen::Deployment,
        ),
        watch(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            ours,
            ClaimSeen::of,
            Seen::Claim,
        ),
        watch(
            Api::<Node>::all(client.clone()),
            watcher::Config::default(),
            NodeView::of,
            Seen::Node,
        ),
    ])
    .boxed()
}
