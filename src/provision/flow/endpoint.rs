//! A cluster's virtual IP (`endpoint=`): whether the hosts can carry it, checked before anything
//! changes. kube-vip announces the address by ARP from whichever control plane leads, so it
//! must lie on each control plane's own network, be no host's address yet, answer nowhere
//! before, and answer from another host while a control plane holds it. The last is what lab
//! networks refuse: OpenStack's port security drops a VM's packets from an address not on its
//! port unless the lab allows that address on the port (`allowed_address_pairs`), which lab
//! users usually may not do themselves. The probe holds the address on each control plane in
//! turn (with a lifetime, so the kernel drops it even if the bot never returns), asks another
//! host whether it answers, and lets it go; a refusal says which hosts and what to ask for.

use std::net::IpAddr;

use ipnet::IpNet;

use super::ClusterRun;
use crate::provision::error::ProvisionError;
use crate::provision::exec::{self, HostError};
use crate::provision::facts::Facts;
use crate::provision::scripts::HostScript;

/// One move of the probe (`vip_probe`'s `ACTION`).
#[derive(Clone, Copy)]
enum Move {
    Hold,
    Release,
    Reach,
}

impl Move {
    fn action(self) -> &'static str {
        match self {
            Move::Hold => "hold",
            Move::Release => "release",
            Move::Reach => "reach",
        }
    }
}

/// Where `vip` sits among `f`'s addresses: the network of the address `addr` is on, and
/// whether the host has `vip` itself.
fn network_of(f: &Facts, addr: IpAddr) -> Option<IpNet> {
    f.addrs
        .iter()
        .filter_map(|a| a.parse::<IpNet>().ok())
        .find(|n| n.addr() == addr)
        .map(|n| n.trunc())
}

fn has_address(f: &Facts, vip: IpAddr) -> bool {
    f.addrs
        .iter()
        .filter_map(|a| a.split('/').next()?.parse::<IpAddr>().ok())
        .any(|a| a == vip)
}

impl ClusterRun {
    /// What the facts already say against the virtual IP on the control planes this job sets
    /// up (a node add checks its new ones), and whether a control plane of this cluster
    /// carries it already (its kube-vip: nothing to probe).
    pub(super) fn endpoint_problems(&self) -> (Vec<String>, Option<String>) {
        let Some(vip) = self.endpoint else {
            return (Vec::new(), None);
        };
        let mut problems = Vec::new();
        let mut carried = None;
        for h in &self.hosts {
            let Some(f) = &h.facts else { continue };
            if has_address(f, vip) {
                if h.control_plane && f.in_cluster() {
                    carried = Some(h.target.to_string());
                } else {
                    problems.push(format!(
                        "{}: it already has the address {vip}, so endpoint={vip} is not free: \
                         give endpoint= an address no host has (an interrupted probe's hold \
                         ends by itself within {} s: then run the same command again)",
                        h.target,
                        crate::provision::scripts::VIP_HOLD_SECONDS
                    ));
                }
            }
            if !(h.control_plane && h.provision) {
                continue;
            }
            match network_of(f, h.target.addr) {
                Some(net) if net.contains(&vip) => {}
                Some(net) => problems.push(format!(
                    "{}: endpoint={vip} is not on its network {net} ({}): kube-vip announces \
                     the address by ARP, which reaches only the control planes' own network; \
                     give endpoint= a free address in {net}",
                    h.target,
                    f.device_of(h.target.addr).unwrap_or("its interface"),
                )),
                None => problems.push(format!(
                    "{}: it reports no interface with its address {}, so endpoint={vip} \
                     cannot be placed on it",
                    h.target, h.target.addr
                )),
            }
        }
        (problems, carried)
    }

    /// The probe step: the facts' checks, then the address held on each control plane in
    /// turn and reached from another host. A dry run lists the problems in its plan; a
    /// create stops on them, having changed nothing.
    pub(super) async fn probe_endpoint(&mut self) -> Result<(), ProvisionError> {
        let Some(vip) = self.endpoint else {
            return Ok(());
        };
        // The address rule as the grammar applied it, again for a job stored earlier.
        let addrs: Vec<IpAddr> = self.hosts.iter().map(|h| h.target.addr).collect();
        let services = crate::provision::scripts::service_cidr(&self.pod_cidr);
        if let Err(why) = crate::names::endpoint::check(vip, &addrs, &[&self.pod_cidr, &services]) {
            return Err(ProvisionError::Preflight(vec![why]));
        }
        let (mut problems, carried) = self.endpoint_problems();
        if let Some(host) = carried {
            self.io.log(&format!(
                "{vip} is carried by {host}'s kube-vip already: not probed again"
            ))?;
        } else if problems.is_empty() {
            problems = self.probe_moves(vip).await?;
        }
        if problems.is_empty() {
            return Ok(());
        }
        if self.dry_run {
            self.preflight_problems.extend(problems);
            return Ok(());
        }
        Err(ProvisionError::Preflight(problems))
    }

    /// Holds `vip` on each control plane in turn and asks another host whether it answers;
    /// first, that it answers nowhere.
    async fn probe_moves(&self, vip: IpAddr) -> Result<Vec<String>, ProvisionError> {
        let control_planes: Vec<usize> = (0..self.hosts.len())
            .filter(|i| self.hosts[*i].control_plane)
            .collect();
        let observer_of = |c: usize| usize::from(c == 0);
        if self.reach(observer_of(0), vip).await? {
            return Ok(vec![format!(
                "endpoint={vip} already answers on the hosts' network (seen from {}): another \
                 machine has it; give endpoint= a free address",
                self.hosts[observer_of(0)].target
            )]);
        }
        let mut dropped = Vec::new();
        for c in control_planes {
            let o = observer_of(c);
            self.vip_move(c, Move::Hold).await?;
            let answered = self.reach(o, vip).await;
            // Let it go whatever the answer was; the lifetime covers a failure here.
            let released = self.vip_move(c, Move::Release).await;
            let answered = answered?;
            released?;
            let (holder, seen) = (&self.hosts[c].target, &self.hosts[o].target);
            self.io.log(&format!(
                "{vip} held on {holder}: {} from {seen}",
                if answered { "answers" } else { "no answer" }
            ))?;
            if !answered {
                dropped.push(holder.addr.to_string());
            }
        }
        if dropped.is_empty() {
            self.io.log(&format!(
                "{vip} moves between the control planes: kube-vip can carry it"
            ))?;
            return Ok(Vec::new());
        }
        let ports = dropped.join(", ");
        Ok(vec![format!(
            "endpoint={vip} does not answer from the other hosts while {ports} hold(s) it: the \
             lab's network drops packets from an address that is not on the VM's port \
             (OpenStack port security). Ask the lab to allow {vip} on the ports of {ports} \
             (an OpenStack admin runs, for each port: openstack port set --allowed-address \
             ip-address={vip} PORT), or create the cluster without endpoint=: every node then \
             reaches the API servers by a name that leads to its own or a local proxy, and \
             nothing has to be asked"
        )])
    }

    /// Runs one move of the probe on host `i`.
    async fn vip_move(&self, i: usize, step: Move) -> Result<String, ProvisionError> {
        let mut env = self.env(i, HostScript::VipProbe);
        env.push(("ACTION".into(), step.action().into()));
        exec::run(&self.exec(), i, HostScript::VipProbe, env)
            .await
            .map(|out| out.stdout)
            .map_err(|e: HostError| ProvisionError::Hosts(vec![e]))
    }

    /// Whether `vip` answers from host `i`.
    async fn reach(&self, i: usize, vip: IpAddr) -> Result<bool, ProvisionError> {
        let out = self.vip_move(i, Move::Reach).await?;
        match out.trim() {
            "answers=yes" => Ok(true),
            "answers=no" => Ok(false),
            _ => Err(ProvisionError::Hosts(vec![HostError {
                host: self.hosts[i].target.to_string(),
                reason: format!("vip_probe: an unexpected answer about {vip} (output withheld)"),
            }])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_is_that_of_the_host_address() {
        let f = Facts::parse(
            "hostname=a\naddrs=10.0.0.5/24,10.1.0.5/16,2001:db8::5/64\naddr_devs=eth0,eth1,eth0\n",
        )
        .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            network_of(&f, ip("10.1.0.5")),
            Some("10.1.0.0/16".parse().unwrap())
        );
        assert_eq!(network_of(&f, ip("10.0.0.9")), None);
        assert!(has_address(&f, ip("2001:db8::5")));
        assert!(!has_address(&f, ip("10.0.0.6")));
    }
}
