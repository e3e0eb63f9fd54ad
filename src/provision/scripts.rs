//! The step scripts of `commands/`, embedded in the binary, and the lookup that picks the one
//! for a host: `commands/<os>/<step>.sh`, trying the folders of [`OsInfo::lookup_chain`] in
//! order (ubuntu → debian → common, rocky | centos | almalinux → rhel → common).
//!
//! The contract of every step (environment, output, idempotency) is in `commands/README.md`
//! and in each script's header.

use include_dir::{Dir, include_dir};

use super::os::{OsError, OsInfo};

/// Everything under `commands/`, read at compile time (`build.rs` makes cargo rebuild when a
/// script changes).
static COMMANDS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/commands");

/// The step scripts of `commands/`, with what the engine must know about each. The one
/// definition of their names: the file of a script is `<folder>/<name>.sh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostScript {
    /// Print /etc/os-release.
    OsRelease,
    /// Print `key=value` facts.
    Facts,
    /// One move of the virtual IP probe: hold, release, or ask whether it answers.
    VipProbe,
    /// Swap off, kernel modules, sysctls, firewall ports, the API endpoint name.
    PrepareHost,
    /// containerd with systemd cgroups.
    InstallContainerd,
    /// kubeadm, kubelet, kubectl from pkgs.k8s.io.
    InstallKube,
    /// A worker's local proxy to every control plane's API server (clusters with several).
    ApiProxy,
    /// `kubeadm init`.
    KubeadmInit,
    /// kube-vip's static pod on a control plane (clusters with a virtual IP).
    KubeVip,
    /// flannel CNI.
    InstallFlannel,
    /// local-path-provisioner, the default StorageClass.
    InstallStorage,
    /// Approve the kubelets' own serving certificate requests.
    ApproveCsrs,
    /// metrics-server.
    InstallMetricsServer,
    /// Helm.
    InstallHelm,
    /// Print a fresh join command (secret).
    JoinCommand,
    /// Upload the shared control-plane certificates and print their key (secret).
    CertificateKey,
    /// `kubeadm join`.
    KubeadmJoin,
    /// `kubectl get nodes`.
    Nodes,
    /// Whether a node may leave: etcd's quorum, a server-side dry run of its drain.
    RemovalCheck,
    /// `kubectl drain` of a leaving node.
    DrainNode,
    /// `kubectl delete node` of a node that left.
    DeleteNode,
    /// Print the admin kubeconfig (secret).
    Kubeconfig,
    /// `kubeadm reset` and removal of what was installed.
    Reset,
    /// Whether a host may move to the next minor: packages, containerd, swap, free disk.
    UpgradeCheck,
    /// The nodes an upgrade left marked (`labkube.io/upgrade-to`), by name.
    UpgradeMarks,
    /// Mark a node as being upgraded (the lock label), before anything on it changes.
    MarkUpgrade,
    /// kubeadm of the next minor (repository switched, package unheld, upgraded, held).
    UpgradeKubeadm,
    /// `kubeadm upgrade apply` (first control plane) or `kubeadm upgrade node`.
    KubeadmUpgrade,
    /// kubelet and kubectl of the next minor, the kubelet restarted.
    UpgradeKubelet,
    /// Wait for an upgraded node to be Ready on the new minor, uncordon it, unmark it.
    FinishUpgrade,
}

impl HostScript {
    /// Every script, in the order a full `/cluster create` uses them (`reset` is
    /// `/cluster delete`'s).
    pub const ALL: [HostScript; 30] = [
        HostScript::OsRelease,
        HostScript::Facts,
        HostScript::VipProbe,
        HostScript::PrepareHost,
        HostScript::InstallContainerd,
        HostScript::InstallKube,
        HostScript::ApiProxy,
        HostScript::KubeadmInit,
        HostScript::KubeVip,
        HostScript::InstallFlannel,
        HostScript::InstallStorage,
        HostScript::ApproveCsrs,
        HostScript::InstallMetricsServer,
        HostScript::InstallHelm,
        HostScript::JoinCommand,
        HostScript::CertificateKey,
        HostScript::KubeadmJoin,
        HostScript::Nodes,
        HostScript::Kubeconfig,
        HostScript::Reset,
        HostScript::RemovalCheck,
        HostScript::DrainNode,
        HostScript::DeleteNode,
        HostScript::UpgradeCheck,
        HostScript::UpgradeMarks,
        HostScript::MarkUpgrade,
        HostScript::UpgradeKubeadm,
        HostScript::KubeadmUpgrade,
        HostScript::UpgradeKubelet,
        HostScript::FinishUpgrade,
    ];

    /// Script name in `commands/`.
    pub const fn name(self) -> &'static str {
        match self {
            HostScript::OsRelease => "os_release",
            HostScript::Facts => "facts",
            HostScript::VipProbe => "vip_probe",
            HostScript::PrepareHost => "prepare_host",
            HostScript::InstallContainerd => "install_containerd",
            HostScript::InstallKube => "install_kube",
            HostScript::ApiProxy => "api_proxy",
            HostScript::KubeadmInit => "kubeadm_init",
            HostScript::KubeVip => "kube_vip",
            HostScript::InstallFlannel => "install_flannel",
            HostScript::InstallStorage => "install_storage",
            HostScript::ApproveCsrs => "approve_csrs",
            HostScript::InstallMetricsServer => "install_metrics_server",
            HostScript::InstallHelm => "install_helm",
            HostScript::JoinCommand => "join_command",
            HostScript::CertificateKey => "certificate_key",
            HostScript::KubeadmJoin => "kubeadm_join",
            HostScript::Nodes => "nodes",
            HostScript::Kubeconfig => "kubeconfig",
            HostScript::Reset => "reset",
            HostScript::RemovalCheck => "removal_check",
            HostScript::DrainNode => "drain_node",
            HostScript::DeleteNode => "delete_node",
            HostScript::UpgradeCheck => "upgrade_check",
            HostScript::UpgradeMarks => "upgrade_marks",
            HostScript::MarkUpgrade => "mark_upgrade",
            HostScript::UpgradeKubeadm => "upgrade_kubeadm",
            HostScript::KubeadmUpgrade => "kubeadm_upgrade",
            HostScript::UpgradeKubelet => "upgrade_kubelet",
            HostScript::FinishUpgrade => "finish_upgrade",
        }
    }

    /// Runs as root (through `sudo -n` for other users).
    pub(super) fn privileged(self) -> bool {
        !matches!(self, HostScript::OsRelease)
    }

    /// Downloads, so a failure may be passing and is retried with backoff.
    pub(super) fn transient(self) -> bool {
        matches!(
            self,
            HostScript::InstallContainerd
                | HostScript::InstallKube
                | HostScript::ApiProxy
                | HostScript::InstallFlannel
                | HostScript::InstallStorage
                | HostScript::InstallMetricsServer
                | HostScript::InstallHelm
                | HostScript::UpgradeKubeadm
                | HostScript::UpgradeKubelet
        )
    }

    /// Must never run twice at once on a host (a second `kubeadm init` fails on the first's
    /// ports; two package installs fight over the package lock): started detached, once per
    /// job, and followed (`runs`).
    pub(super) fn detached(self) -> bool {
        matches!(
            self,
            HostScript::InstallContainerd
                | HostScript::InstallKube
                | HostScript::ApiProxy
                | HostScript::KubeadmInit
                | HostScript::KubeadmJoin
                | HostScript::Reset
                | HostScript::UpgradeKubeadm
                | HostScript::KubeadmUpgrade
                | HostScript::UpgradeKubelet
        )
    }

    /// Its output holds a secret: never shown, even on failure.
    pub(super) fn secret_output(self) -> bool {
        matches!(
            self,
            HostScript::JoinCommand | HostScript::CertificateKey | HostScript::Kubeconfig
        )
    }

    /// The script named `name` in `commands/`.
    pub fn named(name: &str) -> Option<HostScript> {
        HostScript::ALL.into_iter().find(|s| s.name() == name)
    }
}

pub use super::values::{
    API_NAME, API_PROXY_ADDRESS, ClusterValues, HostValues, SERVICE_CIDR, SERVICE_CIDR_V6,
    VIP_HOLD_SECONDS, service_cidr,
};

/// The names of [`HostScript::ALL`], in that order.
pub const STEPS: [&str; HostScript::ALL.len()] = {
    let mut names = [""; HostScript::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = HostScript::ALL[i].name();
        i += 1;
    }
    names
};

/// Folders `commands/` may have: `common`, the family folders, and distribution folders that
/// override their family's script for one distribution.
pub const OS_FOLDERS: &[&str] = &[
    "common",
    "debian",
    "ubuntu",
    "rhel",
    "rocky",
    "centos",
    "almalinux",
];

/// A resolved step script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepScript {
    /// Path under `commands/` (`debian/install_kube.sh`), for logs and error reports.
    pub path: &'static str,
    /// The script text, to send to `sh -s`.
    pub body: &'static str,
}

/// Why no script could be picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The step name is not one of [`STEPS`].
    #[error("unknown step {step:?}; the steps are: {}", STEPS.join(", "))]
    UnknownStep {
        /// The name asked for.
        step: String,
    },
    /// The host's OS is not supported.
    #[error(transparent)]
    Os(#[from] OsError),
    /// No folder of the lookup chain has the step (a packaging mistake: a test checks every
    /// step exists for every supported OS).
    #[error("no script for step {step} on {os}: looked in commands/{{{tried}}}")]
    Missing {
        /// The step.
        step: String,
        /// The host's `PRETTY_NAME`.
        os: String,
        /// The folders tried, comma-separated.
        tried: String,
    },
    /// The file is not UTF-8 text.
    #[error("commands/{path} is not UTF-8 text")]
    NotText {
        /// Path under `commands/`.
        path: String,
    },
}

/// Helpers every step may call (`fail`, `put_file`, `apt_get`, ...): the files of
/// `commands/lib/`, sent in front of each step. They only define functions.
/// `commands/lib/containerd.sh` (containerd's config, version check, proxy and mirrors) comes
/// right after `helpers.sh`.
pub const HELPERS: &str = concat!(
    include_str!("../../commands/lib/helpers.sh"),
    "\n",
    include_str!("../../commands/lib/containerd.sh")
);

/// What is sent to the host for `step` on `os`: [`HELPERS`], then the step's script.
///
/// # Errors
/// See [`locate`].
pub fn resolve(step: &str, os: &OsInfo) -> Result<String, ScriptError> {
    locate(step, os).map(|s| with_helpers(s.body))
}

fn with_helpers(body: &str) -> String {
    format!("{HELPERS}\n{body}")
}

/// The `common/` script of `step`, for steps that run before the OS is known (`os_release`).
///
/// # Errors
/// [`ScriptError::UnknownStep`], or [`ScriptError::Missing`] if `common/` lacks the step.
pub fn resolve_common(step: &str) -> Result<String, ScriptError> {
    if !STEPS.contains(&step) {
        return Err(ScriptError::UnknownStep { step: step.into() });
    }
    COMMANDS
        .get_file(format!("common/{step}.sh"))
        .and_then(|f| f.contents_utf8())
        .map(with_helpers)
        .ok_or_else(|| ScriptError::Missing {
            step: step.into(),
            os: "any".into(),
            tried: "common".into(),
        })
}

/// The script of `step` for a host running `os`, with the path it came from.
///
/// # Errors
/// [`ScriptError::UnknownStep`] for a name not in [`STEPS`]; [`ScriptError::Os`] for an
/// unsupported OS; [`ScriptError::Missing`] if no folder of the chain has the step;
/// [`ScriptError::NotText`] if the file is not UTF-8.
pub fn locate(step: &str, os: &OsInfo) -> Result<StepScript, ScriptError> {
    if !STEPS.contains(&step) {
        return Err(ScriptError::UnknownStep { step: step.into() });
    }
    os.family()?;
    let chain = os.lookup_chain();
    for folder in &chain {
        if let Some(file) = COMMANDS.get_file(format!("{folder}/{step}.sh")) {
            let path = file.path().to_str().unwrap_or_default();
            let body = file
                .contents_utf8()
                .ok_or_else(|| ScriptError::NotText { path: path.into() })?;
            return Ok(StepScript { path, body });
        }
    }
    Err(ScriptError::Missing {
        step: step.into(),
        os: os.pretty_name.clone(),
        tried: chain.join(","),
    })
}

/// Every embedded file, as paths under `commands/` (for the layout test and diagnostics).
pub fn embedded_files() -> Vec<&'static str> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<&'static str>) {
        for file in dir.files() {
            out.push(file.path().to_str().unwrap_or("<non-UTF-8 name>"));
        }
        for sub in dir.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&COMMANDS, &mut out);
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_steps_and_oses_are_named() {
        let ubuntu = OsInfo::parse("ID=ubuntu\nID_LIKE=debian\n");
        let e = resolve("kubeadm_upgrades", &ubuntu)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kubeadm_upgrades") && e.contains("prepare_host"),
            "{e}"
        );
        let alpine = OsInfo::parse("ID=alpine\nPRETTY_NAME=\"Alpine Linux v3.20\"\n");
        let e = resolve("facts", &alpine).unwrap_err().to_string();
        assert!(e.contains("alpine") && e.contains("rocky"), "{e}");
    }

    #[test]
    fn family_folder_wins_over_common_when_both_exist() {
        let s = locate(
            "reset",
            &OsInfo::parse("ID=rocky\nID_LIKE=\"rhel centos fedora\"\n"),
        )
        .unwrap();
        assert_eq!(s.path, "rhel/reset.sh");
        let s = locate("facts", &OsInfo::parse("ID=ubuntu\nID_LIKE=debian\n")).unwrap();
        assert_eq!(s.path, "common/facts.sh");
    }
}
