//! The bot's configuration: a TOML file, typed and validated. Every problem in a file is
//! reported at once ([`ConfigError::Invalid`] lists them all), so an operator fixes a file in
//! one pass. Defaults live here, in one place; `config.example.toml` documents each key.

mod access;
mod alerts;
mod checks;
mod intake;
mod load;
mod matrix;
mod metrics;
mod mirrors;
mod quota;
mod secret;
mod store;
mod telegram;

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::auth::Role;
use crate::names::{Special, host_addr};

pub use access::AccessSettings;
pub use alerts::{Alerts, QUIET_HOURS_FORM, QuietHours, SelfHealing, Severity};
pub use intake::Intake;
pub use load::{ConfigError, Problem};
pub use matrix::{Invites, Matrix};
pub use metrics::{DEFAULT_METRICS_LISTEN, MetricsSettings};
pub use mirrors::{RegistryMirrors, encode_mirrors};
pub use quota::NamespaceQuota;
pub use secret::{Secret, SecretSource};
pub use store::{Backend, ENDPOINT_FORM, StoreSettings, check_endpoint, check_prefix};
pub use telegram::{TELEGRAM_API_URL, Telegram};

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./labkube-data";

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Where the sled store, chat sessions and private files live.
    pub data_dir: PathBuf,
    /// `[store]`: sled in `data_dir` (default) or etcd.
    pub store: StoreSettings,
    /// Concurrency, rate and time limits.
    pub limits: Limits,
    /// `[intake]`: rate limits, the per-room job cap and the oldest command run.
    pub intake: Intake,
    /// SSH defaults for provisioning.
    pub ssh: Ssh,
    /// Defaults for new clusters.
    pub cluster: ClusterDefaults,
    /// `[kube]`: how GE releases are applied, watched and rolled back.
    pub kube: KubeSettings,
    /// `[alerts]`: incidents in the clusters the bot knows, told to their owning rooms.
    pub alerts: Alerts,
    /// `[access]`: the kubeconfigs `/kubeconfig` issues.
    pub access: AccessSettings,
    /// Console chat settings.
    pub console: Console,
    /// `[matrix]`: the Matrix account; absent, the bot does not connect to Matrix.
    pub matrix: Option<Matrix>,
    /// `[telegram]`: the Telegram bot; absent, the bot does not connect to Telegram.
    pub telegram: Option<Telegram>,
    /// `[metrics]`: Prometheus metrics, `/healthz` and `/readyz`; absent, not served.
    pub metrics: Option<MetricsSettings>,
    /// Authorised users, per platform.
    pub users: Vec<User>,
    /// Rooms the bot answers in, with their default namespace.
    pub rooms: Vec<Room>,
    /// Existing clusters, given by kubeconfig.
    pub clusters: Vec<ExistingCluster>,
}

impl Config {
    /// The ids of the `[[users]]` listed for `platform`.
    pub fn user_ids(&self, platform: &str) -> HashSet<String> {
        let users = self.users.iter().filter(|u| u.platform == platform);
        users.map(|u| u.id.clone()).collect()
    }

    /// The ids of the `[[rooms]]` listed for `platform`.
    pub fn room_ids(&self, platform: &str) -> HashSet<String> {
        let rooms = self.rooms.iter().filter(|r| r.platform == platform);
        rooms.map(|r| r.id.clone()).collect()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store: StoreSettings::default(),
            limits: Limits::default(),
            intake: Intake::default(),
            ssh: Ssh::default(),
            cluster: ClusterDefaults::default(),
            kube: KubeSettings::default(),
            alerts: Alerts::default(),
            access: AccessSettings::default(),
            console: Console::default(),
            matrix: None,
            telegram: None,
            metrics: None,
            users: Vec::new(),
            rooms: Vec::new(),
            clusters: Vec::new(),
        }
    }
}

/// `[limits]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Limits {
    /// Jobs run at once (1-64).
    pub concurrent_jobs: usize,
    /// Minimum time between two edits of a job's live message, in ms (250-60000).
    pub progress_interval_ms: u64,
    /// On shutdown, how long running steps get to reach a checkpoint, in s (1-600).
    pub shutdown_grace_secs: u64,
    /// Fewest hosts `/cluster create` accepts (1-100).
    pub min_cluster_hosts: usize,
    /// Log lines `/job` shows (1-100).
    pub job_log_lines: usize,
    /// Audit entries older than this many days are pruned (0-36500; 0 keeps them all).
    pub audit_retention_days: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrent_jobs: 4,
            progress_interval_ms: 2000,
            shutdown_grace_secs: 30,
            min_cluster_hosts: 3,
            job_log_lines: 10,
            audit_retention_days: 365,
        }
    }
}

/// `[ssh]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Ssh {
    /// Login user; privileged steps use `sudo -n` when it is not root.
    pub user: String,
    /// Port.
    pub port: u16,
    /// Private key (ed25519 or RSA); `None`: `~/.ssh/id_ed25519`.
    pub key_path: Option<PathBuf>,
    /// Passphrase of the key, if it has one.
    pub key_passphrase: Option<SecretSource>,
    /// OpenSSH known_hosts file to trust; `None`: keys are pinned on first contact.
    pub known_hosts: Option<PathBuf>,
    /// TCP connect + handshake timeout, s.
    pub connect_timeout_secs: u64,
    /// Timeout of one remote command, s.
    pub command_timeout_secs: u64,
    /// Keep-alive interval, s.
    pub keepalive_secs: u64,
    /// Networks the bot may provision (CIDRs); empty: any ordinary address. Loopback and
    /// link-local addresses need a listed network of their own kind (such as `127.0.0.0/8`).
    /// Addresses refused are refused before any connection ([`Ssh::admits`]).
    pub allowed_networks: Vec<String>,
    /// Extra environment for every step script on the hosts (e.g. `http_proxy`); names are
    /// `[A-Z_][A-Z0-9_]*` in any case, values any text.
    pub remote_env: std::collections::BTreeMap<String, String>,
}

impl Default for Ssh {
    fn default() -> Self {
        Ssh {
            user: "root".into(),
            port: 22,
            key_path: None,
            key_passphrase: None,
            known_hosts: None,
            connect_timeout_secs: 15,
            command_timeout_secs: 900,
            keepalive_secs: 15,
            allowed_networks: Vec::new(),
            remote_env: Default::default(),
        }
    }
}

impl Ssh {
    /// The allowed networks, parsed (invalid entries are reported by validation, skipped here).
    pub fn networks(&self) -> Vec<ipnet::IpNet> {
        self.allowed_networks
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect()
    }

    /// Whether `addr` may be provisioned: an ordinary address inside `allowed_networks` (any,
    /// when the list is empty), or a loopback or link-local one only when a listed network
    /// names that kind explicitly ([`Special::named_by`]: `127.0.0.0/8`, not `0.0.0.0/0`).
    pub fn admits(&self, addr: IpAddr) -> Result<(), Refused> {
        let addr = host_addr(addr);
        let nets = self.networks();
        match Special::of(addr) {
            Some(kind) if !nets.iter().any(|n| kind.named_by(n) && n.contains(&addr)) => {
                Err(Refused::Special(kind))
            }
            Some(_) => Ok(()),
            None if nets.is_empty() || nets.iter().any(|n| n.contains(&addr)) => Ok(()),
            None => Err(Refused::Outside),
        }
    }
}

impl Ssh {
    /// [`Ssh::admits`] for every host, checked when a create or plan is queued and again when
    /// it connects: one message naming every refused address, why, and what the config would
    /// need.
    pub fn refuse_any(&self, hosts: &[IpAddr]) -> Result<(), String> {
        let mut outside = Vec::new();
        let mut special = Vec::new();
        for addr in hosts {
            match self.admits(*addr) {
                Ok(()) => {}
                Err(Refused::Outside) => outside.push(addr.to_string()),
                Err(Refused::Special(kind)) => special.push(format!(
                    "{addr} is {}: the bot provisions such an address only when [ssh] \
                     allowed_networks names it explicitly (such as {})",
                    kind.noun(),
                    kind.network(*addr)
                )),
            }
        }
        if !outside.is_empty() {
            special.push(format!(
                "{} outside the networks this bot may provision ({})",
                if outside.len() == 1 {
                    format!("{} is", outside[0])
                } else {
                    format!("{} are", outside.join(", "))
                },
                self.allowed_networks.join(", ")
            ));
        }
        if special.is_empty() {
            return Ok(());
        }
        Err(format!("{}; nothing was contacted", special.join("; ")))
    }
}

/// Why [`Ssh::admits`] refuses an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// An ordinary address outside every listed network.
    Outside,
    /// A loopback, link-local (or never-a-host) address no listed network names.
    Special(Special),
}

/// `[cluster]`: defaults for `/cluster create`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ClusterDefaults {
    /// Kubernetes minor installed when `k8s=` is not given; checked by the same rule
    /// ([`crate::names::K8sMinor`]).
    pub k8s: String,
    /// Pod network CIDR when `pod-cidr=` is not given; checked by the same rule
    /// ([`crate::names::Cidr`]).
    pub pod_cidr: String,
    /// Hosts worked on at once within a step (1-500).
    pub parallel_hosts: usize,
    /// Extra attempts of steps that download (0-10).
    pub step_retries: usize,
    /// Wait before the first retry, ms; doubles each time (0-600000).
    pub retry_backoff_ms: u64,
    /// How long new nodes may take to become Ready, s (10-7200).
    pub nodes_ready_timeout_secs: u64,
    /// How often node readiness is checked, ms (100-60000).
    pub nodes_poll_ms: u64,
    /// flannel release installed (a flannel-io/flannel release tag).
    pub flannel_version: String,
    /// Helm release installed.
    pub helm_version: String,
    /// rancher local-path-provisioner release installed as the default StorageClass.
    pub local_path_version: String,
    /// Pull-through mirrors containerd tries before a registry (`"docker.io" =
    /// ["https://mirror.lab.example"]`); empty: images come from the registries themselves.
    pub registry_mirrors: RegistryMirrors,
    /// metrics-server release installed (a kubernetes-sigs/metrics-server release tag).
    pub metrics_server_version: String,
    /// kube-vip release that carries a cluster's virtual IP (`endpoint=`; a kube-vip/kube-vip
    /// release tag, the tag of its image ghcr.io/kube-vip/kube-vip).
    pub kube_vip_version: String,
    /// Share of a cluster's workers `/cluster upgrade` drains and upgrades at once, in percent
    /// of the workers (rounded down, at least one, at most `parallel_hosts`; 1-100). k0sctl's
    /// `workerDisruptionPercent`.
    pub upgrade_batch_percent: u8,
}

/// Pinned flannel release (a release tag of flannel-io/flannel), `[cluster] flannel_version`'s
/// default.
pub const FLANNEL_VERSION: &str = "v0.27.4";
/// Pinned Helm release, `[cluster] helm_version`'s default.
pub const HELM_VERSION: &str = "v3.19.0";
/// Pinned rancher local-path-provisioner release (2026-08-05; its manifest uses only core and
/// storage.k8s.io/v1 APIs, served by every supported minor), `[cluster] local_path_version`'s
/// default.
pub const LOCAL_PATH_VERSION: &str = "v0.0.37";
/// Pinned metrics-server release (its compatibility matrix: 0.9.x for Kubernetes 1.34+, so
/// every supported minor), `[cluster] metrics_server_version`'s default.
pub const METRICS_SERVER_VERSION: &str = "v0.9.0";
/// Pinned kube-vip release (v1.2.3, 2026-08-10; its image is
/// ghcr.io/kube-vip/kube-vip:v1.2.3), `[cluster] kube_vip_version`'s default.
pub const KUBE_VIP_VERSION: &str = "v1.2.3";

impl Default for ClusterDefaults {
    fn default() -> Self {
        ClusterDefaults {
            k8s: crate::names::DEFAULT_MINOR.into(),
            pod_cidr: "10.244.0.0/16".into(),
            parallel_hosts: 50,
            step_retries: 2,
            retry_backoff_ms: 5000,
            nodes_ready_timeout_secs: 600,
            nodes_poll_ms: 5000,
            flannel_version: FLANNEL_VERSION.into(),
            helm_version: HELM_VERSION.into(),
            local_path_version: LOCAL_PATH_VERSION.into(),
            registry_mirrors: RegistryMirrors::new(),
            metrics_server_version: METRICS_SERVER_VERSION.into(),
            kube_vip_version: KUBE_VIP_VERSION.into(),
            upgrade_batch_percent: 10,
        }
    }
}

/// `[console]`.
/// `[kube]`: the Kubernetes layer (GE releases).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct KubeSettings {
    /// Seconds to wait for a TCP/TLS connection to an API server.
    pub connect_timeout_secs: u64,
    /// Seconds a one-shot query (`/ge status`, a GET before applying) may take.
    pub request_timeout_secs: u64,
    /// Seconds without any answer from the API server after which a rollout watch gives up
    /// and the job fails with "unreachable".
    pub unreachable_secs: u64,
    /// Overrides every GE's own rollout timeout (seconds); `None` keeps the catalogue's.
    pub rollout_timeout_secs: Option<u64>,
    /// Seconds a new pod may stay in ImagePullBackOff, CrashLoopBackOff and the like before the
    /// rollout is declared failed (`ProgressDeadlineExceeded` fails at once).
    pub failure_grace_secs: u64,
    /// Roll a failed upgrade back to the last good revision automatically.
    pub auto_rollback: bool,
    /// Revisions kept per release (older ones are dropped from the history).
    pub history_max: usize,
    /// A directory with a catalogue to use instead of the built-in one (same layout as
    /// `deploy/ges/`); validated at start-up.
    pub catalogue_dir: Option<PathBuf>,
}

impl Default for KubeSettings {
    fn default() -> Self {
        KubeSettings {
            connect_timeout_secs: 10,
            request_timeout_secs: 20,
            unreachable_secs: 30,
            rollout_timeout_secs: None,
            failure_grace_secs: 60,
            auto_rollback: true,
            history_max: 10,
            catalogue_dir: None,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Console {
    /// The console user's name; `None`: `$USER`, else `local`. The console user is an admin.
    pub user: Option<String>,
    /// Default namespace of the console room.
    pub namespace: Option<String>,
    /// The quota `/ns create` gives in the console when the command names none.
    #[serde(default)]
    pub quota: NamespaceQuota,
}

/// `[[users]]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]

pub struct User {
    /// Chat platform: `matrix`, `telegram` or `console`.
    pub platform: String,
    /// The platform's user id: `@alice:lab.example`, a Telegram numeric id.
    pub id: String,
    /// `viewer`, `operator` or `admin`.
    pub role: Role,
}

/// `[[rooms]]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]

pub struct Room {
    /// Chat platform.
    pub platform: String,
    /// The platform's room id: `!abc:lab.example`, a Telegram chat id.
    pub id: String,
    /// Namespace GE commands use when `ns=` is not given.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The least severity of incidents told here: `warning` (all) or `critical` (nodes and
    /// API servers only).
    #[serde(default)]
    pub alerts_min_severity: Severity,
    /// Hours (`22:00-07:00`, UTC) during which warnings wait: an incident still open when
    /// they end is told then; critical ones are told at once.
    #[serde(default)]
    pub quiet_hours: Option<String>,
    /// The quota `/ns create` gives a namespace of this room's when the command names none:
    /// `quota = { cpu = "4", memory = "8Gi", pods = 40 }`; absent: no quota.
    #[serde(default)]
    pub quota: NamespaceQuota,
}

fn default_namespace() -> String {
    "default".into()
}

/// `[[clusters]]`: a cluster the bot did not create.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]

pub struct ExistingCluster {
    /// DNS-1123 name used in commands.
    pub name: String,
    /// Path of its kubeconfig (a secret: never shown).
    pub kubeconfig: PathBuf,
    /// The room that owns it (may change it besides admins); absent: only admins may.
    #[serde(default)]
    pub owner: Option<Owner>,
}

/// A room reference in the config.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]

pub struct Owner {
    /// Chat platform.
    pub platform: String,
    /// Room id.
    pub room: String,
}

#[cfg(test)]
mod tests;
