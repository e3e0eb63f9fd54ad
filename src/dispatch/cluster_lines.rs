//! The lines of `/cluster status` that say how the cluster is reached and what its networks
//! are, from what labkube registered and what its API server says.

use crate::kube::nodes;
use crate::store::ClusterRecord;

/// What the nodes' way to the API means for growing the cluster.
pub(super) fn joins_line(joins_at: Option<&str>) -> String {
    match joins_at {
        Some(e) if nodes::endpoint_is_a_name(e) => format!(
            "\nthe nodes reach the API through its control-plane endpoint {e}, so control planes can be added"
        ),
        Some(e) => format!(
            "\nthe nodes reach the API at {e}: the cluster was initialised without a control-plane endpoint, so kubeadm cannot give it more control planes"
        ),
        None => String::new(),
    }
}

/// The virtual IP the workers and the bot reach the API by, when the cluster has one.
pub(super) fn vip_line(record: Option<&ClusterRecord>) -> String {
    record
        .and_then(|r| r.endpoint)
        .map(|vip| {
            format!(
                "\nits name leads the workers to the virtual IP {vip}, which kube-vip keeps on a \
                 working control plane"
            )
        })
        .unwrap_or_default()
}

/// The cluster's pod and service networks as registered, a dual-stack one named so.
pub(super) fn networks_line(record: Option<&ClusterRecord>) -> String {
    let Some(pods) = record.and_then(|r| r.pod_cidr.as_deref()) else {
        return String::new();
    };
    let stack = if crate::names::dual_stack(pods) {
        " (dual stack: pods and Services can have an IPv4 and an IPv6 address)"
    } else {
        ""
    };
    format!(
        "\npod network {pods}, service network {}{stack}",
        crate::provision::scripts::service_cidr(pods)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ClusterRecord {
        ClusterRecord {
            name: "lab-1".into(),
            owner_platform: "console".into(),
            owner_room: "lab".into(),
            created_ms: 0,
            k8s_version: "v1.35.5".into(),
            nodes: Vec::new(),
            creating: None,
            pod_cidr: None,
            endpoint: None,
        }
    }

    #[test]
    fn the_networks_are_shown_and_a_dual_stack_cluster_named() {
        let mut record = record();
        assert_eq!(networks_line(Some(&record)), "");
        record.pod_cidr = Some("10.244.0.0/16".into());
        assert_eq!(
            networks_line(Some(&record)),
            "\npod network 10.244.0.0/16, service network 10.96.0.0/12"
        );
        record.pod_cidr = Some("10.244.0.0/16,fd00:10:244::/56".into());
        assert_eq!(
            networks_line(Some(&record)),
            "\npod network 10.244.0.0/16,fd00:10:244::/56, service network \
             10.96.0.0/12,fd00:10:96::/112 (dual stack: pods and Services can have an IPv4 and \
             an IPv6 address)"
        );
    }

    #[test]
    fn a_virtual_ip_is_named_where_it_leads() {
        let mut record = record();
        assert_eq!(vip_line(Some(&record)), "");
        record.endpoint = Some("10.0.0.10".parse().unwrap());
        assert_eq!(
            vip_line(Some(&record)),
            "\nits name leads the workers to the virtual IP 10.0.0.10, which kube-vip keeps on a \
             working control plane"
        );
    }
}
