//! Shared test fixtures: stores, sinks, a recording chat, and a child `labkube` process driver.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use labkube::auth::{Policy, Principal, Role, RoomRef, RoomSettings};
use labkube::chat::{Attachment, ChatError, Replier};
use labkube::config::Config;
use labkube::jobs::Worker;
use labkube::progress::MessageRef;
use labkube::progress::ProgressSink;
use labkube::store::{JobKind, JobStore, NewJob, Origin, Requester};

/// The `labkube` binary of this build: `target/<profile>/labkube`, which Cargo builds before
/// the integration tests and benchmarks of the package. `CARGO_BIN_EXE_labkube` (which Cargo
/// sets at compile time for those targets only, so this library cannot use it) names it too.
pub fn labkube_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_BIN_EXE_labkube") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test or bench>-<hash> → target/<profile>/labkube
    let mut dir = exe.parent().expect("the test binary's directory");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("the profile's directory");
    }
    let bin = dir.join("labkube");
    assert!(
        bin.is_file(),
        "no labkube binary at {} (built by `cargo test` / `cargo bench`)",
        bin.display()
    );
    bin
}

/// The bot's worker built from `config` over `store`, reporting to `sink`; its dispatcher (no
/// users, a recording chat) is dropped.
pub fn bare_worker(
    config: Config,
    store: Arc<dyn JobStore>,
    sink: Arc<dyn ProgressSink>,
) -> Worker {
    let chat = Arc::new(RecordingChat::default());
    labkube::app::Bot::build(
        config,
        store,
        Policy::new(),
        chat,
        sink,
        labkube::metrics::Metrics::new(),
    )
    .expect("the built-in GE catalogue validates")
    .worker
}

/// A new job of `kind` from `alice` in room `r1`.
pub fn new_job(kind: JobKind) -> NewJob {
    NewJob {
        plan: labkube::jobs::plan(&kind),
        kind,
        requested_by: Requester {
            platform: "test".into(),
            user: "alice".into(),
        },
        origin: Origin {
            platform: "test".into(),
            room: "r1".into(),
            event_id: "e".into(),
        },
        command_text: "/selftest".into(),
    }
}

/// A policy that allows one room of `platform` (its namespace `namespace`) and `users` of
/// that platform with their roles.
pub fn room_policy(platform: &str, room: &str, namespace: &str, users: &[(&str, Role)]) -> Policy {
    let mut policy = Policy::new();
    policy.allow_room(
        RoomRef {
            platform: platform.into(),
            room: room.into(),
        },
        RoomSettings {
            namespace: namespace.into(),
            ..Default::default()
        },
    );
    for (user, role) in users {
        policy.allow_user(
            Principal {
                platform: platform.into(),
                user: (*user).into(),
            },
            *role,
        );
    }
    policy
}

/// What a [`RecordingChat`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A new message.
    Send {
        id: String,
        text: String,
        at: tokio::time::Instant,
    },
    /// An edit of message `id`.
    Edit {
        id: String,
        text: String,
        at: tokio::time::Instant,
    },
}

/// A chat that records sends and edits (with tokio time, so paused-time tests can read it),
/// and the files sent with replies.
#[derive(Default)]
pub struct RecordingChat {
    pub log: Mutex<Vec<Sent>>,
    /// Each file, with the id of the message it followed.
    pub files: Mutex<Vec<(String, Attachment)>>,
}

#[async_trait]
impl Replier for RecordingChat {
    async fn send(&self, platform: &str, room: &str, text: &str) -> Result<MessageRef, ChatError> {
        let mut log = self.log.lock().unwrap();
        let id = format!("m{}", log.len() + 1);
        log.push(Sent::Send {
            id: id.clone(),
            text: text.into(),
            at: tokio::time::Instant::now(),
        });
        Ok(MessageRef {
            platform: platform.into(),
            room: room.into(),
            id,
        })
    }

    async fn edit(&self, message: &MessageRef, text: &str) -> Result<(), ChatError> {
        let mut log = self.log.lock().unwrap();
        log.push(Sent::Edit {
            id: message.id.clone(),
            text: text.into(),
            at: tokio::time::Instant::now(),
        });
        Ok(())
    }

    async fn reply_with_file(
        &self,
        platform: &str,
        room: &str,
        _to: &str,
        _user: &str,
        text: &str,
        file: &Attachment,
    ) -> Result<MessageRef, ChatError> {
        let sent = self.send(platform, room, text).await?;
        self.files
            .lock()
            .unwrap()
            .push((sent.id.clone(), file.clone()));
        Ok(sent)
    }
}

/// An `[intake]` section for benchmarks, which send as fast as they like and keep many jobs in
/// one room: they measure labkube, not its rate limits.
pub const UNLIMITED_INTAKE: &str = "[intake]\nuser_burst = 1000\nuser_per_minute = 6000\n\
                                    room_burst = 1000\nroom_per_minute = 6000\nroom_jobs = 1000";

/// Writes a config with a short progress interval (so edits show in short tests).
pub fn fast_config(dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    // Tests provision loopback only: anything else is refused before a connection is tried.
    std::fs::write(
        &path,
        "[limits]\nprogress_interval_ms = 250\nshutdown_grace_secs = 5\n\
         [ssh]\nallowed_networks = [\"127.0.0.0/8\"]\n",
    )
    .unwrap();
    path
}

/// A `labkube console` child with piped stdin/stdout, its output collected line by line.
pub struct Bot {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Bot {
    /// Starts `labkube console --config <config> --data <data>`.
    pub fn console(config: &Path, data: &Path) -> Bot {
        Bot::spawn(Command::new(labkube_bin()), config, data)
    }

    /// [`Bot::console`] started under `umask` (such as `"000"`), through `sh -c 'umask ...'`.
    pub fn console_with_umask(config: &Path, data: &Path, umask: &str) -> Bot {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(labkube_bin());
        Bot::spawn(sh, config, data)
    }

    fn spawn(mut cmd: Command, config: &Path, data: &Path) -> Bot {
        let mut child = cmd
            .args(["console", "--config"])
            .arg(config)
            .arg("--data")
            .arg(data)
            .env("USER", "tester")
            // A HOME of its own: the default SSH key (~/.ssh/id_ed25519) is never this machine's.
            .env("HOME", data.parent().unwrap_or(data))
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start labkube");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Bot {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Types a line.
    pub fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits (at most `limit`) for an output line containing `needle`; returns it.
    pub fn expect(&mut self, needle: &str, limit: Duration) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line containing {needle:?} within {limit:?}; output so far:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "labkube exited before printing {needle:?}; output:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// The next output line, waiting at most until `until`; `None` when none came by then.
    /// Panics when the bot exited (a crash the caller did not cause).
    pub fn next_line(&mut self, until: Instant) -> Option<String> {
        let left = until.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                panic!("labkube exited unasked; output:\n{}", self.seen.join("\n"))
            }
        }
    }

    /// Closes stdin (end of input) and waits, at most `limit`, for a clean exit; returns the
    /// rest of the output.
    pub fn finish(mut self, limit: Duration) -> Vec<String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "labkube exited with {status}; output:\n{}",
                    self.seen.join("\n")
                );
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "labkube did not exit within {limit:?} after end of input; output:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        self.seen
    }

    /// Waits, at most `limit`, for the bot to exit by itself; returns its status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "labkube did not exit within {limit:?}; output:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs the bot and reaps it.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        self.seen
    }
}

/// A `labkube run` daemon, its output appended to `bot.log` in `dir` (the config is
/// `dir/config.toml`); SIGKILLed on drop.
pub struct Daemon {
    child: Option<Child>,
}

impl Daemon {
    /// Starts `labkube run --config dir/config.toml` with `env` added.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("bot.log"))
            .unwrap();
        let mut cmd = Command::new(labkube_bin());
        cmd.args(["run", "--config"])
            .arg(dir.join("config.toml"))
            .env("HOME", dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // An empty RUST_LOG: the bot's own default filter, as a user who sets none gets it.
        if env.iter().any(|(k, v)| *k == "RUST_LOG" && v.is_empty()) {
            cmd.env_remove("RUST_LOG");
        }
        Daemon {
            child: Some(cmd.spawn().expect("start labkube run")),
        }
    }

    /// Sends SIGTERM and waits, at most `limit`, for the exit; returns its status.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the daemon is running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("labkube run did not exit within {limit:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs the daemon and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Prints the bot's log (`bot.log` in the directory a [`Daemon`] runs in) when a test fails,
/// so the failure can be read.
pub struct LogOnPanic(PathBuf);

impl LogOnPanic {
    pub fn in_dir(dir: &Path) -> LogOnPanic {
        LogOnPanic(dir.join("bot.log"))
    }
}

impl Drop for LogOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            eprintln!("--- bot.log ---\n{log}");
        }
    }
}

/// Runs the real `kubectl` with the kubeconfig at `kubeconfig`; (success, stdout, stderr).
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("kubectl is needed (scripts/test.sh installs Debian's kubernetes-client): {e}")
        });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
