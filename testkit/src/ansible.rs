//! `ansible-playbook` as the benchmarks' peer, against the same OpenSSH sshd hosts on 127.0.0.N
//! as labkube: Ansible's defaults (linear strategy, ControlPersist) with pipelining on, forks =
//! host count, a strict check against the generated known_hosts, no user or system ssh_config,
//! and a callback plugin that stamps every task start with the controller's monotonic clock.
//! `scripts/bench-provision.sh` installs ansible-core into a venv and sets
//! `LABKUBE_ANSIBLE_PLAYBOOK` to its `ansible-playbook`; without it a bench fails, never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Stamps every task start and the end of the play with the controller's monotonic clock and
/// the machine's busy CPU ticks, and writes them as JSON to `$LABKUBE_BENCH_TIMES`.
const TIMER_PLUGIN: &str = r#"import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "labkube_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.marks = []

    def mark(self, name):
        # Busy CPU ticks of the whole machine: user nice system irq softirq steal.
        with open("/proc/stat") as f:
            t = [int(x) for x in f.readline().split()[1:9]]
        busy = t[0] + t[1] + t[2] + t[5] + t[6] + t[7]
        self.marks.append([name, time.monotonic(), busy])

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.mark(task.get_name())

    def v2_playbook_on_stats(self, stats):
        self.mark("end")
        with open(os.environ["LABKUBE_BENCH_TIMES"], "w") as f:
            json.dump(self.marks, f)
"#;

/// A task's start: its name, the controller's monotonic clock in seconds, the machine's busy
/// CPU ticks. The last mark is `end`.
pub type Mark = (String, f64, u64);

/// One finished `ansible-playbook` run.
pub struct Played {
    /// Every task start, then `end`.
    pub marks: Vec<Mark>,
    /// The whole process, from spawn to exit.
    pub total: Duration,
}

impl Played {
    /// How long task `i` of the marks ran: from its start to the next mark.
    pub fn span(&self, i: usize) -> Duration {
        Duration::from_secs_f64(self.marks[i + 1].1 - self.marks[i].1)
    }
}

/// `ansible-playbook` with a private directory per run.
pub struct Ansible {
    /// The `ansible-playbook` binary.
    pub bin: PathBuf,
    key: PathBuf,
    known_hosts: PathBuf,
    work: PathBuf,
    runs: AtomicU64,
}

impl Ansible {
    /// The `ansible-playbook` of `LABKUBE_ANSIBLE_PLAYBOOK`, logging in as root with `key`,
    /// trusting `known_hosts` only, working under `work`.
    pub fn from_env(key: &Path, known_hosts: &Path, work: &Path) -> Ansible {
        Ansible {
            bin: bin(),
            key: key.to_path_buf(),
            known_hosts: known_hosts.to_path_buf(),
            work: work.to_path_buf(),
            runs: AtomicU64::new(0),
        }
    }

    /// Runs `playbook` over `inventory` (INI; its hosts log in as root with the key, over
    /// `port`) with `forks` forks; `files` (paths relative to the playbook) are written beside
    /// it first. Panics with
    /// Ansible's output if the play fails.
    pub fn play(
        &self,
        inventory: &str,
        port: u16,
        forks: usize,
        playbook: &str,
        files: &[(String, String)],
    ) -> Played {
        let n = self.runs.fetch_add(1, Ordering::Relaxed);
        let dir = self.work.join(format!("ansible-{n}"));
        let sub = |name: &str| {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            d
        };
        let (plugins, control, local_tmp, remote_tmp, home) = (
            sub("plugins"),
            sub("cp"),
            sub("tmp"),
            sub("rtmp"),
            sub("home"),
        );
        std::fs::write(plugins.join("labkube_timer.py"), TIMER_PLUGIN).unwrap();
        let inventory = format!(
            "{inventory}\n[all:vars]\nansible_port={port}\nansible_user=root\n\
             ansible_ssh_private_key_file={}\nansible_python_interpreter=/usr/bin/python3\n",
            self.key.display()
        );
        std::fs::write(dir.join("inventory.ini"), inventory).unwrap();
        // Ansible's default ssh_args (`-C -o ControlMaster=auto -o ControlPersist=60s`) plus a
        // strict check against the generated known_hosts, and no user or system ssh_config.
        let cfg = format!(
            "[defaults]\n\
             inventory = {dir}/inventory.ini\n\
             forks = {forks}\n\
             gathering = explicit\n\
             host_key_checking = True\n\
             retry_files_enabled = False\n\
             display_ok_hosts = False\n\
             display_skipped_hosts = False\n\
             callback_plugins = {plugins}\n\
             callbacks_enabled = labkube_timer\n\
             interpreter_python = /usr/bin/python3\n\
             \n\
             [ssh_connection]\n\
             pipelining = True\n\
             ssh_args = -F /dev/null -C -o ControlMaster=auto -o ControlPersist=60s \
             -o UserKnownHostsFile={kh} -o GlobalKnownHostsFile=/dev/null \
             -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes\n",
            dir = dir.display(),
            plugins = plugins.display(),
            kh = self.known_hosts.display(),
        );
        std::fs::write(dir.join("ansible.cfg"), cfg).unwrap();
        std::fs::write(dir.join("playbook.yml"), playbook).unwrap();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let times = dir.join("times.json");
        let mut cmd = Command::new(&self.bin);
        cmd.arg("playbook.yml")
            .current_dir(&dir)
            .env("ANSIBLE_CONFIG", dir.join("ansible.cfg"))
            .env("ANSIBLE_HOME", &home)
            .env("ANSIBLE_LOCAL_TEMP", &local_tmp)
            .env("ANSIBLE_REMOTE_TEMP", &remote_tmp)
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", &control)
            .env("LABKUBE_BENCH_TIMES", &times)
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null());
        let t0 = Instant::now();
        let out = cmd.output().unwrap();
        let total = t0.elapsed();
        close_masters(&control);
        assert!(
            out.status.success(),
            "ansible-playbook failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let marks: Vec<Mark> =
            serde_json::from_str(&std::fs::read_to_string(&times).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        Played { marks, total }
    }
}

/// The `ansible-playbook` of `LABKUBE_ANSIBLE_PLAYBOOK`.
fn bin() -> PathBuf {
    let bin = std::env::var_os("LABKUBE_ANSIBLE_PLAYBOOK").map(PathBuf::from);
    bin.expect(
        "LABKUBE_ANSIBLE_PLAYBOOK is not set: run scripts/bench-provision.sh, which installs \
         ansible-core into a venv and points this at its ansible-playbook",
    )
}

/// `ansible-playbook --version`'s first line.
pub fn version() -> String {
    let bin = bin();
    let out = Command::new(&bin)
        .arg("--version")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run scripts/bench-provision.sh",
                bin.display()
            )
        });
    assert!(
        out.status.success(),
        "{} --version failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("?")
        .to_string()
}

/// Stops the ControlPersist masters a run left behind (they would linger for 60 s).
fn close_masters(control: &Path) {
    for entry in std::fs::read_dir(control).unwrap() {
        let path = entry.unwrap().path();
        let _ = Command::new("ssh")
            .args(["-F", "/dev/null", "-O", "exit", "-S"])
            .arg(&path)
            .arg("bench-host")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
