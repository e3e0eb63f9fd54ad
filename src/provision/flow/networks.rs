//! Whether the hosts' addresses and networks fit a cluster: the address each host was given
//! must be one of its own (kubeadm advertises it and etcd and the kubelet bind it; a floating
//! or NAT address makes etcd fail with "bind: cannot assign requested address",
//! etcd-io/etcd#3226), neither the pod network nor the service network may overlap a
//! network a host is on (its traffic would be routed into the cluster instead), and every host
//! of a dual-stack cluster needs a global IPv6 address (its kubelet registers it, and flannel
//! tunnels the pods' IPv6 traffic to it).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::provision::facts::Facts;
use crate::provision::scripts::service_cidr;

/// A host's problems with its address and networks, each a line prefixed with `host`.
/// `addrs` are the host's global addresses with prefix (`10.0.0.5/24`); nothing is checked
/// when it reported none.
pub fn check(host: &str, target: IpAddr, facts: &Facts, pod_cidr: &str) -> Vec<String> {
    let nets: Vec<IpNet> = facts.addrs.iter().filter_map(|a| a.parse().ok()).collect();
    if nets.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    if !nets.iter().any(|n| n.addr() == target) {
        let own: Vec<String> = nets.iter().map(|n| n.addr().to_string()).collect();
        problems.push(format!(
            "{host}: {target} is not an address of this VM; its addresses are {}: give the \
             private address (a floating or NAT address cannot be bound by etcd and the kubelet)",
            own.join(", ")
        ));
    }
    if crate::names::dual_stack(pod_cidr) {
        match facts.ipv6_beside(target) {
            (_, Some(_)) => {}
            (Some(dev), None) if nets.iter().any(|n| n.addr().is_ipv6()) => problems.push(format!(
                "{host}: it has no global IPv6 address on {dev}, the interface of {target}, \
                 which every node of a dual-stack cluster (pod-cidr={pod_cidr}) needs there: \
                 flannel and the kubelet take both families from that interface; give it one \
                 or create the cluster with an IPv4 pod-cidr= only"
            )),
            _ => problems.push(format!(
                "{host}: it has no global IPv6 address, which every node of a dual-stack \
                 cluster (pod-cidr={pod_cidr}) needs; give the VM one (on OpenStack: an IPv6 \
                 subnet on its network) or create the cluster with an IPv4 pod-cidr= only"
            )),
        }
    }
    let services = service_cidr(pod_cidr);
    let networks = pod_cidr
        .split(',')
        .map(|c| (c, "pod network", "choose another pod-cidr="))
        .chain(
            services
                .split(',')
                .map(|c| (c, "service network", "move the hosts to another network")),
        );
    for (cidr, what, fix) in networks {
        let Ok(cluster) = cidr.parse::<IpNet>() else {
            continue;
        };
        for n in nets.iter().map(IpNet::trunc) {
            if cluster.contains(&n.network()) || n.contains(&cluster.network()) {
                problems.push(format!(
                    "{host}: its network {n} overlaps the {what} {cluster}; {fix}"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Facts with these addresses, all on eth0 unless `devs` says otherwise.
    fn on(addrs: &[&str], devs: &[&str]) -> Facts {
        Facts {
            addrs: addrs.iter().map(ToString::to_string).collect(),
            addr_devs: (0..addrs.len())
                .map(|i| devs.get(i).copied().unwrap_or("eth0").to_string())
                .collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn a_host_on_its_own_address_and_a_clear_network_passes() {
        let addrs = on(&["10.0.0.5/24", "fd00::5/64"], &[]);
        assert!(check("10.0.0.5", ip("10.0.0.5"), &addrs, "10.244.0.0/16").is_empty());
        assert!(check("x", ip("10.0.0.5"), &on(&[], &[]), "10.244.0.0/16").is_empty());
    }

    #[test]
    fn a_dual_stack_cluster_needs_a_global_ipv6_address_clear_of_its_networks() {
        let dual = "10.244.0.0/16,fd00:10:244::/56";
        let both = on(&["10.0.0.5/24", "2001:db8:1::5/64"], &[]);
        assert!(check("h", ip("10.0.0.5"), &both, dual).is_empty());
        let v4 = on(&["10.0.0.5/24"], &[]);
        let p = check("h", ip("10.0.0.5"), &v4, dual);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("h: it has no global IPv6 address"),
            "{p:?}"
        );
        let inside = on(&["10.0.0.5/24", "fd00:10:96::7/64"], &[]);
        let p = check("h", ip("10.0.0.5"), &inside, dual);
        assert_eq!(
            p,
            vec![
                "h: its network fd00:10:96::/64 overlaps the service network fd00:10:96::/112; \
                 move the hosts to another network"
            ]
        );
    }

    #[test]
    fn a_floating_address_is_refused_with_the_hosts_own() {
        let addrs = on(&["192.168.10.7/24", "172.17.0.1/16"], &[]);
        let p = check("203.0.113.9", ip("203.0.113.9"), &addrs, "10.244.0.0/16");
        assert_eq!(
            p,
            vec![
                "203.0.113.9: 203.0.113.9 is not an address of this VM; its addresses are \
                 192.168.10.7, 172.17.0.1: give the private address (a floating or NAT address \
                 cannot be bound by etcd and the kubelet)"
            ]
        );
    }

    #[test]
    fn networks_overlapping_the_pod_or_service_network_are_named() {
        let addrs = on(&["10.244.3.4/24"], &[]);
        let p = check("10.244.3.4", ip("10.244.3.4"), &addrs, "10.244.0.0/16");
        assert_eq!(
            p,
            vec![
                "10.244.3.4: its network 10.244.3.0/24 overlaps the pod network 10.244.0.0/16; \
                 choose another pod-cidr="
            ]
        );
        let wide = on(&["10.0.0.9/8"], &[]);
        let p = check("10.0.0.9", ip("10.0.0.9"), &wide, "192.168.128.0/17");
        assert_eq!(
            p,
            vec![
                "10.0.0.9: its network 10.0.0.0/8 overlaps the service network 10.96.0.0/12; \
                 move the hosts to another network"
            ]
        );
    }
}
