//! The hosts of a cluster job on a registered cluster, in the flow's order (control planes
//! first, the first one `kubeadm init` ran on leading): as registered (a delete), or grown by
//! the hosts of a `/node add`.

use crate::provision::host::{Host, role};
use crate::provision::remote::Target;
use crate::provision::settings::Settings;
use crate::store::{ClusterRecord, NodeAddSpec, NodeRecord};

fn target(n: &NodeRecord) -> Target {
    Target {
        addr: n.addr,
        port: n.port,
        user: n.user.clone(),
    }
}

/// The registered nodes, control planes first (in their registered order), none set up anew.
pub(super) fn registered(record: &ClusterRecord) -> Vec<Host> {
    let (cps, workers): (Vec<&NodeRecord>, Vec<&NodeRecord>) =
        record.nodes.iter().partition(|n| n.role == role(true));
    cps.into_iter()
        .map(|n| Host::new(target(n), true, false))
        .chain(
            workers
                .into_iter()
                .map(|n| Host::new(target(n), false, false)),
        )
        .collect()
}

/// The registered nodes with the hosts of `spec`: new control planes after the registered
/// ones, new workers last. A host of `spec` that is registered already (an add that stopped
/// half-way, run again) is set up again in its place, which converges.
pub(super) fn grown(record: &ClusterRecord, spec: &NodeAddSpec, s: &Settings) -> Vec<Host> {
    let added = spec.hosts.iter().map(|addr| {
        let t = Target {
            addr: *addr,
            port: spec.port.unwrap_or(s.port),
            user: spec.user.clone().unwrap_or_else(|| s.user.clone()),
        };
        Host::new(t, spec.control_plane, true)
    });
    let mut hosts: Vec<Host> = registered(record)
        .into_iter()
        .filter(|h| !spec.hosts.iter().any(|a| same(*a, h.target.addr)))
        .collect();
    // All of one role: control planes go after the registered ones, workers last.
    let at = if spec.control_plane {
        hosts.iter().take_while(|h| h.control_plane).count()
    } else {
        hosts.len()
    };
    hosts.splice(at..at, added);
    hosts
}

/// Two addresses of one host (`::ffff:10.0.0.1` is `10.0.0.1`).
fn same(a: std::net::IpAddr, b: std::net::IpAddr) -> bool {
    crate::names::host_addr(a) == crate::names::host_addr(b)
}

/// The registered nodes with `host` leaving: the others as [`registered`] orders them, so a
/// control plane that stays comes first (it runs the drain and the Node's deletion), then
/// the leaving one, in its role.
pub(super) fn shrunk(record: &ClusterRecord, host: std::net::IpAddr) -> Vec<Host> {
    let leaving = |h: &Host| same(h.target.addr, host);
    let (mut gone, mut hosts): (Vec<Host>, Vec<Host>) =
        registered(record).into_iter().partition(leaving);
    for h in &mut gone {
        h.leaving = true;
    }
    hosts.append(&mut gone);
    hosts
}

/// The Kubernetes minor of a registered version (`v1.35.5` → `1.35`), if it has one.
pub(super) use crate::names::minor_of_version as minor;
