//! What the step scripts are given: the values of the cluster and of the host a script runs
//! on, and the one rule that turns them into each script's environment
//! ([`HostScript::env`]; `commands/README.md`, "Environment").

use super::scripts::HostScript;

/// The service network: kubeadm's default (`--service-cidr`, 10.96.0.0/12), which labkube does
/// not change; prepare_host trusts it in firewalld and preflight keeps hosts off it.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";

/// The IPv6 service network of a dual-stack cluster: a unique-local /112 named like kubeadm's
/// IPv4 default (the kubeadm dual-stack guide's shape). The API server takes no IPv6 service
/// network larger than a /108 ("specified service subnet is too large; for 128-bit
/// addresses, the mask must be >= 108", kubeadm `ValidateServiceSubnetSize`).
pub const SERVICE_CIDR_V6: &str = "fd00:10:96::/112";

/// The service network of a cluster whose pod network is `pod_cidr`: [`SERVICE_CIDR`], and
/// [`SERVICE_CIDR_V6`] after it for a dual-stack pod network.
pub fn service_cidr(pod_cidr: &str) -> String {
    if crate::names::dual_stack(pod_cidr) {
        format!("{SERVICE_CIDR},{SERVICE_CIDR_V6}")
    } else {
        SERVICE_CIDR.to_string()
    }
}

/// The name every node reaches the cluster's API servers by (kubeadm's
/// `--control-plane-endpoint`), which `prepare_host` makes resolve on each host to where an
/// API server answers for it. A name in `.internal`, the top-level domain ICANN reserved for
/// private use (2024), so it can never be someone's real host.
pub const API_NAME: &str = "api.labkube.internal";

/// Where a host reaches the API through [`API_NAME`] on the loopback address: its local proxy.
pub const API_PROXY_ADDRESS: &str = "127.0.0.1";

/// How long the probe holds a virtual IP on a host at most (the kernel drops it after that,
/// should the bot never release it).
pub const VIP_HOLD_SECONDS: &str = "30";

/// How long kube_vip waits for the virtual IP to answer after placing kube-vip: its leader
/// election (15 s lease) and the image pull.
pub const VIP_WAIT_SECONDS: &str = "180";

/// Free space an upgrade needs under `/var/lib` on every host, in MiB (upgrade_check's
/// `MIN_FREE_MB`): the new minor's packages and, on a control plane, its images (kubeadm
/// pulls about 300 MiB of them) while the old ones are still there.
pub const UPGRADE_FREE_MB: &str = "2048";

/// What the step scripts are given of the host they run on.
#[derive(Clone, Copy, Debug)]
pub struct HostValues<'a> {
    /// It is (or becomes) a control plane.
    pub control_plane: bool,
    /// Its address in the cluster.
    pub address: &'a str,
    /// The kubelet's `--node-ip`: the address, and for a dual-stack cluster the host's global
    /// IPv6 address after a comma.
    pub node_ip: &'a str,
    /// Where [`API_NAME`] leads on it: its own API server, the first control plane's (a
    /// control plane before it joined, a worker of a cluster with one), or its local proxy
    /// ([`API_PROXY_ADDRESS`]: a worker of a cluster with several), or the cluster's virtual
    /// IP (a worker of a cluster with one).
    pub api_address: &'a str,
    /// The network interface of its address (where kube-vip announces a virtual IP); empty
    /// when unknown.
    pub interface: &'a str,
}

/// The values of one cluster that its step scripts are given.
#[derive(Clone, Copy, Debug)]
pub struct ClusterValues<'a> {
    /// The first control plane's address, as kubeadm advertises it.
    pub advertise_address: &'a str,
    /// Every control plane's address, comma-separated (api_proxy's `API_SERVERS`).
    pub control_planes: &'a str,
    /// Kubernetes minor (`1.35`).
    pub k8s: &'a str,
    /// Pod network CIDR.
    pub pod_cidr: &'a str,
    /// flannel release tag.
    pub flannel_version: &'a str,
    /// Helm release tag.
    pub helm_version: &'a str,
    /// local-path-provisioner release tag.
    pub local_path_version: &'a str,
    /// Every host's address in the cluster, comma-separated (containerd's `NO_PROXY`).
    pub node_addresses: &'a str,
    /// Registry mirrors, encoded ([`crate::config::encode_mirrors`]); empty: none.
    pub registry_mirrors: &'a str,
    /// metrics-server release tag.
    pub metrics_server_version: &'a str,
    /// The nodes, `<name>=<address>` separated by spaces (approve_csrs's `NODES`).
    pub nodes: &'a str,
    /// The cluster has no workers: its control planes also run the workloads.
    pub schedule_on_control_planes: bool,
    /// The node the control plane's scripts act on, by its name: the one leaving the cluster
    /// (`/node remove`) or the one being upgraded; empty otherwise.
    pub node: &'a str,
    /// That node is a control plane.
    pub node_control_plane: bool,
    /// How long a node may take to become Ready, in seconds (`[cluster]
    /// nodes_ready_timeout_secs`).
    pub nodes_ready_secs: u64,
    /// The virtual IP of the API endpoint (`endpoint=`); empty: none.
    pub endpoint: &'a str,
    /// kube-vip release tag.
    pub kube_vip_version: &'a str,
}

impl HostScript {
    /// The environment this script gets from the cluster's values (`commands/README.md`,
    /// "Environment") on the host `host` describes.
    pub fn env(self, values: &ClusterValues<'_>, host: &HostValues<'_>) -> Vec<(String, String)> {
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let services = service_cidr(values.pod_cidr);
        match self {
            HostScript::PrepareHost => vec![
                pair("ROLE", super::host::role(host.control_plane)),
                pair("POD_CIDR", values.pod_cidr),
                pair("SERVICE_CIDR", &services),
                pair("API_NAME", API_NAME),
                pair("API_ADDRESS", host.api_address),
            ],
            HostScript::ApiProxy => vec![
                pair("API_SERVERS", values.control_planes),
                pair("API_NAME", API_NAME),
            ],
            HostScript::InstallContainerd => vec![
                pair("K8S_MINOR", values.k8s),
                (
                    "CONTAINERD_MINIMUMS".into(),
                    crate::names::K8sMinor::containerd_minimums(values.k8s),
                ),
                pair("POD_CIDR", values.pod_cidr),
                pair("SERVICE_CIDR", &services),
                pair("NODE_ADDRESSES", values.node_addresses),
                pair("REGISTRY_MIRRORS", values.registry_mirrors),
            ],
            HostScript::InstallKube => vec![pair("K8S_MINOR", values.k8s)],
            HostScript::KubeadmInit => vec![
                pair("ADVERTISE_ADDRESS", values.advertise_address),
                (
                    "CONTROL_PLANE_ENDPOINT".into(),
                    format!("{API_NAME}:{}", crate::kube::kubeconfig::API_SERVER_PORT),
                ),
                pair("POD_CIDR", values.pod_cidr),
                pair("SERVICE_CIDR", &services),
                pair("NODE_IP", host.node_ip),
                pair("K8S_MINOR", values.k8s),
                pair("EXTRA_SANS", values.endpoint),
                pair(
                    "SCHEDULE_ON_CONTROL_PLANE",
                    yes_no(values.schedule_on_control_planes),
                ),
            ],
            HostScript::VipProbe => vec![
                pair("VIP", values.endpoint),
                pair("VIP_INTERFACE", host.interface),
                pair("HOLD_SECONDS", VIP_HOLD_SECONDS),
            ],
            HostScript::KubeVip => vec![
                pair("VIP", values.endpoint),
                pair("VIP_INTERFACE", host.interface),
                pair("KUBE_VIP_VERSION", values.kube_vip_version),
                pair("WAIT_SECONDS", VIP_WAIT_SECONDS),
            ],
            HostScript::InstallFlannel => vec![
                pair("FLANNEL_VERSION", values.flannel_version),
                pair("POD_CIDR", values.pod_cidr),
                pair("CONTROL_PLANE_ADDRESS", values.advertise_address),
            ],
            HostScript::KubeadmJoin => vec![
                pair("NODE_IP", host.node_ip),
                pair("CONTROL_PLANE", yes_no(host.control_plane)),
                pair("API_NAME", API_NAME),
                pair(
                    "SCHEDULE_ON_CONTROL_PLANE",
                    yes_no(values.schedule_on_control_planes),
                ),
            ],
            HostScript::InstallHelm => vec![pair("HELM_VERSION", values.helm_version)],
            HostScript::InstallStorage => {
                vec![pair("LOCAL_PATH_VERSION", values.local_path_version)]
            }
            HostScript::ApproveCsrs => vec![pair("NODES", values.nodes)],
            HostScript::InstallMetricsServer => {
                vec![pair(
                    "METRICS_SERVER_VERSION",
                    values.metrics_server_version,
                )]
            }
            HostScript::RemovalCheck => vec![
                pair("NODE", values.node),
                pair("CONTROL_PLANE", yes_no(values.node_control_plane)),
            ],
            HostScript::DrainNode | HostScript::DeleteNode => vec![pair("NODE", values.node)],
            HostScript::UpgradeCheck => vec![
                pair("K8S_MINOR", values.k8s),
                (
                    "CONTAINERD_MINIMUMS".into(),
                    crate::names::K8sMinor::containerd_minimums(values.k8s),
                ),
                pair("MIN_FREE_MB", UPGRADE_FREE_MB),
            ],
            HostScript::MarkUpgrade => {
                vec![pair("NODE", values.node), pair("K8S_MINOR", values.k8s)]
            }
            HostScript::UpgradeKubeadm | HostScript::UpgradeKubelet => {
                vec![pair("K8S_MINOR", values.k8s)]
            }
            HostScript::KubeadmUpgrade => vec![
                pair("K8S_MINOR", values.k8s),
                pair(
                    "UPGRADE",
                    if host.address == values.advertise_address {
                        "apply"
                    } else {
                        "node"
                    },
                ),
            ],
            HostScript::FinishUpgrade => vec![
                pair("NODE", values.node),
                pair("K8S_MINOR", values.k8s),
                ("WAIT_SECONDS".into(), values.nodes_ready_secs.to_string()),
            ],
            HostScript::OsRelease
            | HostScript::Facts
            | HostScript::JoinCommand
            | HostScript::CertificateKey
            | HostScript::Nodes
            | HostScript::Kubeconfig
            | HostScript::UpgradeMarks
            | HostScript::Reset => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_containerd_gets_the_minimums_networks_nodes_and_mirrors() {
        let values = ClusterValues {
            advertise_address: "10.0.0.1",
            k8s: "1.35",
            pod_cidr: "10.244.0.0/16",
            flannel_version: "v0.27.4",
            helm_version: "v3.19.0",
            local_path_version: "v0.0.37",
            node_addresses: "10.0.0.1,10.0.0.2",
            registry_mirrors: "docker.io=https://mirror.lab.example",
            metrics_server_version: "v0.9.0",
            nodes: "cp=10.0.0.1 w1=10.0.0.2",
            control_planes: "10.0.0.1",
            schedule_on_control_planes: false,
            node: "",
            node_control_plane: false,
            nodes_ready_secs: 600,
            endpoint: "",
            kube_vip_version: "v1.2.3",
        };
        let host = HostValues {
            control_plane: false,
            address: "10.0.0.2",
            node_ip: "10.0.0.2",
            api_address: "10.0.0.1",
            interface: "eth0",
        };
        let env = HostScript::InstallContainerd.env(&values, &host);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CONTAINERD_MINIMUMS"), Some("2.2.0 2.1.5 1.7.28"));
        assert_eq!(get("K8S_MINOR"), Some("1.35"));
        assert_eq!(get("SERVICE_CIDR"), Some(SERVICE_CIDR));
        assert_eq!(get("NODE_ADDRESSES"), Some("10.0.0.1,10.0.0.2"));
        assert_eq!(
            get("REGISTRY_MIRRORS"),
            Some("docker.io=https://mirror.lab.example")
        );
        let dual = ClusterValues {
            pod_cidr: "10.244.0.0/16,fd00:10:244::/56",
            ..values
        };
        let env = HostScript::KubeadmInit.env(&dual, &host);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("SERVICE_CIDR"), Some("10.96.0.0/12,fd00:10:96::/112"));
    }
}
