//! The `labkube` command: a thin shim over the library (see `labkube --help`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use labkube::{app, chat::ConsoleIo, config::Config};
use tokio_util::sync::CancellationToken;

/// Chat-ops bot that provisions Kubernetes on lab VMs and deploys FIWARE Generic Enablers.
#[derive(Parser)]
#[command(name = "labkube", version, about)]
struct Cli {
    /// How log lines are written to stderr: `text` (coloured only on a terminal) or `json`
    /// (one object per line, for log shippers).
    #[arg(long, global = true, value_enum, env = "LABKUBE_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line: timestamp, level, target, message and the event's fields.
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon with every chat adapter the config enables.
    Run {
        /// Config file (see config.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// A chat room in this terminal where you are an admin; needs no config and no tokens.
    Console {
        /// Config file; optional.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Data directory (overrides the config's data_dir) [default: ./labkube-data].
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// Check a config file and report every problem in it; exit 1 if there is any.
    CheckConfig {
        /// The config file.
        file: PathBuf,
    },
    /// List jobs from a data directory while the bot is stopped.
    Jobs {
        /// Data directory.
        #[arg(long, value_name = "DIR", default_value = labkube::config::DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// How many finished jobs to list besides the active ones.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
    /// The audit trail, read while the bot is stopped.
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Back up or move a store (sled:DIR or etcd:URL[,URL...]), with the bot stopped.
    Store {
        #[command(subcommand)]
        command: StoreCmd,
        /// Key prefix of an etcd store.
        #[arg(long, global = true, default_value = "/labkube/")]
        prefix: String,
        /// Environment variable holding an etcd store's sealing key (64 hex digits).
        #[arg(long, global = true, default_value = "LABKUBE_STORE_KEY")]
        key_env: String,
    },
}

#[derive(Subcommand)]
enum StoreCmd {
    /// Write every record as JSON lines: a backup of any store (secrets included: the file is
    /// made 0600 and never over an existing one).
    Export {
        /// The store.
        #[arg(long, value_name = "STORE", default_value = "sled:./labkube-data")]
        store: String,
        /// File to write; default: standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Copy every record of one store into another (empty, or an earlier copy), then check
    /// that both hold the same; running it again changes nothing.
    Migrate {
        /// The store to copy.
        #[arg(long, value_name = "STORE")]
        from: String,
        /// The store to copy into.
        #[arg(long, value_name = "STORE")]
        to: String,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the audit trail's hash chain; exit 1 if an entry was edited, inserted or removed.
    Verify {
        /// Data directory.
        #[arg(long, value_name = "DIR", default_value = labkube::config::DEFAULT_DATA_DIR)]
        data: PathBuf,
    },
}

/// Default log directives for matrix-sdk: at INFO it logs every sync it processes and every
/// event it sends, each with its whole filter (about 4 KB per handled command), at ERROR every
/// failed request (an absent account-data entry is a 404 it expects), and it warns at every
/// sync of an encrypted room that no key backup is set up. Its crates log warnings only; the
/// adapter logs what matters itself (a sync that failed and is retried, a message it cannot
/// decrypt). `RUST_LOG` replaces all of this.
const SDK_NOISE: &str = "matrix_sdk=warn,matrix_sdk_base=warn,matrix_sdk_crypto=warn,\
                         matrix_sdk_common=warn,matrix_sdk::http_client=off,\
                         matrix_sdk_crypto::backups=error";

fn main() -> ExitCode {
    // Everything the bot makes is its user's alone (the data dir holds admin kubeconfigs),
    // whatever umask it was started with.
    labkube::store::private_umask();
    // One TLS provider for every client (kube-rs now, the chat clients later): rustls refuses
    // to choose when more than one is compiled in. `Err` means one is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Cmd::Console { .. }
            | Cmd::CheckConfig { .. }
            | Cmd::Jobs { .. }
            | Cmd::Audit { .. }
            | Cmd::Store { .. }
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let level = if quiet { "warn" } else { "info" };
        tracing_subscriber::EnvFilter::new(format!("{level},{SDK_NOISE}"))
    });
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        // Colours only on a terminal: a log file or journald gets plain text.
        LogFormat::Text => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => log.json().flatten_event(true).with_ansi(false).init(),
    }
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("labkube: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: the crate's errors already name their
/// cause in their message, so a cause that message contains is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::CheckConfig { file } => match app::check_config(&file) {
            Ok(c) => {
                let catalogue = app::catalogue(&c)?;
                println!(
                    "{} is valid: {} user(s), {} room(s), {} cluster(s), {} GE(s) in the catalogue; data in {}",
                    file.display(),
                    c.users.len(),
                    c.rooms.len(),
                    c.clusters.len(),
                    catalogue.all().count(),
                    c.data_dir.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Cmd::Audit {
            command: AuditCmd::Verify { data },
        } => {
            let (text, intact) = app::verify_audit(&data)
                .with_context(|| format!("cannot read the audit trail in {}", data.display()))?;
            println!("{text}");
            Ok(if intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Store {
            command,
            prefix,
            key_env,
        } => {
            let access = app::EtcdAccess { prefix, key_env };
            match command {
                StoreCmd::Export { store, out } => {
                    let from = app::open_spec(&store, &access)?;
                    let summary = app::export(from.as_ref(), out.as_deref())
                        .with_context(|| format!("cannot export {store}"))?;
                    eprintln!("{summary}");
                }
                StoreCmd::Migrate { from, to } => {
                    let (source, target) = (
                        app::open_spec(&from, &access)?,
                        app::open_spec(&to, &access)?,
                    );
                    let summary = app::migrate(source.as_ref(), target.as_ref())
                        .with_context(|| format!("cannot migrate {from} to {to}"))?;
                    println!("{summary}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Jobs { data, last } => {
            let text = app::list_jobs(&data, last)
                .with_context(|| format!("cannot list jobs in {}", data.display()))?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run { config } => {
            let config = app::check_config(&config)?;
            run_async(async {
                let shutdown = shutdown_on_signals()?;
                app::run_daemon(config, shutdown).await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Cmd::Console { config, data } => {
            let mut config = match config {
                Some(path) => app::check_config(&path)?,
                None => Config::default(),
            };
            if let Some(dir) = data {
                config.data_dir = dir;
            }
            run_async(async {
                let shutdown = shutdown_on_signals()?;
                app::run_console(config, ConsoleIo::stdio(), shutdown).await?;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

/// Runs `work` on a new runtime, then tears the runtime down without waiting on blocked
/// threads: tokio reads standard input on a blocking thread that cannot be interrupted, and an
/// ordinary drop would wait for the next line of input before the process could exit.
fn run_async<F: std::future::Future<Output = anyhow::Result<ExitCode>>>(
    work: F,
) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(work);
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signals() -> anyhow::Result<CancellationToken> {
    use tokio::signal::unix::{SignalKind, signal};
    let token = CancellationToken::new();
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let t = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("signal received; shutting down");
        t.cancel();
    });
    Ok(token)
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_log_directives_parse() {
        for level in ["info", "warn"] {
            let directives = format!("{level},{}", super::SDK_NOISE);
            assert!(
                tracing_subscriber::EnvFilter::try_new(&directives).is_ok(),
                "{directives}"
            );
        }
    }
}
