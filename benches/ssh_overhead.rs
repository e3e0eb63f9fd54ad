//! SSH overhead benchmark: `cargo bench --bench ssh_overhead`.
//!
//! Against 3 real sshd hosts (`labkube_testkit::sshd`, as the tests), the wall time
//! of one `true` command, measured three ways on the same hosts in the same run:
//! - labkube's [`SshSession`]: 200 sequential scripts per host over one kept connection (a new
//!   channel each);
//! - the OpenSSH client with ControlMaster multiplexing (the CLI's best case): 200 sequential
//!   `ssh host true` per host through one master connection;
//! - a fresh `ssh host true` per command (new process, TCP connection, handshake and login):
//!   30 per host, since each costs hundreds of milliseconds.
//!
//! Needs `scripts/test-setup-ssh.sh` (sshd, ssh-keygen, ssh) to have run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::provision::remote::{RemoteExec, Script, Target};
use labkube::provision::ssh::{SshConfig, SshConnector};
use labkube_testkit::host_keys::MemoryHostKeys;
use labkube_testkit::sshd::{self, ClientKey, SshdHost};
use labkube_testkit::stats::{mean, ms, percentile};

const HOSTS: usize = 3;
const RUNS: usize = 200;
const FRESH_RUNS: usize = 30;
const WARMUP: usize = 5;

fn main() {
    println!("command: cargo bench --bench ssh_overhead\n");
    sshd::require_sshd();
    assert!(
        sshd::on_path("ssh"),
        "ssh (openssh-client) is missing: {}",
        sshd::SETUP_HINT
    );

    let key = ClientKey::ed25519();
    let hosts: Vec<SshdHost> = (0..HOSTS).map(|_| SshdHost::start(&key)).collect();
    let work = tempfile::Builder::new()
        .prefix("labkube-bench-")
        .tempdir()
        .unwrap();
    let known_hosts = work.path().join("known_hosts");
    let lines: Vec<String> = hosts.iter().map(SshdHost::known_hosts_line).collect();
    sshd::write_known_hosts(&known_hosts, &lines);
    let ssh_config = work.path().join("ssh_config");
    std::fs::write(
        &ssh_config,
        format!(
            "Host 127.*\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
            key.path.display(),
            known_hosts.display()
        ),
    )
    .unwrap();

    let (russh_connect, russh) = bench_russh(&key, &hosts, &known_hosts);
    let mux = bench_control_master(&ssh_config, &hosts, work.path());
    let fresh = bench_fresh_ssh(&ssh_config, &hosts);

    println!(
        "{HOSTS} sshd hosts on 127.0.0.N (OpenSSH {}), root, `true` per command, sequential.\n",
        sshd::version()
    );
    println!("| mode | commands | mean | p50 | p90 | p99 | mean vs labkube |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let base = mean(&russh);
    for (name, samples) in [
        (
            "labkube SshSession (one connection, persistent shell)",
            &russh,
        ),
        ("ssh + ControlMaster (multiplexed)", &mux),
        ("fresh ssh per command", &fresh),
    ] {
        row(name, samples, base);
    }
    println!(
        "\nlabkube connect (TCP + handshake + login), per host: mean {} (p50 {})",
        ms(mean(&russh_connect)),
        ms(percentile(&russh_connect, 0.50))
    );
}

/// Connect times and per-command times over one SshSession per host.
fn bench_russh(
    key: &ClientKey,
    hosts: &[SshdHost],
    known_hosts: &Path,
) -> (Vec<Duration>, Vec<Duration>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = SshConfig {
            key_path: key.path.clone(),
            passphrase: None,
            known_hosts: Some(known_hosts.to_path_buf()),
            connect_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
        };
        let connector = SshConnector::new(cfg, Arc::new(MemoryHostKeys::new())).unwrap();
        let script = Script {
            step: "bench".into(),
            body: "true".into(),
            env: Vec::new(),
            privileged: false,
            timeout: Duration::from_secs(10),
        };
        let (mut connects, mut samples) = (Vec::new(), Vec::new());
        for h in hosts {
            let t = Target {
                addr: IpAddr::V4(h.ip),
                port: h.port,
                user: "root".into(),
            };
            let t0 = Instant::now();
            let s = connector.connect(&t).await.unwrap();
            connects.push(t0.elapsed());
            for i in 0..WARMUP + RUNS {
                let t0 = Instant::now();
                let out = s.run(&script).await.unwrap();
                assert_eq!(out.status, Some(0));
                if i >= WARMUP {
                    samples.push(t0.elapsed());
                }
            }
            s.close().await;
        }
        (connects, samples)
    })
}

fn ssh(config: &Path, host: &SshdHost) -> Command {
    let mut c = Command::new("ssh");
    c.arg("-F")
        .arg(config)
        .arg("-p")
        .arg(host.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

fn run_ok(mut c: Command) {
    let out = c.stderr(Stdio::piped()).output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn bench_control_master(config: &Path, hosts: &[SshdHost], dir: &Path) -> Vec<Duration> {
    let control = dir.join("cm-%h-%p");
    let mut samples = Vec::new();
    for h in hosts {
        let mut master = ssh(config, h);
        master
            .args(["-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-fN"])
            .arg("-o")
            .arg(format!("ControlPath={}", control.display()))
            .arg(h.ip.to_string());
        run_ok(master);
        for i in 0..WARMUP + RUNS {
            let mut c = ssh(config, h);
            c.arg("-o")
                .arg(format!("ControlPath={}", control.display()))
                .arg(h.ip.to_string())
                .arg("true");
            let t0 = Instant::now();
            run_ok(c);
            if i >= WARMUP {
                samples.push(t0.elapsed());
            }
        }
        let mut exit = ssh(config, h);
        exit.arg("-o")
            .arg(format!("ControlPath={}", control.display()))
            .args(["-O", "exit"])
            .arg(h.ip.to_string());
        run_ok(exit);
    }
    samples
}

fn bench_fresh_ssh(config: &Path, hosts: &[SshdHost]) -> Vec<Duration> {
    let mut samples = Vec::new();
    for h in hosts {
        for _ in 0..FRESH_RUNS {
            let mut c = ssh(config, h);
            c.args(["-o", "ControlMaster=no", "-o", "ControlPath=none"])
                .arg(h.ip.to_string())
                .arg("true");
            let t0 = Instant::now();
            run_ok(c);
            samples.push(t0.elapsed());
        }
    }
    samples
}

fn row(name: &str, samples: &[Duration], base: Duration) {
    let m = mean(samples);
    println!(
        "| {name} | {} | {} | {} | {} | {} | {:.1}x |",
        samples.len(),
        ms(m),
        ms(percentile(samples, 0.50)),
        ms(percentile(samples, 0.90)),
        ms(percentile(samples, 0.99)),
        m.as_secs_f64() / base.as_secs_f64()
    );
}
