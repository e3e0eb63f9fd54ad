//! The dry run's report: the probes ran, and each of create's changing steps says what it
//! would do on each host. One choke point (the k0sctl way): a step that changes hosts either
//! runs or describes itself, from the same step list.

use super::{CREATE, ClusterRun};
use crate::provision::error::ProvisionError;
use crate::provision::facts::Facts;
use crate::provision::host::{Host, role};
use crate::store::ClusterStep;

impl ClusterRun {
    pub(super) fn write_plan(&mut self) -> Result<(), ProvisionError> {
        let control_planes = self.hosts.iter().filter(|h| h.control_plane).count();
        let ha = if control_planes > 1 {
            format!(", {control_planes} control planes with stacked etcd")
        } else {
            String::new()
        };
        let mut out = vec![format!(
            "plan for cluster {} (Kubernetes {}, pod network {}{ha}); nothing was changed:",
            self.name, self.k8s, self.pod_cidr
        )];
        for h in &self.hosts {
            let Some(f) = &h.facts else { continue };
            let os =
                h.os.as_ref()
                    .map(|o| o.pretty_name.clone())
                    .unwrap_or_default();
            let steps: Vec<String> = CREATE
                .iter()
                .filter_map(|step| self.describe(*step, h, f))
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
            let option = if control_planes > 1 {
                format!(" control-planes={control_planes}")
            } else {
                String::new()
            };
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

    /// What `step` of the create flow would do on host `h`, whose facts are `f`; `None` for
    /// the steps that only probe or that do not work on hosts one by one. This is the dry run's
    /// one choke point: the plan lists what the same steps would change.
    fn describe(&self, step: ClusterStep, h: &Host, f: &Facts) -> Option<String> {
        let s = &self.engine.settings;
        let first = std::ptr::eq(h, &self.hosts[0]);
        let on_control_plane = |text: String| first.then_some(text);
        let control_planes = self.hosts.iter().filter(|h| h.control_plane).count();
        match step {
            ClusterStep::PrepareHosts => {
                Some("prepare host (swap off, kernel modules, sysctls, firewall ports, API endpoint name)".to_string())
            }
            ClusterStep::InstallContainerd => Some(if f.containerd.is_empty() {
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
            ClusterStep::InstallKube => Some(if f.kubeadm_is(&self.k8s) {
                format!("kubeadm {} already installed", f.kubeadm)
            } else {
                format!("install kubeadm/kubelet/kubectl {}", self.k8s)
            }),
            ClusterStep::InstallApiProxy => (!h.control_plane && control_planes > 1).then(|| {
                format!(
                    "a local proxy (haproxy) from {}:{} to the {control_planes} API servers",
                    crate::provision::scripts::API_PROXY_ADDRESS,
                    crate::kube::kubeconfig::API_SERVER_PORT
                )
            }),
            ClusterStep::JoinControlPlanes => (h.control_plane && !first).then(|| {
                if f.joined {
                    "already joined".into()
                } else {
                    "kubeadm join --control-plane (an API server and an etcd member)".into()
                }
            }),
            ClusterStep::InitControlPlane => on_control_plane(if f.control_plane {
                "control plane already initialised".into()
            } else {
                format!(
                    "kubeadm init (control-plane endpoint {}:{})",
                    crate::provision::scripts::API_NAME,
                    crate::kube::kubeconfig::API_SERVER_PORT
                )
            }),
            ClusterStep::InstallFlannel => {
                on_control_plane(format!("flannel {}", s.flannel_version))
            }
            ClusterStep::InstallHelm => on_control_plane(format!("Helm {}", s.helm_version)),
            ClusterStep::InstallStorage => on_control_plane(format!(
                "local-path storage {} as the default StorageClass",
                s.local_path_version
            )),
            ClusterStep::ApproveCsrs => {
                on_control_plane("approve the kubelets' own serving certificates".into())
            }
            ClusterStep::InstallMetricsServer => {
                on_control_plane(format!("metrics-server {}", s.metrics_server_version))
            }
            ClusterStep::JoinWorkers => (!h.control_plane).then(|| {
                if f.joined {
                    "already joined".into()
                } else {
                    "kubeadm join".into()
                }
            }),
            ClusterStep::Connect
            | ClusterStep::DetectOs
            | ClusterStep::GatherFacts
            | ClusterStep::Preflight
            | ClusterStep::WaitNodesReady
            | ClusterStep::FetchKubeconfig
            | ClusterStep::Register
            | ClusterStep::Plan
            | ClusterStep::ResetHosts
            | ClusterStep::CheckRemoval
            | ClusterStep::DrainNode
            | ClusterStep::DeleteNode
            | ClusterStep::Unregister => None,
        }
    }
}
