//! The virtual IP of `endpoint=` (`/cluster create` and `/cluster plan`): the one rule for
//! which address may carry a cluster's API endpoint, checked before any host is asked.
//!
//! The address is announced by ARP (kube-vip's ARP mode) from whichever control plane leads,
//! so it must be a free unicast address of the hosts' own network: not one of the hosts, of
//! the family of the control planes' addresses, outside the pod and service networks, and the
//! cluster needs a second host to prove that the address moves (the probe holds it on each
//! control plane in turn and reaches it from another host). That it lies on each control
//! plane's network is checked later, from the facts the hosts report.

use std::net::IpAddr;

use ipnet::IpNet;

/// Why `vip` cannot be the API endpoint of a cluster of `hosts` (control planes first) whose
/// pod and service networks are `networks` (CIDRs; a dual-stack pair may be one comma-joined
/// entry), or `Ok`.
pub fn check(vip: IpAddr, hosts: &[IpAddr], networks: &[&str]) -> Result<(), String> {
    let vip = super::host_addr(vip);
    let form = "a free address on the hosts' network, such as 10.0.0.10 beside hosts 10.0.0.11-13";
    // A loopback or link-local VIP is on the hosts' network only when they are of that kind.
    let kind = super::Special::of(vip);
    if let Some(special) = kind
        && (special.never_a_host() || hosts.first().and_then(|h| super::Special::of(*h)) != kind)
    {
        return Err(format!(
            "endpoint={vip} is {} and cannot carry the API endpoint; give {form}",
            special.noun()
        ));
    }
    if hosts.iter().any(|h| super::host_addr(*h) == vip) {
        return Err(format!(
            "endpoint={vip} is one of the hosts' addresses; the virtual IP must be an address no \
             host has yet: give {form}"
        ));
    }
    if let Some(first) = hosts.first()
        && first.is_ipv4() != vip.is_ipv4()
    {
        return Err(format!(
            "endpoint={vip} is not of the family of the control planes' addresses ({first}); \
             give {form}"
        ));
    }
    if hosts.len() < 2 {
        return Err(format!(
            "endpoint={vip} needs a second host: labkube proves that the address can move \
             between hosts before it uses it; add a host, or leave endpoint= out (the API is \
             then reached by a name that leads to the control plane)"
        ));
    }
    for net in networks.iter().flat_map(|n| n.split(',')) {
        if let Ok(parsed) = net.parse::<IpNet>()
            && parsed.contains(&vip)
        {
            return Err(format!(
                "endpoint={vip} lies in the cluster's network {parsed}, which Kubernetes gives to \
                 pods and services; give {form}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_free_address_beside_the_hosts_is_accepted() {
        let nets = ["10.244.0.0/16", "10.96.0.0/12"];
        let hosts = [ip("10.0.0.11"), ip("10.0.0.12")];
        assert_eq!(check(ip("10.0.0.10"), &hosts, &nets), Ok(()));
        // Hosts on loopback (the test lab) take a loopback virtual IP.
        let hosts = [ip("127.0.0.11"), ip("127.0.0.12")];
        assert_eq!(check(ip("127.0.0.10"), &hosts, &nets), Ok(()));
    }

    #[test]
    fn each_refusal_names_the_problem_and_the_accepted_form() {
        let hosts = [ip("10.0.0.11"), ip("10.0.0.12")];
        let nets = ["10.244.0.0/16,fd00:10:244::/56", "10.96.0.0/12"];
        let cases = [
            ("10.0.0.12", &hosts[..], "is one of the hosts' addresses"),
            (
                "::ffff:10.0.0.11",
                &hosts[..],
                "is one of the hosts' addresses",
            ),
            ("fd00::10", &hosts[..], "not of the family"),
            ("10.0.0.10", &hosts[..1], "needs a second host"),
            ("10.244.3.1", &hosts[..], "network 10.244.0.0/16"),
            ("10.96.0.10", &hosts[..], "network 10.96.0.0/12"),
            ("0.0.0.0", &hosts[..], "cannot carry the API endpoint"),
            ("224.0.0.5", &hosts[..], "cannot carry the API endpoint"),
            ("127.0.0.10", &hosts[..], "a loopback address"),
        ];
        for (vip, hosts, want) in cases {
            let err = check(ip(vip), hosts, &nets).unwrap_err();
            assert!(err.contains(want), "{vip}: {err}");
            assert!(err.contains("endpoint="), "{vip}: {err}");
        }
    }
}
