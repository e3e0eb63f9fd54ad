//! The SSH layer against real OpenSSH sshd hosts (see `sshd.rs`): running scripts here,
//! connecting and host-key trust in `ssh/connect.rs`, scripts that must stop (timeouts, sudo)
//! in `ssh/stopping.rs`.

mod connect;
mod stopping;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::provision::remote::{HostKeyStore, RemoteError, RemoteExec, Script, Target};
use labkube::provision::ssh::{SshConfig, SshConnector, SshSession};
use labkube_testkit::host_keys::MemoryHostKeys;

use labkube_testkit::sshd::{ClientKey, PASSWORD_SUDO_USER, SUDO_USER, SshdHost, require_users};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn config(key: &ClientKey) -> SshConfig {
    SshConfig {
        key_path: key.path.clone(),
        passphrase: key.passphrase.clone(),
        known_hosts: None,
        connect_timeout: CONNECT_TIMEOUT,
        keepalive: Duration::from_secs(15),
    }
}

/// A connector pinning into a fresh in-memory store (returned too).
fn connector(key: &ClientKey) -> (SshConnector, Arc<MemoryHostKeys>) {
    let pins = Arc::new(MemoryHostKeys::new());
    let c = SshConnector::new(config(key), pins.clone()).expect("load key");
    (c, pins)
}

fn target(host: &SshdHost, user: &str) -> Target {
    Target {
        addr: IpAddr::V4(host.ip),
        port: host.port,
        user: user.into(),
    }
}

fn script(body: &str) -> Script {
    Script {
        step: "test".into(),
        body: body.into(),
        env: Vec::new(),
        privileged: false,
        timeout: Duration::from_secs(20),
    }
}

async fn root_session(host: &SshdHost, key: &ClientKey) -> SshSession {
    connector(key)
        .0
        .connect(&target(host, "root"))
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_a_script_with_stdout_stderr_and_exit_codes() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;

    let out = s.run(&script("echo out; echo err >&2")).await.unwrap();
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (Some(0), "out\n", "err\n")
    );
    assert!(out.success());

    let out = s
        .run(&script("echo partial\nexit 3\necho never"))
        .await
        .unwrap();
    assert_eq!((out.status, out.stdout.as_str()), (Some(3), "partial\n"));
    assert!(!out.success());

    let out = s.run(&script("labkube-no-such-command")).await.unwrap();
    assert_eq!(out.status, Some(127));
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    s.close().await;
    s.close().await; // idempotent
    assert!(s.run(&script("true")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_values_arrive_byte_identical_and_nothing_is_evaluated() {
    let key = ClientKey::ed25519();
    // A stand-in `reboot` first on PATH: if a value were ever evaluated, it would leave a mark
    // (and the real one is never at risk).
    let bin = tempfile::Builder::new()
        .prefix("labkube-bin-")
        .tempdir()
        .unwrap();
    let mark = bin.path().join("rebooted");
    let fake = bin.path().join("reboot");
    std::fs::write(&fake, format!("#!/bin/sh\ntouch {}\n", mark.display())).unwrap();
    std::process::Command::new("chmod")
        .args(["0755"])
        .arg(bin.path())
        .arg(&fake)
        .status()
        .unwrap();
    let path_line = format!("SetEnv PATH={}:/usr/bin:/bin", bin.path().display());
    let host = SshdHost::start_with(&[&key], &[&path_line]);
    let s = root_session(&host, &key).await;

    // The stand-in really is what `reboot` means there.
    let out = s.run(&script("command -v reboot")).await.unwrap();
    assert_eq!(out.stdout.trim(), fake.display().to_string());

    let values = [
        "$(reboot)",
        "`reboot`",
        "it's",
        "\"double\" quoted",
        "back\\slash \\n \\\\",
        "line one\nline two\n",
        "  leading and trailing spaces  ",
        "tab\there",
        "$HOME ${PATH} $$ $0",
        "; reboot; echo '",
        "",
        "ünïcødé ✓",
        "'\"'\"'",
        "\n",
        "!*?[a-z]{1,2}~#&|<>()",
    ];
    let mut sc = script("");
    let mut body = String::new();
    for (i, v) in values.iter().enumerate() {
        sc.env.push((format!("V_{i}"), v.to_string()));
        body.push_str(&format!("printf '%s\\0' \"$V_{i}\"\n"));
    }
    sc.body = body;
    let out = s.run(&sc).await.unwrap();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let got: Vec<&str> = out.stdout.split('\0').collect();
    assert_eq!(&got[..values.len()], &values[..]);
    assert_eq!(got[values.len()], "");
    assert!(!mark.exists(), "a value was evaluated");

    // The shell running the script is the constant dispatcher `sh -c <text>`: no value ever
    // travels on a command line.
    let out = s.run(&sc_with_cmdline(sc)).await.unwrap();
    let cmdline = out.stdout.rsplit('\0').nth(1).unwrap();
    assert!(
        cmdline.starts_with("sh -c m=$(umask); ") && cmdline.ends_with("; done"),
        "{:?}",
        out.stdout
    );
    for v in values.iter().filter(|v| v.len() >= 3) {
        assert!(!cmdline.contains(v), "{v:?} in {cmdline:?}");
    }
}

/// `sc` plus a last line printing the running shell's own command line (space-separated).
fn sc_with_cmdline(mut sc: Script) -> Script {
    sc.body
        .push_str("printf '%s\\0' \"$(tr '\\0' ' ' < /proc/$$/cmdline | sed 's/ $//')\"\n");
    sc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_env_names_are_rejected_before_sending() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    for bad in ["A-B", "1ST", "A;reboot", "a b", ""] {
        let mut sc = script("echo ran");
        sc.env.push((bad.into(), "x".into()));
        match s.run(&sc).await {
            Err(RemoteError::Script { reason, .. }) => {
                assert!(
                    reason.contains("invalid environment variable name"),
                    "{reason}"
                )
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reading_stdin_do_not_swallow_the_script() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    let out = s
        .run(&script("cat\nread line || echo eof\necho after"))
        .await
        .unwrap();
    assert_eq!(out.stdout, "eof\nafter\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runs_reuse_one_connection() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let out = s.run(&script("echo $SSH_CONNECTION")).await.unwrap();
        // "client_ip client_port server_ip server_port"
        let fields: Vec<&str> = out.stdout.split_whitespace().collect();
        assert_eq!(fields.len(), 4, "{}", out.stdout);
        assert_eq!(fields[2], host.ip.to_string());
        seen.insert(fields[1].to_string());
    }
    assert_eq!(seen.len(), 1, "source ports: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_share_the_connection() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = Arc::new(root_session(&host, &key).await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.spawn(async move {
            let mut sc = script("sleep 0.3; echo \"$N $SSH_CONNECTION\"");
            sc.env.push(("N".into(), i.to_string()));
            (i, s.run(&sc).await.unwrap())
        });
    }
    let t0 = Instant::now();
    let mut conns = HashSet::new();
    while let Some(r) = tasks.join_next().await {
        let (i, out) = r.unwrap();
        let (n, conn) = out.stdout.trim().split_once(' ').unwrap();
        assert_eq!(n, i.to_string());
        conns.insert(conn.to_string());
    }
    assert_eq!(conns.len(), 1);
    // Parallel channels, not one after another (8 x 0.3 s).
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_hosts_at_once() {
    let key = ClientKey::ed25519();
    let hosts: Vec<SshdHost> = (0..30).map(|_| SshdHost::start(&key)).collect();
    let (c, pins) = connector(&key);
    let c = Arc::new(c);
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for h in &hosts {
        let (c, t) = (c.clone(), target(h, "root"));
        tasks.spawn(async move {
            let s = c.connect(&t).await?;
            let out = s.run(&script("echo $SSH_CONNECTION")).await?;
            s.close().await;
            Ok::<_, RemoteError>((t, out, s.first_contact()))
        });
    }
    let mut done = 0;
    while let Some(r) = tasks.join_next().await {
        let (t, out, fc) = r.unwrap().unwrap();
        assert_eq!(out.status, Some(0));
        assert!(
            out.stdout.contains(&format!(" {} {}", t.addr, t.port)),
            "{}",
            out.stdout
        );
        assert!(fc.is_some());
        assert!(pins.pinned(&t.pin_id()).unwrap().is_some());
        done += 1;
    }
    assert_eq!(done, 30);
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
}

fn uid(user: &str) -> String {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_persistent_shell_frames_any_output_exactly_and_recovers_from_a_timeout() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    let run = |body: &str| {
        let sc = script(body);
        let s = &s;
        async move { s.run(&sc).await.unwrap() }
    };

    // No trailing newline, on both streams.
    let out = run("printf abc; printf xyz >&2").await;
    assert_eq!(
        (out.status, &*out.stdout, &*out.stderr),
        (Some(0), "abc", "xyz")
    );
    // Empty output, non-zero status.
    let out = run("exit 7").await;
    assert_eq!((out.status, &*out.stdout, &*out.stderr), (Some(7), "", ""));
    // 1 MiB on each stream.
    let out =
        run("head -c 1048576 /dev/zero | tr '\\0' x; head -c 1048575 /dev/zero | tr '\\0' y >&2")
            .await;
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(out.stdout.bytes().all(|b| b == b'x'));
    assert_eq!(out.stderr.len(), (1 << 20) - 1);
    assert!(out.stderr.bytes().all(|b| b == b'y'));
    // Output that looks like reply headers (any nonce, ours included) and request lines.
    let fake = "printf '%016x 0 3 0\\n' 0 1 2 3 4 5 6 7 8 9; \
                printf '%016x 0 3 0\\nabc' 0 >&2; printf '\\n\\n0 1\\n'";
    let out = run(fake).await;
    let want: String = (0..10).map(|i| format!("{i:016x} 0 3 0\n")).collect();
    assert_eq!(out.stdout, format!("{want}\n\n0 1\n"));
    assert_eq!(out.stderr, format!("{:016x} 0 3 0\nabc", 0));
    // Non-UTF-8 bytes: each becomes U+FFFD, the bytes around them are intact.
    let out = run("printf '\\377\\376a\\200'; printf 'b\\300' >&2").await;
    assert_eq!(out.stdout, "\u{FFFD}\u{FFFD}a\u{FFFD}");
    assert_eq!(out.stderr, "b\u{FFFD}");
    // Beyond the limit: the head is kept and the rest counted, and the next run is in sync.
    let out = run("head -c 8388613 /dev/zero | tr '\\0' z").await;
    assert!(out.stdout.starts_with("zzz"));
    assert!(
        out.stdout.ends_with("z\n[labkube: 5 more bytes dropped]\n"),
        "{}",
        &out.stdout[out.stdout.len() - 60..]
    );
    assert_eq!(
        out.stdout.len(),
        (8 << 20) + "\n[labkube: 5 more bytes dropped]\n".len()
    );
    // A process the script leaves behind writing to its stdout later cannot shift the framing.
    let out = run("echo now; (sleep 0.3; echo late; printf junk >&2) &").await;
    assert_eq!(out.stdout, "now\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(run("echo next").await.stdout, "next\n");

    // Private files: the output files are mode 0600 in a 0700 directory, the script itself
    // keeps the login's umask, and the files are gone after each step.
    let out = run(
        "exec 9>&1; d=$(dirname \"$(readlink /proc/self/fd/9)\"); exec 9>&-\n\
         stat -c %a \"$d\" \"$d/o\" \"$d/e\"; umask; ls -A \"$d\"; echo \"$d\"",
    )
    .await;
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(&lines[..3], &["700", "600", "600"], "{}", out.stdout);
    assert_ne!(lines[3], "0077", "{}", out.stdout);
    let dir = std::path::PathBuf::from(lines.last().unwrap());
    assert!(dir.starts_with("/tmp"), "{}", out.stdout);
    let listed: std::collections::BTreeSet<&str> =
        lines[4..lines.len() - 1].iter().copied().collect();
    assert_eq!(listed, ["e", "o"].into_iter().collect(), "{}", out.stdout);
    assert!(dir.exists());
    let listing = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(listing, 0, "files left after the step");

    // A timed-out step: Timeout, and the next step runs (in a fresh shell) on the same
    // connection.
    let first = run("echo $SSH_CONNECTION").await.stdout;
    let mut slow = script("printf partial; sleep 5");
    slow.timeout = Duration::from_millis(500);
    assert!(matches!(
        s.run(&slow).await,
        Err(RemoteError::Timeout { .. })
    ));
    let out = run("printf 'after\\n'; echo $SSH_CONNECTION").await;
    assert_eq!(out.stdout, format!("after\n{first}"));
    assert_eq!(run("printf last").await.stdout, "last");

    // Closing the session removes the shell's private directory.
    s.close().await;
    let gone_by = Instant::now() + Duration::from_secs(5);
    while dir.exists() {
        assert!(Instant::now() < gone_by, "{} left behind", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
