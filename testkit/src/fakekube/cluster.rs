//! What a fake cluster holds before any client writes: the namespaces kubeadm leaves, the
//! nodes ([`FakeOptions::nodes`] workers and, by default, a tainted control plane) and the
//! storage ([`FakeStorage`]), and metrics-server's APIService when it runs.

use super::controllers::volumes::DEFAULT_CLASS;
use super::handle::FakeOptions;
use super::resources::res;
use super::store::State;
use serde_json::{Value, json};

/// The provisioner name rancher local-path-provisioner registers (its `deploy/` manifest).
pub const LOCAL_PATH_PROVISIONER: &str = "rancher.io/local-path";
/// kubeadm's taint on control-plane nodes (kubeadm `constants.ControlPlaneTaint`).
pub const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane";
/// The control-plane node's name.
pub const CONTROL_PLANE_NODE: &str = "fake-cp";

/// The storage a fake cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeStorage {
    /// rancher local-path-provisioner running, its class `local-path` the default
    /// (`WaitForFirstConsumer`, reclaim `Delete`), as `/cluster create` leaves a cluster.
    LocalPath,
    /// Nothing: no StorageClass, no provisioner, as kubeadm leaves a cluster. Claims without a
    /// class stay Pending and their pods unscheduled.
    None,
    /// The `local-path` default class exists but no provisioner runs (its pod is gone): claims
    /// stay Pending with the "Waiting for a volume to be created" event.
    ClassWithoutProvisioner,
}

/// Fills a new state with the cluster `opts` describes.
pub(super) fn populate(st: &mut State, opts: &FakeOptions) {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        st.insert(
            res::NAMESPACES,
            json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": { "name": ns, "labels": { "kubernetes.io/metadata.name": ns } },
                "spec": { "finalizers": ["kubernetes"] }, "status": { "phase": "Active" }
            }),
        );
    }
    super::rbac::populate(st);
    if opts.control_plane {
        st.insert(res::NODES, node(opts, CONTROL_PLANE_NODE, 0, true));
    }
    for i in 0..opts.nodes.max(1) {
        let name = format!("fake-node-{i}");
        st.insert(res::NODES, node(opts, &name, i + 1, false));
    }
    if opts.storage != FakeStorage::None {
        st.insert(
            res::STORAGE_CLASSES,
            json!({
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": { "name": "local-path", "annotations": { DEFAULT_CLASS: "true" } },
                "provisioner": LOCAL_PATH_PROVISIONER,
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "WaitForFirstConsumer",
            }),
        );
    }
    if opts.metrics_server {
        // As metrics-server's release manifest registers it, once its pod answers.
        st.insert(
            res::APISERVICES,
            json!({
                "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": { "name": super::controllers::hpa::METRICS_API,
                    "labels": { "k8s-app": "metrics-server" } },
                "spec": { "group": "metrics.k8s.io", "version": "v1beta1",
                    "service": { "name": "metrics-server", "namespace": "kube-system", "port": 443 },
                    "groupPriorityMinimum": 100, "versionPriority": 100,
                    "insecureSkipTLSVerify": true },
                "status": { "conditions": [{ "type": "Available", "status": "True",
                    "reason": "Passed", "message": "all checks passed",
                    "lastTransitionTime": "2025-01-01T00:00:00Z" }] },
            }),
        );
    }
    if opts.storage == FakeStorage::LocalPath {
        st.knobs.provisioners.push(LOCAL_PATH_PROVISIONER.into());
    }
}

/// A Ready node as the kubelet registers it (kubeadm's labels and, for the control plane, its
/// label and taint).
fn node(opts: &FakeOptions, name: &str, index: u32, control_plane: bool) -> Value {
    let mut labels = json!({
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
    });
    let mut spec = json!({
        "podCIDR": format!("10.244.{index}.0/24"), "podCIDRs": [format!("10.244.{index}.0/24")],
    });
    if control_plane {
        labels[CONTROL_PLANE_TAINT] = json!("");
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("");
        spec["taints"] = json!([{ "key": CONTROL_PLANE_TAINT, "effect": "NoSchedule" }]);
    }
    let resources = json!({
        "cpu": opts.node_cpu, "memory": opts.node_memory, "pods": "110",
        "ephemeral-storage": "40Gi", "hugepages-2Mi": "0",
    });
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": name, "labels": labels,
            "annotations": { "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true" } },
        "spec": spec,
        "status": {
            "capacity": resources, "allocatable": resources,
            "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": "2025-01-01T00:00:00Z", "lastTransitionTime": "2025-01-01T00:00:00Z" }],
            "addresses": [{ "type": "InternalIP", "address": format!("192.168.49.{}", index + 2) },
                { "type": "Hostname", "address": name }],
            "nodeInfo": { "kubeletVersion": "v1.35.0", "containerRuntimeVersion": "containerd://2.2.1",
                "osImage": "Ubuntu 24.04.2 LTS", "kernelVersion": "6.8.0-60-generic",
                "operatingSystem": "linux", "architecture": "amd64" },
        },
    })
}

/// kubeadm's `kube-public/cluster-info` ConfigMap (its `bootstrap-token` phase): a kubeconfig
/// with the cluster CA and the control-plane endpoint as its server, which joining nodes read.
pub(super) fn cluster_info(st: &mut State, endpoint: &str) {
    let kubeconfig = format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n    \
         server: https://{endpoint}\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\n\
         preferences: {{}}\nusers: null\n"
    );
    st.insert(
        res::CONFIGMAPS,
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "cluster-info", "namespace": "kube-public" },
            "data": { "kubeconfig": kubeconfig },
        }),
    );
}

/// The taints the node lifecycle controller puts on a node whose kubelet stopped posting
/// status (`pkg/controller/nodelifecycle/node_lifecycle_controller.go`,
/// `UnreachableTaintTemplate` and its NoSchedule twin).
fn unreachable_taints() -> Value {
    json!([
        { "key": "node.kubernetes.io/unreachable", "effect": "NoSchedule" },
        { "key": "node.kubernetes.io/unreachable", "effect": "NoExecute" },
    ])
}

/// The node's Ready condition and taints as the node lifecycle controller leaves them when its
/// kubelet stops: status `Unknown`, reason `NodeStatusUnknown`, message "Kubelet stopped
/// posting node status." (`tryUpdateNodeHealth`).
pub(super) fn kubelet_stopped(st: &mut State, node: &str) {
    if !st.knobs.stopped_kubelets.iter().any(|n| n == node) {
        st.knobs.stopped_kubelets.push(node.to_string());
    }
    set_node_health(
        st,
        node,
        (
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        ),
        true,
    );
}

/// The kubelet posts Ready again (`KubeletReady`, "kubelet is posting ready status").
pub(super) fn kubelet_started(st: &mut State, node: &str) {
    st.knobs.stopped_kubelets.retain(|n| n != node);
    set_node_health(
        st,
        node,
        ("True", "KubeletReady", "kubelet is posting ready status"),
        false,
    );
}

fn set_node_health(st: &mut State, node: &str, ready: (&str, &str, &str), unreachable: bool) {
    let Some(mut obj) = st.get(res::NODES, "", node).cloned() else {
        panic!("the fake cluster has no node {node}");
    };
    let (status, reason, message) = ready;
    let now = super::meta::now_rfc3339();
    if let Some(conds) = obj
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        for c in conds.iter_mut().filter(|c| c["type"] == "Ready") {
            c["status"] = json!(status);
            c["reason"] = json!(reason);
            c["message"] = json!(message);
            c["lastTransitionTime"] = json!(now);
        }
    }
    let mut taints: Vec<Value> = obj
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    taints.retain(|t| t["key"] != "node.kubernetes.io/unreachable");
    if unreachable {
        taints.extend(unreachable_taints().as_array().cloned().unwrap_or_default());
    }
    obj["spec"]["taints"] = json!(taints);
    st.replace(res::NODES, obj);
}
