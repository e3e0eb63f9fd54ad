//! The dry run's report: the probes ran, and each of create's changing steps says what it
//! would do on each host. One choke point (the k0sctl way): a step that changes hosts either
//! runs or describes itself, from the same step list.

use super::{CREATE, ClusterRun};
use crate::provision::error::ProvisionError;
use crate::provision::facts::Facts;
use crate::provision::host::{Host, role};
use crate::provision::scripts::HostScript;
use crate::store::ClusterStep;

impl ClusterRun {
    pub(super) fn write_plan(&mut self) -> Result<(), ProvisionError> {
        let control_planes = self.hosts.iter().filter(|h| h.control_plane).count();
        let ha = if control_planes > 1 {
            format!(", {control_planes} control planes with stacked etcd")
        } else {
            String::new()
        };
        let stack = if crate::names::dual_stack(&self.pod_cidr) {
            format!(
                " and service network {} (dual stack)",
                crate::provision::scripts::service_cidr(&self.pod_cidr)
            )
        } else {
            String::new()
        };
        let vip = self
            .endpoint
            .map(|a| format!(", API endpoint on virtual IP {a} (kube-vip)"))
            .unwrap_or_default();
        let probed = if self.endpoint.is_some() {
            " (the probe held the virtual IP on each control plane for seconds and let it go)"
        } else {
            ""
        };
        let mut out = vec![format!(
            "plan for cluster {} (Kubernetes {}, pod network {}{stack}{ha}{vip}); nothing was \
             changed{probed}:",
            self.name, self.k8s, self.pod_cidr
        )];
        for (i, h) in self.hosts.iter().enumerate() {
            let Some(f) = &h.facts else { continue };
            let os =
                h.os.as_ref()
                    .map(|o| o.pretty_name.clone())
                    .unwrap_or_default();
            let steps: Vec<String> = CREATE
                .iter()
                .flat_map(|step| self.scripts_of(*step, i))
                .filter_map(|script| self.describe(script, h, f))
                .collect();
            out.push(format!(
                "- {} {} ({}, {os}, {} CPU, {} MB): {}",
                h.target,
                role(h.control_plane),
                f.hostname,
                f.cpus,
                f.mem_mb,
                steps.join("; ")
            ));
        }
        if self.preflight_problems.is_empty() {
            let mut option = if control_planes > 1 {
                format!(" control-planes={control_planes}")
            } else {
                String::new()
            };
            if let Some(vip) = self.endpoint {
                option.push_str(&format!(" endpoint={vip}"));
            }
            out.push(format!(
                "preflight passed. /cluster create {} name={}{option} runs it.",
                self.hosts
                    .iter()
                    .map(|h| h.target.addr.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                self.name
            ));
        } else {
            out.push("create would stop at the preflight:".into());
            out.extend(self.preflight_problems.iter().map(|p| format!("- {p}")));
        }
        self.io.summary(out.join("\n"))?;
        Ok(())
    }

    /// The scripts `step` of the create flow runs on host `i`: its chain in the set-up step,
    /// the add-ons on the first control plane; none for the steps that only probe or wait.
    fn scripts_of(&self, step: ClusterStep, i: usize) -> Vec<HostScript> {
        match step {
            ClusterStep::SetUpHosts => self.chain(i),
            ClusterStep::InstallStorage if i == 0 => vec![HostScript::InstallStorage],
            ClusterStep::ApproveCsrs if i == 0 => vec![HostScript::ApproveCsrs],
            ClusterStep::InstallMetricsServer if i == 0 => vec![HostScript::InstallMetricsServer],
            _ => Vec::new(),
        }
    }

    /// What `script` would do on host `h`, whose facts are `f`; `None` for the scripts that
    /// only read. This is the dry run's one choke point: the plan lists what the same scripts
    /// would change.
    fn describe(&self, script: HostScript, h: &Host, f: &Facts) -> Option<String> {
        let s = &self.engine.settings;
        let control_planes = self.hosts.iter().filter(|h| h.control_plane).count();
        match script {
            HostScript::PrepareHost => Some(if crate::names::dual_stack(&self.pod_cidr) {
                "prepare host (swap off, kernel modules, sysctls with IPv6 forwarding, firewall ports, API endpoint name)".to_string()
            } else {
                "prepare host (swap off, kernel modules, sysctls, firewall ports, API endpoint name)".to_string()
            }),
            HostScript::InstallContainerd => Some(if f.containerd.is_empty() {
                "install containerd.io from Docker's repository".into()
            } else {
                // The step refuses it if it is older than these (containerd's matrix).
                let wanted = crate::names::K8sMinor::containerd_minimums(&self.k8s);
                format!(
                    "containerd {} already installed (Kubernetes {} wants {})",
                    f.containerd,
                    self.k8s,
                    wanted.replace(' ', "+, ") + "+"
                )
            }),
            HostScript::InstallKube => Some(if f.kubeadm_is(&self.k8s) {
                format!("kubeadm {} already installed", f.kubeadm)
            } else {
                format!("install kubeadm/kubelet/kubectl {}", self.k8s)
            }),
            HostScript::ApiProxy => Some(format!(
                "a local proxy (haproxy) from {}:{} to the {control_planes} API servers",
                crate::provision::scripts::API_PROXY_ADDRESS,
                crate::kube::kubeconfig::API_SERVER_PORT
            )),
            HostScript::KubeadmJoin => Some(if f.joined {
                "already joined".into()
            } else if h.control_plane {
                "kubeadm join --control-plane (an API server and an etcd member)".into()
            } else {
                "kubeadm join".into()
            }),
            HostScript::KubeadmInit => Some(if f.control_plane {
                "control plane already initialised".into()
            } else {
                format!(
                    "kubeadm init (control-plane endpoint {}:{})",
                    crate::provision::scripts::API_NAME,
                    crate::kube::kubeconfig::API_SERVER_PORT
                )
            }),
            HostScript::KubeVip => Some(format!(
                "kube-vip {} keeping {} on a working control plane (interface {})",
                s.kube_vip_version,
                self.endpoint.map(|a| a.to_string()).unwrap_or_default(),
                f.device_of(h.target.addr).unwrap_or("unknown")
            )),
            HostScript::InstallFlannel => Some(format!("flannel {}", s.flannel_version)),
            HostScript::InstallHelm => Some(format!("Helm {}", s.helm_version)),
            HostScript::InstallStorage => Some(format!(
                "local-path storage {} as the default StorageClass",
                s.local_path_version
            )),
            HostScript::ApproveCsrs => {
                Some("approve the kubelets' own serving certificates".into())
            }
            HostScript::InstallMetricsServer => {
                Some(format!("metrics-server {}", s.metrics_server_version))
            }
            HostScript::OsRelease
            | HostScript::Facts
            | HostScript::VipProbe
            | HostScript::JoinCommand
            | HostScript::CertificateKey
            | HostScript::Nodes
            | HostScript::RemovalCheck
            | HostScript::DrainNode
            | HostScript::DeleteNode
            | HostScript::Kubeconfig
            | HostScript::Reset
            // An upgrade has no dry run: `/cluster upgrade NAME` shows its plan instead.
            | HostScript::UpgradeCheck
            | HostScript::UpgradeMarks
            | HostScript::MarkUpgrade
            | HostScript::UpgradeKubeadm
            | HostScript::KubeadmUpgrade
            | HostScript::UpgradeKubelet
            | HostScript::FinishUpgrade => None,
        }
    }
}
