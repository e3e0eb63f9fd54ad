//! Real OpenSSH `sshd` hosts for tests and the `ssh_overhead` and `provision` benchmarks (it
//! uses only std and `tempfile`).
//!
//! Every [`SshdHost`] is its own "machine": its own loopback address 127.0.0.N (N from 10 up, a
//! process-wide counter, so parallel tests never collide), a free port, its own ed25519 host key
//! and an `sshd -D` child process that is killed on drop. Everything binds to 127.0.0.0/8 only
//! and every wait is bounded.
//!
//! Needs `scripts/test-setup-ssh.sh` to have run once (sshd, ssh-keygen, sudo, /run/sshd and the
//! users `labkube-ci` / `labkube-pw`); a missing prerequisite fails the test saying so.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// What to tell someone whose machine lacks a prerequisite.
pub const SETUP_HINT: &str =
    "run scripts/test-setup-ssh.sh (as root) to install the SSH test prerequisites";

/// The sshd binary.
pub const SSHD: &str = "/usr/sbin/sshd";

/// How long a host may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(5);

/// Users the non-root tests log in as (created by `scripts/test-setup-ssh.sh`).
pub const SUDO_USER: &str = "labkube-ci";
/// A user whose sudo asks for a password.
pub const PASSWORD_SUDO_USER: &str = "labkube-pw";

/// The version of this machine's OpenSSH sshd (`9.6p1`), as the benchmarks report it.
pub fn version() -> String {
    let out = std::process::Command::new(SSHD).arg("-V").output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    text.split([',', ' '])
        .next()
        .unwrap_or("?")
        .trim_start_matches("OpenSSH_")
        .to_string()
}

/// Fails (never skips) if sshd or ssh-keygen or /run/sshd is missing.
pub fn require_sshd() {
    let mut missing = Vec::new();
    if !Path::new(SSHD).is_file() {
        missing.push(SSHD.to_string());
    }
    if !on_path("ssh-keygen") {
        missing.push("ssh-keygen".into());
    }
    if !Path::new("/run/sshd").is_dir() {
        missing.push("/run/sshd (sshd's privilege-separation directory)".into());
    }
    assert!(
        missing.is_empty(),
        "missing {}: {SETUP_HINT}",
        missing.join(", ")
    );
}

/// Fails (never skips) unless the non-root test users and their sudo rules exist.
pub fn require_users() {
    require_sshd();
    let mut missing = Vec::new();
    if !on_path("sudo") {
        missing.push("sudo".to_string());
    }
    for user in [SUDO_USER, PASSWORD_SUDO_USER] {
        let known = Command::new("id")
            .args(["-u", user])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !known {
            missing.push(format!("user {user}"));
        }
        if !Path::new("/etc/sudoers.d").join(user).is_file() {
            missing.push(format!("/etc/sudoers.d/{user}"));
        }
    }
    assert!(
        missing.is_empty(),
        "missing {}: {SETUP_HINT}",
        missing.join(", ")
    );
}

/// Also used by the benchmark for `ssh`.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// The next unused loopback address: 127.0.0.10, .11, ... (then 127.0.1.10, ...).
pub fn next_loopback() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let i = NEXT.fetch_add(1, Ordering::Relaxed);
    Ipv4Addr::new(127, 0, (i / 240) as u8, (10 + i % 240) as u8)
}

/// `n` fresh loopback addresses, reserved for one test.
pub fn reserve_loopbacks(n: usize) -> Vec<Ipv4Addr> {
    (0..n).map(|_| next_loopback()).collect()
}

/// A port nobody listens on at `ip` right now (bind `ip:0`, read it, let go).
pub fn free_port(ip: Ipv4Addr) -> u16 {
    assert!(ip.is_loopback(), "tests bind to 127.0.0.0/8 only");
    let l = TcpListener::bind((ip, 0)).expect("bind a loopback port");
    l.local_addr().expect("local addr").port()
}

fn keygen(args: &[&str]) {
    let out = Command::new("ssh-keygen")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("ssh-keygen: {e}: {SETUP_HINT}"));
    assert!(
        out.status.success(),
        "ssh-keygen {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ssh-keygen -lf <pub>`'s `SHA256:...` field.
pub fn keygen_fingerprint(public_key_file: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public_key_file)
        .output()
        .expect("ssh-keygen -lf");
    assert!(out.status.success(), "ssh-keygen -lf failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint field")
        .to_string()
}

/// A client key pair made by `ssh-keygen` in its own temporary directory.
pub struct ClientKey {
    /// Private key file.
    pub path: PathBuf,
    /// The OpenSSH public-key line.
    pub public: String,
    /// The passphrase it was encrypted with, if any.
    pub passphrase: Option<String>,
    _dir: TempDir,
}

impl ClientKey {
    fn generate(kind: &[&str], passphrase: Option<&str>) -> ClientKey {
        let dir = tempfile::Builder::new()
            .prefix("labkube-key-")
            .tempdir()
            .expect("tempdir");
        let path = dir.path().join("id");
        let p = path.to_str().expect("utf-8 path");
        let mut args = kind.to_vec();
        args.extend([
            "-q",
            "-C",
            "labkube-test",
            "-N",
            passphrase.unwrap_or(""),
            "-f",
            p,
        ]);
        keygen(&args);
        let public = fs::read_to_string(path.with_extension("pub"))
            .expect("public key")
            .trim()
            .to_string();
        ClientKey {
            path,
            public,
            passphrase: passphrase.map(String::from),
            _dir: dir,
        }
    }

    /// An unencrypted ed25519 key.
    pub fn ed25519() -> ClientKey {
        Self::generate(&["-t", "ed25519"], None)
    }

    /// An ed25519 key encrypted with `passphrase`.
    pub fn ed25519_with_passphrase(passphrase: &str) -> ClientKey {
        Self::generate(&["-t", "ed25519"], Some(passphrase))
    }

    /// An unencrypted 3072-bit RSA key.
    pub fn rsa() -> ClientKey {
        Self::generate(&["-t", "rsa", "-b", "3072"], None)
    }
}

/// One sshd "host" on its own loopback address.
pub struct SshdHost {
    /// Its address (127.0.0.N).
    pub ip: Ipv4Addr,
    /// Its port.
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl SshdHost {
    /// A host where `key` may log in as root, `labkube-ci` and `labkube-pw`.
    pub fn start(key: &ClientKey) -> SshdHost {
        Self::start_with(&[key], &[])
    }

    /// A host where each of `keys` may log in as every user, with `extra` appended to its
    /// sshd_config. `SetEnv` lines are merged into the one the harness writes (sshd honours only
    /// the first `SetEnv` line), e.g. `SetEnv PATH=/stand-ins:/usr/bin:/bin`.
    pub fn start_with(keys: &[&ClientKey], extra: &[&str]) -> SshdHost {
        let ip = next_loopback();
        Self::start_on(ip, free_port(ip), keys, extra)
    }

    /// Hosts at `ips` (from [`reserve_loopbacks`]) sharing one port, as `/cluster create`
    /// takes one `port=` for all hosts; `extra(i)` gives host `i`'s extra config lines.
    pub fn start_many_at(
        ips: &[Ipv4Addr],
        keys: &[&ClientKey],
        extra: impl Fn(usize) -> Vec<String>,
    ) -> Vec<SshdHost> {
        let port = (0..50)
            .map(|_| free_port(ips[0]))
            .find(|p| ips.iter().all(|ip| TcpListener::bind((*ip, *p)).is_ok()))
            .expect("a port free on every test address");
        ips.iter()
            .enumerate()
            .map(|(i, ip)| {
                let lines = extra(i);
                let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
                Self::start_on(*ip, port, keys, &refs)
            })
            .collect()
    }

    /// A host at `ip:port` (both chosen by the caller; `ip` must be loopback).
    pub fn start_on(ip: Ipv4Addr, port: u16, keys: &[&ClientKey], extra: &[&str]) -> SshdHost {
        require_sshd();
        assert!(ip.is_loopback(), "tests use 127.0.0.0/8 only");
        let dir = tempfile::Builder::new()
            .prefix("labkube-sshd-")
            .tempdir()
            .expect("tempdir");
        // sshd reads authorized keys as the login user: the path must be readable by all.
        let auth_dir = dir.path().join("authorized_keys");
        fs::create_dir(&auth_dir).expect("mkdir");
        set_mode(dir.path(), 0o755);
        set_mode(&auth_dir, 0o755);
        let lines: String = keys.iter().map(|k| format!("{}\n", k.public)).collect();
        for user in ["root", SUDO_USER, PASSWORD_SUDO_USER] {
            let f = auth_dir.join(user);
            fs::write(&f, &lines).expect("write authorized_keys");
            set_mode(&f, 0o644);
        }
        let d = dir.path().display();
        let mut setenv = vec!["SHLVL=1".to_string()];
        let mut others = Vec::new();
        for line in extra {
            match line.trim().strip_prefix("SetEnv ") {
                Some(vars) => setenv.push(vars.trim().to_string()),
                None => others.push(line.to_string()),
            }
        }
        let config = format!(
            "ListenAddress {ip}:{port}\n\
             HostKey {d}/host_key\n\
             PidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys/%u\n\
             PermitRootLogin prohibit-password\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             UsePAM no\n\
             StrictModes no\n\
             UseDNS no\n\
             MaxStartups 200:30:400\n\
             MaxSessions 200\n\
             SetEnv {}\n\
             LogLevel ERROR\n\
             {}\n",
            setenv.join(" "),
            others.join("\n"),
        );
        fs::write(dir.path().join("sshd_config"), config).expect("write sshd_config");
        let mut host = SshdHost {
            ip,
            port,
            dir,
            child: None,
        };
        host.new_host_key();
        host.spawn();
        host
    }

    /// `ip:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, self.port))
    }

    /// The temporary directory of this host (config, keys, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The host's public key line (`ssh-ed25519 AAAA...`, without comment).
    pub fn host_public_key(&self) -> String {
        let line = fs::read_to_string(self.dir.path().join("host_key.pub")).expect("host key");
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The host key's fingerprint as `ssh-keygen -lf` prints it.
    pub fn host_key_fingerprint(&self) -> String {
        keygen_fingerprint(&self.dir.path().join("host_key.pub"))
    }

    /// The known_hosts line for this host: `[127.0.0.N]:port ssh-ed25519 AAAA...`.
    pub fn known_hosts_line(&self) -> String {
        format!("[{}]:{} {}", self.ip, self.port, self.host_public_key())
    }

    /// Stops sshd, gives the host a new host key, and starts it again on the same address and
    /// port (a "reinstalled" machine).
    pub fn restart_with_new_key(&mut self) {
        self.stop();
        self.new_host_key();
        self.spawn();
    }

    /// Stops sshd (also done on drop). Existing connections are served by their own sshd
    /// processes and may outlive this.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn new_host_key(&self) {
        let key = self.dir.path().join("host_key");
        let _ = fs::remove_file(&key);
        let _ = fs::remove_file(key.with_extension("pub"));
        let comment = format!("host-{}", self.ip);
        keygen(&[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            &comment,
            "-f",
            key.to_str().expect("utf-8 path"),
        ]);
    }

    fn spawn(&mut self) {
        let log = self.dir.path().join("sshd.log");
        let stderr = fs::File::create(&log).expect("sshd.log");
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {SSHD}: {e}: {SETUP_HINT}"));
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "sshd on {} exited at start ({status}): {}\n({SETUP_HINT})",
                    self.addr(),
                    read_log(&log)
                );
            }
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "sshd on {} did not accept connections within {READY_WITHIN:?}: {}",
                    self.addr(),
                    read_log(&log)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }
}

impl Drop for SshdHost {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes a known_hosts file made of `lines`.
pub fn write_known_hosts(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).expect("write known_hosts");
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn read_log(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}
