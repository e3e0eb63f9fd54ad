//! Pod networks ([`Cidr`]): what `pod-cidr=` and `[cluster] pod_cidr` take: one network, or an
//! IPv4 and an IPv6 network for a dual-stack cluster.
//!
//! kube-controller-manager gives each node a /24 of an IPv4 pod network and a /64 of an IPv6
//! one, and kubeadm refuses a pod network smaller than that or more than 16 bits larger
//! (`ValidatePodSubnetNodeMask` in kubernetes/kubernetes
//! `cmd/kubeadm/app/apis/kubeadm/validation/validation.go`, `PodSubnetNodeMaskMaxDiff`), so
//! IPv4 networks are /8 to /24 and IPv6 networks /48 to /64. A dual-stack pair is written IPv4
//! first (the cluster's primary family: Services stay IPv4 unless they ask for both), as
//! `--pod-network-cidr` takes it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Check, NameError, Rule, is_digits, refuse};

/// An IPv4 or IPv6 network such as `10.244.0.0/16` (prefix /8 to /24, or /48 to /64), or a
/// dual-stack pair such as `10.244.0.0/16,fd00:10:244::/56`; host bits zero, held in
/// canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(String);

super::text_newtype!(Cidr);

impl Cidr {
    /// Validates a network or a dual-stack pair and stores it in canonical form
    /// (`fd00:0::/64` becomes `fd00::/64`).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        refuse(Rule::Cidr, text, pod_network(text)).map(Self)
    }
}

/// Whether pod network `text` (valid) is a dual-stack pair.
pub fn dual_stack(text: &str) -> bool {
    text.contains(',')
}

/// The IPv6 network of pod network `text` (valid), if it has one.
pub fn ipv6_network(text: &str) -> Option<&str> {
    text.split(',').find(|part| part.contains(':'))
}

fn pod_network(s: &str) -> Check<String> {
    let Some((first, second)) = s.split_once(',') else {
        return network(s).map(|(text, _)| text);
    };
    let (v4, first_v6) = network(first)?;
    let (v6, second_v6) = network(second)?;
    if first_v6 || !second_v6 {
        return Err(Some(
            "a dual-stack pod network is an IPv4 network, a comma, then an IPv6 network, such as \
             10.244.0.0/16,fd00:10:244::/56"
                .into(),
        ));
    }
    Ok(format!("{v4},{v6}"))
}

/// One network in canonical form, and whether it is IPv6.
fn network(s: &str) -> Check<(String, bool)> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err(Some("add the prefix length, such as /16".into()));
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return Err(None);
    };
    if !is_digits(len) || len.len() > 3 {
        return Err(None);
    }
    let len = len.parse::<u32>().map_err(|_| None)?;
    let (family, bits, width, shortest, node) = match addr {
        IpAddr::V4(v4) => ("IPv4", u128::from(v4.to_bits()), 32, 8, 24),
        IpAddr::V6(v6) => ("IPv6", v6.to_bits(), 128, 48, 64),
    };
    if !(shortest..=node).contains(&len) {
        return Err(Some(format!(
            "an {family} prefix must be /{shortest} to /{node} (each node gets a /{node} of it, \
             and kubeadm allows at most 16 bits more), not /{len}"
        )));
    }
    let net = bits & !((1u128 << (width - len)) - 1);
    if net != bits {
        let net = match addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(net as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(net)),
        };
        return Err(Some(format!(
            "host bits are set; the network is {net}/{len}"
        )));
    }
    Ok((format!("{addr}/{len}"), addr.is_ipv6()))
}
