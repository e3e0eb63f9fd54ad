//! A real Synapse homeserver per test: installed once into a cached venv
//! (`scripts/test-setup-synapse.sh`), configured by hand (loopback only, SQLite in a temporary
//! directory, every rate limit off, a registration shared secret), started, waited for, and
//! killed on drop. Users are registered through the shared-secret admin API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};

const SECRET: &str = "labkube-test-shared-secret";
/// Longest time Synapse may take to answer /health after a start.
const START_LIMIT: Duration = Duration::from_secs(60);

static INSTALL: Mutex<()> = Mutex::new(());

/// The venv's python, installing Synapse first if needed (once per machine; serialised here).
fn python() -> PathBuf {
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/test-setup-synapse.sh"
    );
    let status = Command::new("bash")
        .arg(script)
        .status()
        .expect("run test-setup-synapse.sh");
    assert!(status.success(), "installing Synapse failed");
    let peers = std::env::var_os("LABKUBE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/labkube-peers")
        });
    peers.join("synapse-venv/bin/python")
}

/// A running Synapse on 127.0.0.1.
pub struct Synapse {
    dir: tempfile::TempDir,
    python: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Synapse {
    /// Starts a fresh homeserver (server name `localhost`).
    pub fn start() -> Synapse {
        let python = python();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        write_config(dir.path(), port);
        let out = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(dir.path().join("homeserver.yaml"))
            .arg("--generate-keys")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "synapse --generate-keys: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut s = Synapse {
            dir,
            python,
            port,
            child: None,
        };
        s.run();
        s
    }

    /// Base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("stdout.log")).unwrap();
        let child = Command::new(&self.python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.path().join("homeserver.yaml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start synapse");
        self.child = Some(child);
        let deadline = Instant::now() + START_LIMIT;
        while !self.healthy() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("synapse exited with {status}: {}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "synapse not healthy within {START_LIMIT:?}: {}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn healthy(&self) -> bool {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        crate::http::get(addr, "/health").is_some_and(|(status, _)| status == 200)
    }

    fn log_tail(&self) -> String {
        let mut out = String::new();
        for f in ["stdout.log", "homeserver.log"] {
            let t = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
            let lines: Vec<&str> = t.lines().collect();
            out.push_str(&lines[lines.len().saturating_sub(30)..].join("\n"));
        }
        out
    }

    /// Kills the homeserver (SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and database.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "synapse is still running");
        self.run();
    }

    /// Registers `user` with `password` (shared-secret admin API); returns `@user:localhost`.
    pub async fn register(&self, user: &str, password: &str, admin: bool) -> String {
        let http = matrix_sdk::reqwest::Client::new();
        let url = format!("{}/_synapse/admin/v1/register", self.url());
        let nonce = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        let nonce: serde_json::Value = serde_json::from_slice(&nonce).unwrap();
        let nonce = nonce["nonce"].as_str().unwrap().to_string();
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
        let role = if admin { "admin" } else { "notadmin" };
        mac.update(format!("{nonce}\0{user}\0{password}\0{role}").as_bytes());
        let mac: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let body = serde_json::json!({
            "nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac,
        });
        let r = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "register {user}: {}",
            r.text().await.unwrap()
        );
        format!("@{user}:localhost")
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(dir: &Path, port: u16) {
    let d = dir.display();
    let limit = "{per_second: 10000, burst_count: 10000}";
    let yaml = format!(
        r#"server_name: "localhost"
public_baseurl: "http://127.0.0.1:{port}/"
pid_file: {d}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources: [{{names: [client], compress: false}}]
database: {{name: sqlite3, args: {{database: {d}/homeserver.db}}}}
log_config: "{d}/log.config"
media_store_path: {d}/media_store
signing_key_path: "{d}/localhost.signing.key"
registration_shared_secret: "{SECRET}"
macaroon_secret_key: "test-macaroon-secret"
form_secret: "test-form-secret"
enable_registration: false
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
presence: {{enabled: false}}
url_preview_enabled: false
rc_message: {limit}
rc_registration: {limit}
rc_registration_token_validity: {limit}
rc_login: {{address: {limit}, account: {limit}, failed_attempts: {limit}}}
rc_admin_redaction: {limit}
rc_joins: {{local: {limit}, remote: {limit}}}
rc_joins_per_room: {limit}
rc_3pid_validation: {limit}
rc_invites: {{per_room: {limit}, per_user: {limit}, per_issuer: {limit}}}
rc_third_party_invite: {limit}
rc_media_create: {limit}
rc_presence: {{per_user: {limit}}}
rc_delayed_event_mgmt: {limit}
rc_room_creation: {limit}
rc_reports: {limit}
rc_user_directory: {limit}
rc_profile: {limit}
"#
    );
    std::fs::write(dir.join("homeserver.yaml"), yaml).unwrap();
    let log = format!(
        r#"version: 1
formatters:
  precise: {{format: '%(asctime)s - %(name)s - %(levelname)s - %(message)s'}}
handlers:
  file: {{class: logging.FileHandler, formatter: precise, filename: {d}/homeserver.log}}
root: {{level: WARNING, handlers: [file]}}
disable_existing_loggers: false
"#
    );
    std::fs::write(dir.join("log.config"), log).unwrap();
}
