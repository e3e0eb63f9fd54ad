//! Wiring: open the store, build the policy, start the chat adapters and the worker, route
//! messages to the dispatcher, and shut down in order (stop taking commands, let running
//! steps reach a checkpoint within the grace period, flush the store).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::{Policy, Principal, Role, RoomRef, RoomSettings};
use crate::chat::{self, ChatAdapter, ConsoleAdapter, ConsoleIo, LiveProgress, Router};
use crate::config::{Config, ConfigError, Problem};
use crate::dispatch::Dispatcher;
use crate::jobs::{StepCtx, Worker, WorkerError};
use crate::provision::Engine;
use crate::store::{JobStore, SledStore, StoreError};

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

/// Loads the GE catalogue the config asks for (built in, or `[kube] catalogue_dir`) and
/// validates all of it: every template renders and parses into typed Kubernetes objects.
pub fn catalogue(config: &Config) -> Result<crate::kube::Catalogue, AppError> {
    Ok(match &config.kube.catalogue_dir {
        Some(dir) => crate::kube::Catalogue::from_dir(dir)?,
        None => crate::kube::Catalogue::builtin()?,
    })
}

/// Platform names in the config that no adapter of this build answers to.
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
    problems
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
            },
        );
    }
    policy
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
        RoomSettings { namespace },
    );
    let adapter: Box<dyn ChatAdapter> = Box::new(ConsoleAdapter::new(user, io));
    let store: Arc<dyn JobStore> = Arc::new(open_store(&config.data_dir)?);
    serve(config, store, policy, vec![adapter], shutdown, true).await
}

/// Runs the daemon with every chat adapter the config enables.
pub async fn run_daemon(config: Config, shutdown: CancellationToken) -> Result<(), AppError> {
    if config.matrix.is_none() && config.telegram.is_none() {
        return Err(AppError::NoAdapters);
    }
    let store: Arc<dyn JobStore> = Arc::new(open_store(&config.data_dir)?);
    let adapters = chat::adapters(&config, store.clone()).await?;
    if adapters.is_empty() {
        return Err(AppError::NoAdapters);
    }
    let policy = policy(&config);
    serve(config, store, policy, adapters, shutdown, false).await
}

/// Opens the store in `dir`, creating the directory if needed.
pub fn open_store(dir: &Path) -> Result<SledStore, AppError> {
    std::fs::create_dir_all(dir).map_err(|source| AppError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(SledStore::open(dir)?)
}

async fn serve(
    config: Config,
    store: Arc<dyn JobStore>,
    policy: Policy,
    adapters: Vec<Box<dyn ChatAdapter>>,
    shutdown: CancellationToken,
    stop_when_input_ends: bool,
) -> Result<(), AppError> {
    let data_dir: PathBuf = config.data_dir.clone();
    let mut router = Router::new();
    for a in &adapters {
        router.add(a.platform(), a.replier());
    }
    let chat: Arc<Router> = Arc::new(router);
    let interval = Duration::from_millis(config.limits.progress_interval_ms);
    let progress = Arc::new(LiveProgress::new(chat.clone(), interval));
    let catalogue = Arc::new(catalogue(&config)?);
    tracing::info!(ges = catalogue.all().count(), "GE catalogue validated");
    let kube = crate::kube::KubeLayer::new(&config, catalogue, store.clone());
    let ctx = StepCtx {
        data_dir: data_dir.clone(),
        store: store.clone(),
        engine: Some(Engine::from_config(&config, store.clone())),
        kube: Some(kube.clone()),
    };
    let worker = Worker::new(
        store.clone(),
        progress.clone(),
        ctx,
        config.limits.concurrent_jobs,
    );
    let handle = worker.handle();
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let config = Arc::new(config);
    let dispatcher = Dispatcher::new(
        policy,
        config,
        store.clone(),
        chat,
        progress,
        handle.clone(),
        Some(kube),
    );

    let intake = shutdown.child_token();
    let worker_stop = CancellationToken::new();
    let worker_task = tokio::spawn(worker.run(worker_stop.clone(), grace));
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
                Some(msg) => {
                    dispatcher.handle(&msg).await;
                    msg.mark_handled();
                }
                None => {
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
    worker_stop.cancel();
    for t in adapter_tasks {
        // Adapters stop at once on `intake`; a join error is a panic that was already logged.
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    match worker_task.await {
        Ok(r) => r?,
        Err(e) => tracing::error!(error = %e, "the worker task panicked"),
    }
    store.flush()?;
    Ok(())
}

/// The offline job listing of `labkube jobs`: active jobs and the last `last` finished ones.
pub fn list_jobs(dir: &Path, last: usize) -> Result<String, AppError> {
    if !dir.join("db").exists() && !dir.join("conf").exists() {
        return Ok(format!(
            "no job store in {} (nothing has run there yet)",
            dir.display()
        ));
    }
    let store = SledStore::open(dir)?;
    let mut out = Vec::new();
    let active = store.active()?;
    out.push(format!("{} active job(s)", active.len()));
    let finished: Vec<_> = store
        .recent(last.saturating_mul(4).max(last))?
        .into_iter()
        .filter(|j| j.state.is_terminal())
        .take(last)
        .collect();
    for j in active.iter().chain(finished.iter()) {
        let extra = match &j.state {
            crate::store::JobState::Failed { reason } => format!(" ({reason})"),
            crate::store::JobState::Running { step } => {
                format!(" at step {}/{}", step + 1, j.plan.len())
            }
            _ => String::new(),
        };
        out.push(format!(
            "#{:<6} {:<9} {}{extra} - {} by {} on {}",
            j.id,
            j.state.word(),
            j.kind.title(),
            j.command_text,
            j.requested_by.user,
            j.requested_by.platform
        ));
    }
    Ok(out.join("\n"))
}
