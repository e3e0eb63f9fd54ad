//! What each script is given on each host: the cluster's values and the host's own (its
//! address, `--node-ip`, interface, and where the API endpoint name leads there), through the
//! one rule of [`HostScript::env`].

use super::ClusterRun;
use crate::provision::host::Host;
use crate::provision::scripts::{API_PROXY_ADDRESS, ClusterValues, HostScript, HostValues};

impl ClusterRun {
    /// The environment `script` gets on host `i`: the values of this cluster it works with
    /// (the node its control-plane scripts act on is the leaving one, if any).
    pub(super) fn env(&self, i: usize, script: HostScript) -> Vec<(String, String)> {
        self.env_about(i, script, self.hosts.iter().position(|h| h.leaving))
    }

    /// [`ClusterRun::env`] with host `node` as the node the control plane's scripts act on.
    pub(super) fn env_about(
        &self,
        i: usize,
        script: HostScript,
        node: Option<usize>,
    ) -> Vec<(String, String)> {
        let s = &self.engine.settings;
        let advertise = self.hosts[0].target.addr.to_string();
        let control_planes: String = self
            .hosts
            .iter()
            .filter(|h| h.control_plane && !h.leaving)
            .map(|h| h.target.addr.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let node_addresses: String = self
            .hosts
            .iter()
            .map(|h| h.target.addr.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let nodes = node_list(&self.hosts);
        let endpoint = self.endpoint.map(|a| a.to_string()).unwrap_or_default();
        let values = ClusterValues {
            advertise_address: &advertise,
            k8s: &self.k8s,
            pod_cidr: &self.pod_cidr,
            flannel_version: &s.flannel_version,
            helm_version: &s.helm_version,
            local_path_version: &s.local_path_version,
            node_addresses: &node_addresses,
            registry_mirrors: &s.registry_mirrors,
            metrics_server_version: &s.metrics_server_version,
            nodes: &nodes,
            control_planes: &control_planes,
            schedule_on_control_planes: self.hosts.iter().all(|h| h.control_plane || h.leaving),
            node: &node.map(|n| self.node_name(n)).unwrap_or_default(),
            node_control_plane: node.is_some_and(|n| self.hosts[n].control_plane),
            nodes_ready_secs: s.nodes_ready_timeout.as_secs(),
            endpoint: &endpoint,
            kube_vip_version: &s.kube_vip_version,
        };
        let address = self.hosts[i].target.addr.to_string();
        let host = HostValues {
            control_plane: self.hosts[i].control_plane,
            address: &address,
            node_ip: &self.node_ip(i),
            api_address: &self.api_address(i),
            interface: self.interface(i),
        };
        script.env(&values, &host)
    }

    /// The name of host `n`'s node (what Kubernetes calls it: the host name its facts
    /// reported, else the registered one).
    pub(super) fn node_name(&self, n: usize) -> String {
        let h = &self.hosts[n];
        h.facts
            .as_ref()
            .map(|f| f.hostname.clone())
            .or_else(|| {
                self.registered().and_then(|r| {
                    r.nodes
                        .iter()
                        .find(|n| n.addr == h.target.addr)
                        .map(|n| n.hostname.clone())
                })
            })
            .unwrap_or_default()
            .to_lowercase()
    }

    /// The kubelet's `--node-ip` on host `i` ([`HostValues::node_ip`]): its address, and in a
    /// dual-stack cluster the global IPv6 address beside it too (the preflight refused hosts
    /// without one).
    fn node_ip(&self, i: usize) -> String {
        let h = &self.hosts[i];
        let v6 = h
            .facts
            .as_ref()
            .and_then(|f| f.ipv6_beside(h.target.addr).1);
        match v6 {
            Some(v6) if crate::names::dual_stack(&self.pod_cidr) => {
                format!("{},{v6}", h.target.addr)
            }
            _ => h.target.addr.to_string(),
        }
    }

    /// The interface of host `i`'s cluster address, as its facts reported ([`HostValues::interface`]).
    fn interface(&self, i: usize) -> &str {
        let h = &self.hosts[i];
        h.facts
            .as_ref()
            .and_then(|f| f.device_of(h.target.addr))
            .unwrap_or_default()
    }

    /// Where the cluster's API endpoint name leads on host `i` ([`HostValues::api_address`]).
    fn api_address(&self, i: usize) -> String {
        let h = &self.hosts[i];
        let first = self.hosts[0].target.addr.to_string();
        let joined = h
            .facts
            .as_ref()
            .is_some_and(|f| f.joined || f.control_plane);
        if h.control_plane {
            if i == 0 || joined {
                h.target.addr.to_string()
            } else {
                first
            }
        } else if let Some(vip) = self.endpoint {
            vip.to_string()
        } else if self.hosts.iter().filter(|h| h.control_plane).count() > 1 {
            API_PROXY_ADDRESS.to_string()
        } else {
            first
        }
    }
}

/// The nodes of the cluster as approve_csrs takes them: `<name>=<address>`, space-separated,
/// the name being the host name the facts reported (what Kubernetes calls the node).
fn node_list(hosts: &[Host]) -> String {
    hosts
        .iter()
        .filter_map(|h| {
            let f = h.facts.as_ref()?;
            Some(format!("{}={}", f.hostname, h.target.addr))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
