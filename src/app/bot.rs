//! The bot's parts wired together once: store, policy, Kubernetes layer, provisioning engine,
//! worker and dispatcher. The daemon, the console and every test rig build the bot here, so
//! what a test drives is what runs in a lab.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::AppError;
use crate::alerts::Alerts;
use crate::auth::{Policy, Principal, RoomRef, RoomSettings};
use crate::chat::Replier;
#[cfg(feature = "etcd")]
use crate::config::StoreSettings;
use crate::config::{Backend, Config};
use crate::dispatch::Dispatcher;
use crate::jobs::{StepCtx, Worker, WorkerHandle};
use crate::kube::KubeLayer;
use crate::kube::access::Expiry;
use crate::metrics::Metrics;
use crate::progress::ProgressSink;
use crate::provision::Engine;
#[cfg(feature = "etcd")]
use crate::store::{EtcdSettings, EtcdStore};
use crate::store::{JobStore, SledStore};

/// A wired bot: hand messages to [`Bot::dispatcher`], run [`Bot::worker`] with
/// [`Bot::grace`] as its shutdown grace period, and [`Bot::alerts`].
pub struct Bot {
    /// Answers messages and queues jobs.
    pub dispatcher: Dispatcher,
    /// Runs the queued jobs once started.
    pub worker: Worker,
    /// How long running steps get to reach a checkpoint at shutdown (`[limits]`).
    pub grace: Duration,
    /// Watches the clusters and tells their rooms about incidents, once run; `None` with
    /// `[alerts] enabled = false`.
    pub alerts: Option<Alerts>,
    /// Removes expired `/kubeconfig` access from the clusters, once run.
    pub expiry: Expiry,
}

impl Bot {
    /// Wires a bot over `store` that replies through `chat`, reports job progress to
    /// `progress` and counts into `metrics`. Fails only if the GE catalogue the config names
    /// does not validate.
    pub fn build(
        config: Config,
        store: Arc<dyn JobStore>,
        policy: Policy,
        chat: Arc<dyn Replier>,
        progress: Arc<dyn ProgressSink>,
        metrics: Metrics,
    ) -> Result<Bot, AppError> {
        let catalogue = Arc::new(catalogue(&config)?);
        tracing::info!(ges = catalogue.all().count(), "GE catalogue validated");
        let kube = KubeLayer::new(&config, catalogue, store.clone());
        let ctx = StepCtx {
            data_dir: config.data_dir.clone(),
            store: store.clone(),
            engine: Engine::from_config(&config, store.clone()),
            kube: kube.clone(),
        };
        let alerts = Alerts::new(
            &config,
            kube.clone(),
            store.clone(),
            chat.clone(),
            metrics.clone(),
        );
        let worker = Worker::new(
            store.clone(),
            progress.clone(),
            ctx,
            metrics,
            config.limits.concurrent_jobs,
        );
        let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
        let expiry = Expiry::new(
            kube.clone(),
            store.clone(),
            Duration::from_secs(config.access.sweep_secs),
        );
        let dispatcher = Dispatcher::new(
            policy,
            Arc::new(config),
            store,
            chat,
            progress,
            worker.handle(),
            kube,
        );
        Ok(Bot {
            dispatcher,
            worker,
            grace,
            alerts,
            expiry,
        })
    }

    /// A handle on the worker: wake it, cancel jobs, wait until it is idle.
    pub fn handle(&self) -> WorkerHandle {
        self.worker.handle()
    }
}

/// Loads the GE catalogue the config asks for (built in, or `[kube] catalogue_dir`) and
/// validates all of it: every template renders and parses into typed Kubernetes objects.
pub fn catalogue(config: &Config) -> Result<crate::kube::Catalogue, AppError> {
    Ok(match &config.kube.catalogue_dir {
        Some(dir) => crate::kube::Catalogue::from_dir(dir)?,
        None => crate::kube::Catalogue::builtin()?,
    })
}

/// The allow-lists of a config.
pub fn policy(config: &Config) -> Policy {
    let mut policy = Policy::new();
    for u in &config.users {
        policy.allow_user(
            Principal {
                platform: u.platform.clone(),
                user: u.id.clone(),
            },
            u.role,
        );
    }
    for r in &config.rooms {
        let room = RoomRef {
            platform: r.platform.clone(),
            room: r.id.clone(),
        };
        policy.allow_room(
            room,
            RoomSettings {
                namespace: r.namespace.clone(),
                quota: r.quota.clone(),
            },
        );
    }
    policy
}

/// The store a bot runs on, and, for etcd, the store itself (for the leader election).
pub struct Opened {
    /// The store.
    pub store: Arc<dyn JobStore>,
    /// The same store when it is on etcd.
    #[cfg(feature = "etcd")]
    pub etcd: Option<Arc<EtcdStore>>,
}

/// Opens the store the config names: sled in the data directory (created if needed), or
/// etcd.
pub fn open_store(config: &Config) -> Result<Opened, AppError> {
    // Whatever the store, the data directory holds chat sessions and private files.
    crate::store::make_private(&config.data_dir).map_err(|source| AppError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    match config.store.backend {
        Backend::Sled => Ok(Opened {
            store: Arc::new(open_sled(&config.data_dir)?),
            #[cfg(feature = "etcd")]
            etcd: None,
        }),
        #[cfg(feature = "etcd")]
        Backend::Etcd => {
            let etcd = Arc::new(EtcdStore::open(&etcd_settings(&config.store)?)?);
            Ok(Opened {
                store: etcd.clone(),
                etcd: Some(etcd),
            })
        }
        #[cfg(not(feature = "etcd"))]
        Backend::Etcd => Err(AppError::NotBuilt(NO_ETCD)),
    }
}

/// Opens the sled store in `dir`, creating the directory if needed.
pub fn open_sled(dir: &Path) -> Result<SledStore, AppError> {
    std::fs::create_dir_all(dir).map_err(|source| AppError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(SledStore::open(dir)?)
}

/// Why a build without the `etcd` feature cannot open an etcd store.
#[cfg(not(feature = "etcd"))]
pub const NO_ETCD: &str = "this labkube was built without the etcd store (cargo's --no-default-features); build it with the default features (needs protoc: apt-get install protobuf-compiler)";

/// How to reach the etcd store `[store]` describes, its sealing key read.
#[cfg(feature = "etcd")]
pub fn etcd_settings(store: &StoreSettings) -> Result<EtcdSettings, AppError> {
    Ok(EtcdSettings {
        endpoints: store.endpoints.clone(),
        prefix: store.prefix.clone(),
        timeout: store.timeout(),
        key: store.seal_key().map_err(AppError::SealKey)?,
    })
}
