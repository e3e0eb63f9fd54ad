//! A cluster's nodes as its API server sees them now: name, roles, readiness, kubelet version
//! and addresses, for `/cluster status` and `/cluster list`.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use crate::kube::client::Cluster;
use crate::kube::error::KubeError;

/// The label prefix kubeadm and kubectl read roles from (`node-role.kubernetes.io/<role>`).
const ROLE_LABEL: &str = "node-role.kubernetes.io/";

/// Node conditions that are a problem when `True` (kubelet's pressure conditions).
const PRESSURE: [&str; 4] = [
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

/// Whether the kubelet says the node can run pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Condition `Ready` is `True`.
    Ready,
    /// `Ready` is `False`: the kubelet reports a problem (its reason and message).
    NotReady(String),
    /// `Ready` is `Unknown` or missing: the kubelet stopped posting status.
    Unknown(String),
}

/// One node, as shown in chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The Node's name (the host's name as the kubelet registered it).
    pub name: String,
    /// Roles from its `node-role.kubernetes.io/*` labels; empty for a plain worker.
    pub roles: Vec<String>,
    /// Its Ready condition.
    pub readiness: Readiness,
    /// Pressure conditions that are `True`.
    pub pressure: Vec<String>,
    /// Whether it is cordoned (`spec.unschedulable`).
    pub cordoned: bool,
    /// The kubelet's version (`v1.33.4`); empty when not reported.
    pub kubelet: String,
    /// Its `InternalIP` addresses (two on a dual-stack node).
    pub addresses: Vec<IpAddr>,
}

impl NodeView {
    /// The view of a Node object.
    pub fn of(node: &Node) -> NodeView {
        let mut roles: Vec<String> = node
            .metadata
            .labels
            .iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix(ROLE_LABEL))
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        roles.sort();
        let status = node.status.as_ref();
        let conditions = status.and_then(|s| s.conditions.as_ref());
        let ready = conditions.and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
        let why = |c: &k8s_openapi::api::core::v1::NodeCondition| {
            let reason = c.reason.clone().unwrap_or_default();
            match c.message.as_deref().filter(|m| !m.is_empty()) {
                Some(m) if !reason.is_empty() => format!("{reason}: {m}"),
                Some(m) => m.to_string(),
                None => reason,
            }
        };
        let readiness = match ready {
            Some(c) if c.status == "True" => Readiness::Ready,
            Some(c) if c.status == "False" => Readiness::NotReady(why(c)),
            Some(c) => Readiness::Unknown(why(c)),
            None => Readiness::Unknown("the kubelet has not posted a Ready condition".into()),
        };
        let pressure = conditions
            .into_iter()
            .flatten()
            .filter(|c| c.status == "True" && PRESSURE.contains(&c.type_.as_str()))
            .map(|c| c.type_.clone())
            .collect();
        let addresses = status
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .filter(|a| a.type_ == "InternalIP")
            .filter_map(|a| a.address.parse().ok())
            .collect();
        NodeView {
            name: node.metadata.name.clone().unwrap_or_default(),
            roles,
            readiness,
            pressure,
            cordoned: node
                .spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false),
            kubelet: status
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.clone())
                .unwrap_or_default(),
            addresses,
        }
    }

    /// Whether it has the control-plane role.
    pub fn is_control_plane(&self) -> bool {
        self.roles.iter().any(|r| r == "control-plane")
    }

    /// `Ready`, `NotReady (reason)`, `Unknown (reason)`, then cordoning and pressure.
    pub fn state(&self) -> String {
        let mut out = match &self.readiness {
            Readiness::Ready => "Ready".to_string(),
            Readiness::NotReady(why) if why.is_empty() => "NotReady".to_string(),
            Readiness::NotReady(why) => format!("NotReady ({why})"),
            Readiness::Unknown(why) if why.is_empty() => "Unknown".to_string(),
            Readiness::Unknown(why) => format!("Unknown ({why})"),
        };
        if self.cordoned {
            out.push_str(", cordoned");
        }
        for p in &self.pressure {
            out.push_str(&format!(", {p}"));
        }
        out
    }
}

/// The cluster's nodes, sorted control planes first, then by name.
pub async fn nodes(cluster: &Cluster) -> Result<Vec<NodeView>, KubeError> {
    let api: Api<Node> = Api::all(cluster.client.clone());
    let list = cluster
        .call("listing the nodes", api.list(&ListParams::default()))
        .await?;
    let mut views: Vec<NodeView> = list.items.iter().map(NodeView::of).collect();
    views.sort_by(|a, b| (!a.is_control_plane(), &a.name).cmp(&(!b.is_control_plane(), &b.name)));
    Ok(views)
}

/// Where the cluster's nodes reach its API: the server of kubeadm's `kube-public/cluster-info`
/// (its control-plane endpoint, or the first control plane's address when it was initialised
/// without one) as `host:port`; `None` for a cluster kubeadm did not make. Only shown, never
/// dialled: anyone with access to the cluster could have edited it, so anything but a plain
/// `host:port` is not shown either.
pub async fn join_endpoint(cluster: &Cluster) -> Result<Option<String>, KubeError> {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(cluster.client.clone(), "kube-public");
    let info = cluster
        .call(
            "reading kube-public/cluster-info",
            api.get_opt("cluster-info"),
        )
        .await?;
    let text = info
        .and_then(|cm| cm.data)
        .and_then(|mut d| d.remove("kubeconfig"));
    let server = text
        .and_then(|t| kube::config::Kubeconfig::from_yaml(&t).ok())
        .and_then(|k| k.clusters.into_iter().next())
        .and_then(|c| c.cluster)
        .and_then(|c| c.server);
    Ok(server.and_then(|s| plain_host_port(&s)))
}

/// `https://HOST:PORT` → `HOST:PORT` when HOST is a DNS name or an address and PORT a number.
fn plain_host_port(server: &str) -> Option<String> {
    let rest = server.strip_prefix("https://")?.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':')?;
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    (host_ok && port.parse::<u16>().is_ok()).then(|| rest.to_string())
}

/// Whether the cluster was initialised with a control-plane endpoint that is a name, which is
/// what lets kubeadm give it more control planes later.
pub fn endpoint_is_a_name(host_port: &str) -> bool {
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, _)| h)
        .trim_matches(|c| c == '[' || c == ']');
    host.parse::<std::net::IpAddr>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(json: serde_json::Value) -> Node {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_ready_control_plane_reads_as_kubectl_shows_it() {
        let n = node(serde_json::json!({
            "metadata": { "name": "cp1", "labels": {
                "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "cp1" } },
            "status": {
                "conditions": [
                    { "type": "MemoryPressure", "status": "False" },
                    { "type": "Ready", "status": "True", "reason": "KubeletReady" }],
                "addresses": [{ "type": "InternalIP", "address": "10.0.0.1" },
                    { "type": "InternalIP", "address": "fd00::1" },
                    { "type": "Hostname", "address": "cp1" }],
                "nodeInfo": { "kubeletVersion": "v1.33.4", "machineID": "", "systemUUID": "",
                    "bootID": "", "kernelVersion": "", "osImage": "", "containerRuntimeVersion": "",
                    "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64" } }
        }));
        let v = NodeView::of(&n);
        assert_eq!(v.name, "cp1");
        assert_eq!(v.roles, ["control-plane"]);
        assert!(v.is_control_plane());
        assert_eq!(v.state(), "Ready");
        assert_eq!(v.kubelet, "v1.33.4");
        let want: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()];
        assert_eq!(v.addresses, want);
    }

    #[test]
    fn a_silent_kubelet_a_cordon_and_pressure_are_all_shown() {
        let n = node(serde_json::json!({
            "metadata": { "name": "w1" },
            "spec": { "unschedulable": true },
            "status": { "conditions": [
                { "type": "DiskPressure", "status": "True" },
                { "type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                  "message": "Kubelet stopped posting node status." }] }
        }));
        let v = NodeView::of(&n);
        assert!(v.roles.is_empty() && !v.is_control_plane());
        assert_eq!(
            v.state(),
            "Unknown (NodeStatusUnknown: Kubelet stopped posting node status.), cordoned, DiskPressure"
        );
        let not_ready = node(serde_json::json!({
            "metadata": { "name": "w2" },
            "status": { "conditions": [{ "type": "Ready", "status": "False",
                "reason": "KubeletNotReady", "message": "container runtime network not ready" }] }
        }));
        assert_eq!(
            NodeView::of(&not_ready).state(),
            "NotReady (KubeletNotReady: container runtime network not ready)"
        );
        let bare = node(serde_json::json!({ "metadata": { "name": "w3" } }));
        assert_eq!(
            NodeView::of(&bare).state(),
            "Unknown (the kubelet has not posted a Ready condition)"
        );
    }

    #[test]
    fn only_a_plain_host_port_is_shown() {
        assert_eq!(
            plain_host_port("https://api.labkube.internal:6443").as_deref(),
            Some("api.labkube.internal:6443")
        );
        assert_eq!(
            plain_host_port("https://[fd00::1]:6443/").as_deref(),
            Some("[fd00::1]:6443")
        );
        for bad in [
            "http://10.0.0.1:6443",
            "https://10.0.0.1",
            "https://evil<b>:6443",
            "https://a b:6443",
            "https://:6443",
        ] {
            assert_eq!(plain_host_port(bad), None, "{bad}");
        }
        assert!(endpoint_is_a_name("api.labkube.internal:6443"));
        assert!(!endpoint_is_a_name("10.0.0.1:6443"));
        assert!(!endpoint_is_a_name("[fd00::1]:6443"));
    }
}
