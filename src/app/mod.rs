//! Wiring: open the store, build the policy, start the chat adapters and the worker, route
//! messages through intake (gate, then a lane per room) to the dispatcher, and shut down in order (stop taking commands, let running
//! steps reach a checkpoint within the grace period, flush the store).

mod bot;
#[cfg(feature = "etcd")]
mod leadership;
mod listing;
mod monitoring;
mod retention;
mod supervise;
mod transfer;

#[cfg(feature = "etcd")]
pub use bot::etcd_settings;
pub use bot::{Bot, Opened, catalogue, open_sled, open_store, policy};
#[cfg(feature = "etcd")]
pub use leadership::EXIT_DEPOSED;
pub use listing::{list_jobs, verify_audit};
pub use supervise::supervise;
pub use transfer::{EtcdAccess, STORE_FORM, export, migrate, open_spec};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::{Policy, Principal, Role, RoomRef, RoomSettings};
use crate::chat::{self, ChatAdapter, ConsoleAdapter, ConsoleIo, LiveProgress, Router};
use crate::config::{Config, ConfigError, Problem};
use crate::intake::Intake;
use crate::jobs::WorkerError;
use crate::store::{JobStore, StoreError};

/// Failures that stop the bot.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The config is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker failed.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The worker's task panicked (it was marked down; see [`supervise`]).
    #[error("the job worker crashed")]
    WorkerCrashed,
    /// The store's sealing key could not be read.
    #[error("cannot read the store's secret key: {0}")]
    SealKey(String),
    /// A store named on the command line is not one.
    #[error("{0}")]
    StoreSpec(String),
    /// An export could not be written.
    #[error("cannot write the export: {0}")]
    Export(String),
    /// The config asks for something this build left out (a cargo feature).
    #[error("{0}")]
    NotBuilt(&'static str),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The GE catalogue does not validate.
    #[error("the GE catalogue is not usable: {0}")]
    Catalogue(#[from] crate::kube::catalogue::CatalogueError),
    /// A chat adapter could not be started.
    #[error("cannot start a chat adapter: {0}")]
    Chat(#[from] chat::ChatError),
    /// The `[metrics]` endpoint could not be served.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// `run` found nothing to connect to.
    #[error(
        "no chat adapter is configured: add a [matrix] or [telegram] section (see config.example.toml); \
         use `labkube console` for a local chat"
    )]
    NoAdapters,
}

/// Loads and fully checks a config file: every problem, including platform names this build
/// does not know, in one report.
pub fn check_config(path: &Path) -> Result<Config, ConfigError> {
    Config::load_with(path, &platform_problems)
}

/// Platform names in the config that no adapter of this build answers to, and a store this
/// build lacks.
fn platform_problems(config: &Config) -> Vec<Problem> {
    let accepted = chat::PLATFORMS.join(", ");
    let mut problems = Vec::new();
    let mut check = |key: String, platform: &str| {
        if !chat::PLATFORMS.contains(&platform) {
            problems.push(Problem {
                key,
                message: format!("unknown platform {platform:?}; this build accepts: {accepted}"),
            });
        }
    };
    for (i, u) in config.users.iter().enumerate() {
        check(format!("users[{i}].platform"), &u.platform);
    }
    for (i, r) in config.rooms.iter().enumerate() {
        check(format!("rooms[{i}].platform"), &r.platform);
    }
    for (i, c) in config.clusters.iter().enumerate() {
        if let Some(o) = &c.owner {
            check(format!("clusters[{i}].owner.platform"), &o.platform);
        }
    }
    for (platform, why) in chat::NOT_BUILT {
        let enabled = match *platform {
            chat::MATRIX => config.matrix.is_some(),
            _ => config.telegram.is_some(),
        };
        if enabled {
            problems.push(Problem {
                key: (*platform).into(),
                message: (*why).into(),
            });
        }
    }
    #[cfg(not(feature = "etcd"))]
    if config.store.backend == crate::config::Backend::Etcd {
        problems.push(Problem {
            key: "store.backend".into(),
            message: bot::NO_ETCD.into(),
        });
    }
    problems
}

/// The console user's name: the config's, else `$USER`, else `local`.
pub fn console_user(config: &Config) -> String {
    config
        .console
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "local".into())
}

/// Runs the bot with the console as its chat until end of input (then it waits for queued and
/// running jobs to finish) or until `shutdown`.
pub async fn run_console(
    config: Config,
    io: ConsoleIo,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let user = console_user(&config);
    let mut policy = policy(&config);
    policy.allow_user(
        Principal {
            platform: chat::CONSOLE.into(),
            user: user.clone(),
        },
        Role::Admin,
    );
    let namespace = config
        .console
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    policy.allow_room(
        RoomRef {
            platform: chat::CONSOLE.into(),
            room: chat::CONSOLE_ROOM.into(),
        },
        RoomSettings {
            namespace,
            quota: config.console.quota.clone(),
        },
    );
    let private = config.data_dir.join("private");
    let adapter: Box<dyn ChatAdapter> = Box::new(ConsoleAdapter::new(user, io, private));
    let opened = open_store(&config)?;
    let monitoring = monitoring::start(&config, opened.store.clone()).await?;
    let Some(lead) = lead(&opened, &config, &shutdown).await else {
        return Ok(());
    };
    let serving = Serving {
        store: opened.store,
        lead,
        policy,
        adapters: vec![adapter],
        monitoring,
    };
    serve(config, serving, shutdown, true).await
}

/// Runs the daemon with every chat adapter the config enables.
pub async fn run_daemon(config: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    if config.matrix.is_none() && config.telegram.is_none() {
        return Err(AppError::NoAdapters);
    }
    let opened = open_store(&config)?;
    let monitoring = monitoring::start(&config, opened.store.clone()).await?;
    // Only the leader talks to the chat platforms: a standby starts no adapter.
    let Some(lead) = lead(&opened, &config, &shutdown).await else {
        return Ok(());
    };
    let adapters = chat::adapters(&config, opened.store.clone()).await?;
    if adapters.is_empty() {
        return Err(AppError::NoAdapters);
    }
    let serving = Serving {
        store: opened.store,
        lead,
        policy: policy(&config),
        adapters,
        monitoring,
    };
    serve(config, serving, shutdown, false).await
}

/// Whether this process may serve.
enum Lead {
    /// It is the only bot on its store (sled).
    Alone,
    /// It was elected among the replicas on the etcd store, as this replica.
    #[cfg(feature = "etcd")]
    Elected(crate::store::Election, String),
}

/// Waits until this process may serve: at once on sled, once elected on etcd; `None` when
/// `shutdown` comes first.
async fn lead(opened: &Opened, config: &Config, shutdown: &CancellationToken) -> Option<Lead> {
    #[cfg(feature = "etcd")]
    if let Some(etcd) = &opened.etcd {
        let election = leadership::take_lead(etcd, config, shutdown).await?;
        return Some(Lead::Elected(election, config.store.replica_name()));
    }
    let _ = (opened, config, shutdown);
    Some(Lead::Alone)
}

/// What a process that may serve serves with.
struct Serving {
    store: Arc<dyn JobStore>,
    lead: Lead,
    policy: Policy,
    adapters: Vec<Box<dyn ChatAdapter>>,
    monitoring: monitoring::Monitoring,
}

async fn serve(
    config: Config,
    serving: Serving,
    shutdown: CancellationToken,
    stop_when_input_ends: bool,
) -> Result<(), AppError> {
    let Serving {
        store,
        lead,
        policy,
        adapters,
        monitoring,
    } = serving;
    let metrics = monitoring.metrics.clone();
    metrics.set_leader(true);
    let data_dir: PathBuf = config.data_dir.clone();
    let mut router = Router::new(metrics.clone());
    for a in &adapters {
        router.add(a.platform(), a.replier());
    }
    let chat: Arc<Router> = Arc::new(router);
    let interval = Duration::from_millis(config.limits.progress_interval_ms);
    let retention_days = config.limits.audit_retention_days;
    #[cfg_attr(not(feature = "etcd"), allow(unused_mut))]
    let mut live = LiveProgress::new(chat.clone(), interval);
    // While elected, a lost leadership ends the process at once (`leadership`); a clean
    // shutdown hands the election back here and resigns it last.
    let done = CancellationToken::new();
    let deposed_watch = match lead {
        Lead::Alone => None,
        #[cfg(feature = "etcd")]
        Lead::Elected(election, replica) => {
            live = live.moved_to(replica);
            Some(leadership::exit_when_deposed(election, done.clone()))
        }
    };
    let progress = Arc::new(live);
    let (limits, gate_policy, replier) = (config.intake.clone(), policy.clone(), chat.clone());
    let Bot {
        dispatcher,
        worker,
        grace,
        alerts,
        expiry,
    } = Bot::build(
        config,
        store.clone(),
        policy,
        chat,
        progress,
        metrics.clone(),
    )?;
    let mut front = Intake::new(gate_policy, &limits, Arc::new(dispatcher), replier);
    let handle = worker.handle();
    monitoring.health.watch_worker(handle.clone());

    let intake = shutdown.child_token();
    let worker_stop = CancellationToken::new();
    let worker_task = tokio::spawn(supervise(worker, worker_stop.clone(), grace));
    tokio::spawn(retention::keep_audit(
        store.clone(),
        retention_days,
        intake.clone(),
    ));
    tokio::spawn(expiry.run(intake.clone()));
    if let Some(mut alerts) = alerts {
        if stop_when_input_ends {
            // The console: its one user administers every cluster.
            alerts.tell_unowned_to(chat::CONSOLE, chat::CONSOLE_ROOM);
        }
        tokio::spawn(alerts.run(intake.clone()));
    }
    let (tx, mut inbox) = mpsc::channel(64);
    let mut adapter_tasks = Vec::new();
    for a in adapters {
        let (tx, stop) = (tx.clone(), intake.clone());
        adapter_tasks.push(tokio::spawn(async move {
            let platform = a.platform();
            if let Err(e) = a.run(tx, stop).await {
                tracing::error!(platform, error = %e, "chat adapter stopped with an error");
            }
        }));
    }
    drop(tx);
    tracing::info!(data_dir = %data_dir.display(), "labkube is running");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            msg = inbox.recv() => match msg {
                Some(msg) => front.accept(msg),
                None => {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = front.drain() => {}
                    }
                    if stop_when_input_ends {
                        handle.wait_idle(&shutdown).await?;
                    } else {
                        tracing::warn!("every chat adapter has stopped");
                    }
                    break;
                }
            },
        }
    }
    tracing::info!(
        "shutting down: no new commands; running steps get {} s to reach a checkpoint",
        grace.as_secs()
    );
    intake.cancel();
    front.stop();
    worker_stop.cancel();
    for t in adapter_tasks {
        // Adapters stop at once on `intake`; a join error is a panic that was already logged.
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    // The supervisor catches the worker's panics; its own join error cannot be a panic.
    let worker_result = worker_task.await;
    store.flush()?;
    // Last: a standby takes over as soon as the lease is revoked.
    metrics.set_leader(false);
    done.cancel();
    #[cfg(feature = "etcd")]
    if let Some(watch) = deposed_watch
        && let Ok(election) = watch.await
    {
        election.step_down(Duration::from_secs(5)).await;
    }
    #[cfg(not(feature = "etcd"))]
    let _: Option<()> = deposed_watch;
    match worker_result {
        Ok(r) => r?,
        Err(e) => tracing::error!(error = %e, "the worker supervisor task failed"),
    }
    Ok(())
}
