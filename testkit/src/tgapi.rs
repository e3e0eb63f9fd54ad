//! The Telegram Bot API emulator per test: the npm package `telegram-test-api`, installed once
//! into a cache (`scripts/test-setup-telegram.sh`), behind our compatibility layer
//! (`tests/peers/telegram-compat.js`), on 127.0.0.1 and a free port. Killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The bot's token in every test (the emulator accepts any).
pub const TOKEN: &str = "123456:TEST-token_never-real";
/// The bot's user name the emulator reports.
pub const BOT_USERNAME: &str = "labkube_test_bot";
/// Longest time the emulator may take to listen.
const START_LIMIT: Duration = Duration::from_secs(20);

static INSTALL: Mutex<()> = Mutex::new(());

/// The folder holding the emulator's `node_modules`, installing it first if needed.
fn modules() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/test-setup-telegram.sh"
    );
    let status = Command::new("bash")
        .arg(script)
        .status()
        .expect("run test-setup-telegram.sh");
    assert!(status.success(), "installing telegram-test-api failed");
    std::env::var_os("LABKUBE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/labkube-peers")
        })
        .join("tg")
}

/// JSON over HTTP to the emulator (its user side and our controls).
#[derive(Clone)]
pub struct Http {
    url: String,
    client: reqwest::Client,
}

impl Http {
    /// A client of the emulator at `url`.
    pub fn new(url: &str) -> Http {
        Http {
            url: url.into(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    /// POSTs JSON; returns the answer's `result`.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r: Value = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
            .json()
            .await
            .unwrap();
        assert_eq!(r["ok"], json!(true), "POST {path}: {r}");
        r["result"].clone()
    }

    /// GETs `path`; returns the body as it came (a file).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.bytes().await.unwrap().to_vec()
    }

    /// GETs `path`; returns the answer's `result`.
    pub async fn get(&self, path: &str) -> Value {
        let r: Value = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .await
            .unwrap();
        r["result"].clone()
    }
}

/// A running emulator.
pub struct TgApi {
    dir: tempfile::TempDir,
    modules: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl TgApi {
    /// Starts a fresh emulator.
    pub fn start() -> TgApi {
        let mut api = TgApi {
            dir: tempfile::tempdir().unwrap(),
            modules: modules(),
            port: 0,
            child: None,
        };
        api.launch();
        api
    }

    fn launch(&mut self) {
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/peers/telegram-compat.js"
            ))
            .env("TG_MODULES", &self.modules)
            .env("TG_PORT", self.port.to_string())
            .env("TG_STATE", self.dir.path().join("state.json"))
            .env("TG_BOT_USERNAME", BOT_USERNAME)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (is Node.js installed?)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_LIMIT;
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.starts_with("listening on") => break l,
                Ok(_) => continue,
                Err(e) => {
                    let _ = child.kill();
                    panic!("the Telegram emulator did not start within {START_LIMIT:?}: {e}");
                }
            }
        };
        self.port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        self.child = Some(child);
    }

    /// The Bot API base URL for the bot's config.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server, keeping its messages (as Telegram would across an outage).
    pub async fn stop(&mut self) {
        self.post("/_compat/save", json!({})).await;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the saved messages.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the emulator is running");
        self.launch();
    }

    /// A client of this emulator.
    pub fn http(&self) -> Http {
        Http::new(&self.url())
    }

    /// POSTs JSON to the emulator; returns its `result`.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.http().post(path, body).await
    }

    /// Every Bot API call the bot made so far (see telegram-compat.js).
    pub async fn calls(&self) -> Vec<Value> {
        let r = self.http().get("/_compat/calls").await;
        r.as_array().cloned().unwrap_or_default()
    }

    /// The next `count` calls of `method` fail with HTTP 429 and `retry_after` seconds.
    pub async fn fail(&self, method: &str, count: u32, retry_after: u32) {
        self.post(
            "/_compat/fail",
            json!({ "method": method, "count": count, "retry_after": retry_after }),
        )
        .await;
    }
}

impl Drop for TgApi {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
