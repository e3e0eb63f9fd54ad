//! A lab of fake hosts for the step scripts: each host is a directory standing in for its `/`
//! (`LABKUBE_ROOT`), the scripts run locally with `sh -s` exactly as the engine sends them
//! (script on stdin, parameters as environment variables), with the stand-ins of
//! `tests/stand-ins` first on `PATH`.
//!
//! Every run is sandboxed: `unshare --net` (no network at all, not even loopback: a missed
//! stand-in cannot reach anything), `unshare --mount` with `/` remounted read-only except the
//! lab directory (a script that forgot the root prefix fails instead of changing this
//! machine), and `timeout`. Needs root (or CAP_SYS_ADMIN), as the tests here run.

pub mod apiserver;
pub mod bench_site;
pub mod calls;
pub mod csr;
pub mod hosts;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use labkube::provision::os::OsInfo;
use labkube::provision::scripts::{self, ClusterValues, HostScript, HostValues};

use calls::{Call, JoinLine, parse_facts};
use hosts::{Flavour, Host, os_release, prepare_root};

/// The labkube checkout.
pub const CRATE: &str = crate::REPO;
/// Kubernetes minor the engine pins in these tests (the config's default).
pub const K8S_MINOR: &str = labkube::names::DEFAULT_MINOR;
/// The releases the engine pins (the config's defaults).
pub use labkube::config::{
    FLANNEL_VERSION, HELM_VERSION, KUBE_VIP_VERSION, LOCAL_PATH_VERSION, METRICS_SERVER_VERSION,
};
/// Pod network.
pub const POD_CIDR: &str = "10.244.0.0/16";
/// Seconds a script may run before `timeout` kills it.
const SCRIPT_TIMEOUT_SECS: &str = "120";

/// The stand-ins directory.
pub fn standins() -> PathBuf {
    Path::new(CRATE).join("tests/stand-ins")
}

/// One script run.
#[derive(Clone, Debug)]
pub struct Run {
    /// Host name.
    pub host: String,
    /// Step name (or `script`).
    pub step: String,
    /// Exit status (`None`: killed by a signal).
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Exit status 0.
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} exited {:?}\n--- stdout\n{}--- stderr\n{}",
            self.host, self.step, self.status, self.stdout, self.stderr
        )
    }
}

/// What a full create produced.
#[derive(Debug, Default)]
pub struct Created {
    /// Every run, in order.
    pub runs: Vec<Run>,
    /// The join tokens join_command printed.
    pub tokens: Vec<String>,
    /// `nodes` output at the end.
    pub nodes: String,
}

/// A set of fake hosts sharing one fake cluster.
pub struct Lab {
    dir: tempfile::TempDir,
    /// Cluster-wide stand-in state (`LABKUBE_STANDIN_CLUSTER`).
    pub cluster: PathBuf,
    /// The hosts; the first is the control plane.
    pub hosts: Vec<Host>,
}

impl Lab {
    /// Hosts `cp1`, `w1`, `w2` of one flavour.
    pub fn cluster_of(flavour: Flavour) -> Lab {
        Lab::new(&[("cp1", flavour), ("w1", flavour), ("w2", flavour)])
    }

    /// A one-host lab (a control plane) of `flavour` on which the steps before `step` ran.
    pub fn ready_for(flavour: Flavour, step: &str) -> Lab {
        let lab = Lab::new(&[("cp1", flavour)]);
        for before in [
            "prepare_host",
            "install_containerd",
            "install_kube",
            "kubeadm_init",
            "install_flannel",
        ] {
            if before == step {
                break;
            }
            lab.must(0, before, &[]);
        }
        lab
    }

    /// Hosts with these names and flavours, at 10.0.0.1, 10.0.0.2... (addresses the stand-ins
    /// only print: these scripts run locally, nothing connects to them).
    pub fn new(specs: &[(&str, Flavour)]) -> Lab {
        let ips: Vec<String> = (1..=specs.len()).map(|i| format!("10.0.0.{i}")).collect();
        Lab::at(specs, &ips)
    }

    /// Hosts with these names and flavours at these addresses (the SSH tests give each fake
    /// host the loopback address of the sshd that serves it).
    pub fn at(specs: &[(&str, Flavour)], ips: &[String]) -> Lab {
        let dir = tempfile::Builder::new()
            .prefix("labkube-lab-")
            .tempdir()
            .unwrap();
        let cluster = dir.path().join("cluster");
        std::fs::create_dir_all(&cluster).unwrap();
        std::fs::create_dir_all(dir.path().join("records")).unwrap();
        let hosts = specs
            .iter()
            .enumerate()
            .map(|(i, (name, flavour))| {
                let base = dir.path().join("hosts").join(name);
                let host = Host {
                    name: (*name).to_string(),
                    flavour: *flavour,
                    ip: ips[i].clone(),
                    root: base.join("root"),
                    record: dir.path().join("records").join(format!("{name}.record")),
                    tmp: base.join("tmp"),
                    os: OsInfo::parse(&os_release(flavour.os_release_file())),
                };
                prepare_root(&host, i);
                host
            })
            .collect();
        Lab {
            dir,
            cluster,
            hosts,
        }
    }

    /// Runs `step` on host `i` with `env` only (no engine defaults).
    pub fn run(&self, i: usize, step: &str, env: &[(&str, &str)]) -> Run {
        let body = scripts::resolve(step, &self.hosts[i].os)
            .unwrap_or_else(|e| panic!("{}: {e}", self.hosts[i].name));
        let mut run = self.run_script(i, &body, env);
        run.step = step.to_string();
        run
    }

    /// The sshd configuration lines that make a session on host `i` run in its fake root: the
    /// stand-ins first on `PATH`, its root, recording and cluster state
    /// ([`crate::sshd::SshdHost::start_many_at`]'s per-host extra lines).
    pub fn sshd_env(&self, i: usize) -> Vec<String> {
        let h = &self.hosts[i];
        vec![format!(
            "SetEnv PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             LABKUBE_ROOT={} LABKUBE_RECORD={} LABKUBE_STANDIN_CLUSTER={} HOME={} TMPDIR={} LC_ALL=C",
            standins().display(),
            h.root.display(),
            h.record.display(),
            self.cluster.display(),
            h.tmp.display(),
            h.tmp.display()
        )]
    }

    /// Runs `step` on host `i` with the environment the engine gives it, plus `extra`.
    pub fn step(&self, i: usize, step: &str, extra: &[(&str, &str)]) -> Run {
        let env = self.engine_env(i, step);
        let mut all: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra);
        self.run(i, step, &all)
    }

    /// Like [`Lab::step`], asserting success.
    pub fn must(&self, i: usize, step: &str, extra: &[(&str, &str)]) -> Run {
        let run = self.step(i, step, extra);
        assert!(run.ok(), "{run}");
        run
    }

    /// The environment the engine sets for `step` on host `i` (see commands/README.md): the
    /// product's own rule ([`HostScript::env`]) over this lab's values.
    pub fn engine_env(&self, i: usize, step: &str) -> Vec<(String, String)> {
        let script = HostScript::named(step).unwrap_or_else(|| panic!("no step script {step}"));
        let node_addresses = self
            .hosts
            .iter()
            .map(|h| h.ip.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let nodes = self.node_list();
        let values = ClusterValues {
            advertise_address: &self.hosts[0].ip,
            k8s: K8S_MINOR,
            pod_cidr: POD_CIDR,
            flannel_version: FLANNEL_VERSION,
            helm_version: HELM_VERSION,
            local_path_version: LOCAL_PATH_VERSION,
            node_addresses: &node_addresses,
            registry_mirrors: "",
            metrics_server_version: METRICS_SERVER_VERSION,
            nodes: &nodes,
            control_planes: &self.hosts[0].ip,
            schedule_on_control_planes: self.hosts.len() == 1,
            node: "",
            node_control_plane: false,
            nodes_ready_secs: 60,
            endpoint: "",
            kube_vip_version: KUBE_VIP_VERSION,
        };
        let host = HostValues {
            control_plane: i == 0,
            address: &self.hosts[i].ip,
            node_ip: &self.hosts[i].ip,
            api_address: &self.hosts[0].ip,
            interface: "eth0",
        };
        script.env(&values, &host)
    }

    /// The hosts as approve_csrs's `NODES` lists them: `<name>=<address>`.
    pub fn node_list(&self) -> String {
        let nodes: Vec<String> = self
            .hosts
            .iter()
            .map(|h| format!("{}={}", h.name, h.ip))
            .collect();
        nodes.join(" ")
    }

    /// Runs `body` with `sh -s` on host `i`, sandboxed (see the module doc).
    pub fn run_script(&self, i: usize, body: &str, env: &[(&str, &str)]) -> Run {
        let host = &self.hosts[i];
        let path = format!(
            "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            standins().display()
        );
        // In a new network and mount namespace: the lab stays writable, the rest of / does not.
        let sandbox = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro / || \
                       { echo 'labkube test sandbox: cannot remount / read-only (the tests need root)' >&2; exit 125; }; \
                       shift; exec \"$@\"";
        let mut cmd = Command::new("/usr/bin/unshare");
        cmd.args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            sandbox,
            "sandbox",
        ])
        .arg(self.dir.path())
        .args(["timeout", "--kill-after=5", SCRIPT_TIMEOUT_SECS, "sh", "-s"])
        .env_clear()
        .env("PATH", path)
        .env("LC_ALL", "C")
        .env("HOME", &host.tmp)
        .env("TMPDIR", &host.tmp)
        .env("LABKUBE_ROOT", &host.root)
        .env("LABKUBE_RECORD", &host.record)
        .env("LABKUBE_STANDIN_CLUSTER", &self.cluster)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("unshare (util-linux) must be installed");
        let mut stdin = child.stdin.take().unwrap();
        let body = body.to_string();
        let writer = std::thread::spawn(move || {
            // The script may end (or fail) before reading all of it.
            let _ = stdin.write_all(body.as_bytes());
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let run = Run {
            host: host.name.clone(),
            step: "script".into(),
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_ne!(run.status, Some(125), "{run}");
        assert_ne!(run.status, Some(124), "the script timed out: {run}");
        assert_ne!(
            run.status,
            Some(97),
            "a stand-in met an invocation it does not model: {run}"
        );
        run
    }

    /// The whole `/cluster create` as the engine runs it: detect the OS, gather facts, prepare
    /// and install everywhere, init + flannel + Helm on the control plane, join the workers
    /// that have not joined (with a join command made just for them), list the nodes, fetch the
    /// kubeconfig. Every step must succeed.
    pub fn create(&self) -> Created {
        let mut created = Created::default();
        let all: Vec<usize> = (0..self.hosts.len()).collect();
        let mut facts = Vec::new();
        for &i in &all {
            let out = self.must(i, "os_release", &[]);
            let os = OsInfo::parse(&out.stdout);
            assert_eq!(
                os, self.hosts[i].os,
                "os_release reports the host's own file"
            );
            assert!(os.family().is_ok());
            created.runs.push(out);
            let out = self.must(i, "facts", &[]);
            facts.push(parse_facts(&out.stdout));
            created.runs.push(out);
        }
        for step in ["prepare_host", "install_containerd", "install_kube"] {
            for &i in &all {
                created.runs.push(self.must(i, step, &[]));
            }
        }
        for step in ["kubeadm_init", "install_flannel", "install_helm"] {
            created.runs.push(self.must(0, step, &[]));
        }
        let to_join: Vec<usize> = all[1..]
            .iter()
            .copied()
            .filter(|&i| facts[i].get("joined").map(String::as_str) != Some("yes"))
            .collect();
        if !to_join.is_empty() {
            let out = self.must(0, "join_command", &[]);
            let join = JoinLine::parse(&out.stdout);
            created.tokens.push(join.token.clone());
            for &i in &to_join {
                created.runs.push(self.must(
                    i,
                    "kubeadm_join",
                    &[
                        ("JOIN_ENDPOINT", join.endpoint.as_str()),
                        ("JOIN_TOKEN", join.token.as_str()),
                        ("JOIN_CA_HASH", join.ca_hash.as_str()),
                    ],
                ));
            }
        }
        // Workers that joined earlier run kubeadm_join without a token, as the engine does:
        // it only converges their kubelet's settings.
        for &i in &all[1..] {
            if !to_join.contains(&i) {
                created.runs.push(self.must(i, "kubeadm_join", &[]));
            }
        }
        let nodes = self.must(0, "nodes", &[]);
        created.nodes = nodes.stdout.clone();
        created.runs.push(nodes);
        for step in ["install_storage", "approve_csrs", "install_metrics_server"] {
            created.runs.push(self.must(0, step, &[]));
        }
        let kubeconfig = self.must(0, "kubeconfig", &[]);
        assert!(
            kubeconfig.stdout.starts_with("apiVersion: v1"),
            "{kubeconfig}"
        );
        created
    }

    /// Host `i`'s kubelet environment file (empty if none was written).
    pub fn kubelet_env(&self, i: usize) -> String {
        self.read(i, self.hosts[i].flavour.kubelet_env_file())
            .unwrap_or_default()
    }

    /// Every stand-in call recorded on host `i` so far.
    pub fn calls(&self, i: usize) -> Vec<Call> {
        let text = std::fs::read_to_string(&self.hosts[i].record).unwrap_or_default();
        text.lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    }

    /// The calls recorded on host `i` since the last `take_calls`, then forgets them.
    pub fn take_calls(&self, i: usize) -> Vec<Call> {
        let calls = self.calls(i);
        std::fs::write(&self.hosts[i].record, "").unwrap();
        calls
    }

    /// Forgets every host's recorded calls.
    pub fn clear_calls(&self) {
        for i in 0..self.hosts.len() {
            self.take_calls(i);
        }
    }

    /// Path `p` (absolute, as on the host) under host `i`'s root.
    pub fn path(&self, i: usize, p: &str) -> PathBuf {
        self.hosts[i].root.join(p.trim_start_matches('/'))
    }

    /// Contents of host path `p` on host `i`, `None` if absent.
    pub fn read(&self, i: usize, p: &str) -> Option<String> {
        std::fs::read(self.path(i, p))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Writes host path `p` on host `i`.
    pub fn write(&self, i: usize, p: &str, contents: &str) {
        let path = self.path(i, p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Makes the stand-in `what` ("tool" or "tool subcommand") fail on host `i`.
    pub fn inject(&self, i: usize, what: &str) {
        let path = self.path(i, "/.fail");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(what);
        text.push('\n');
        std::fs::write(path, text).unwrap();
    }

    /// Stops injecting failures on host `i`.
    pub fn heal(&self, i: usize) {
        let _ = std::fs::remove_file(self.path(i, "/.fail"));
    }

    /// What flannel's DaemonSet leaves on a node once it ran (the stand-ins run no pods):
    /// its interfaces, CNI config and state, and its CNI plugin binary.
    pub fn simulate_flannel_running(&self, i: usize) {
        self.write(i, "/.standin/links/cni0", "");
        self.write(i, "/.standin/links/flannel.1", "");
        self.write(
            i,
            "/etc/cni/net.d/10-flannel.conflist",
            "{\"name\": \"cbr0\"}\n",
        );
        self.write(
            i,
            "/var/lib/cni/networks/cbr0/10.244.0.2",
            "0123456789abcdef\neth0\n",
        );
        self.write(
            i,
            "/run/flannel/subnet.env",
            "FLANNEL_NETWORK=10.244.0.0/16\n",
        );
        self.write(i, "/opt/cni/bin/flannel", "#!/bin/sh\n");
    }

    /// Installed packages (stand-in state) on host `i`.
    pub fn packages(&self, i: usize) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(i, "/.standin/pkgs"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every file under the lab except the recordings (test artefacts).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    walk(&path, out);
                } else if kind.is_file() {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("hosts"), &mut out);
        walk(&self.cluster, &mut out);
        out
    }
}
