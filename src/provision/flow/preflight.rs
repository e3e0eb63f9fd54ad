//! kubeadm's minimums and the cluster-wide checks, over every host at once, so one message lists
//! every host's problems.

use std::collections::HashMap;

use crate::provision::facts::Facts;

/// Minimum CPUs kubeadm accepts on a control plane.
pub const MIN_CP_CPUS: u32 = 2;
/// Minimum memory kubeadm accepts on a control plane, MB.
pub const MIN_CP_MEM_MB: u64 = 1700;
/// Ports kubeadm needs free on a host that is not yet part of a cluster.
pub const REQUIRED_PORTS: &[u16] = &[6443, 10250, 2379, 2380];

/// One host as the preflight sees it.
pub struct Checked<'a> {
    /// Host as displayed.
    pub host: String,
    /// Whether it is the control plane.
    pub control_plane: bool,
    /// Its facts.
    pub facts: &'a Facts,
}

/// Every problem, each line prefixed with the host(s) it concerns. Empty: all hosts pass.
pub fn check(hosts: &[Checked<'_>]) -> Vec<String> {
    let mut problems = Vec::new();
    for h in hosts {
        let f = h.facts;
        if h.control_plane && f.cpus < MIN_CP_CPUS {
            problems.push(format!(
                "{}: {} CPU(s); kubeadm needs at least {MIN_CP_CPUS} on the control plane",
                h.host, f.cpus
            ));
        }
        if h.control_plane && f.mem_mb < MIN_CP_MEM_MB {
            problems.push(format!(
                "{}: {} MB of memory; kubeadm needs at least {MIN_CP_MEM_MB} MB on the control plane",
                h.host, f.mem_mb
            ));
        }
        // A host already in the cluster listens on these ports itself: that is convergence.
        let busy: Vec<String> = f
            .ports_busy
            .iter()
            .filter(|p| REQUIRED_PORTS.contains(p))
            .map(u16::to_string)
            .collect();
        if !f.in_cluster() && !busy.is_empty() {
            problems.push(format!(
                "{}: port(s) {} already in use; kubeadm needs them free",
                h.host,
                busy.join(", ")
            ));
        }
    }
    for (what, key) in [("hostname", 0), ("product_uuid", 1)] {
        let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
        for h in hosts {
            let v = if key == 0 {
                h.facts.hostname.as_str()
            } else {
                h.facts.product_uuid.as_str()
            };
            if !v.is_empty() {
                seen.entry(v).or_default().push(h.host.as_str());
            }
        }
        let mut dups: Vec<(&str, Vec<&str>)> =
            seen.into_iter().filter(|(_, hs)| hs.len() > 1).collect();
        dups.sort();
        for (v, hs) in dups {
            problems.push(format!(
                "{} share the {what} {v}; every node needs its own",
                hs.join(" and ")
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, uuid: &str, cpus: u32, mem: u64, busy: &[u16], in_cluster: bool) -> Facts {
        Facts {
            hostname: name.into(),
            product_uuid: uuid.into(),
            cpus,
            mem_mb: mem,
            ports_busy: busy.to_vec(),
            control_plane: in_cluster,
            ..Facts::default()
        }
    }

    #[test]
    fn every_problem_of_every_host_is_reported() {
        let cp = facts("node", "u1", 1, 1024, &[6443], false);
        let w1 = facts("node", "u2", 1, 512, &[], false);
        let w2 = facts("w2", "u2", 2, 4096, &[10250, 22], false);
        let hosts = [
            Checked {
                host: "10.0.0.1".into(),
                control_plane: true,
                facts: &cp,
            },
            Checked {
                host: "10.0.0.2".into(),
                control_plane: false,
                facts: &w1,
            },
            Checked {
                host: "10.0.0.3".into(),
                control_plane: false,
                facts: &w2,
            },
        ];
        let p = check(&hosts);
        let all = p.join("\n");
        assert!(all.contains("10.0.0.1: 1 CPU(s)"), "{all}");
        assert!(all.contains("10.0.0.1: 1024 MB"), "{all}");
        assert!(all.contains("10.0.0.1: port(s) 6443"), "{all}");
        assert!(all.contains("10.0.0.3: port(s) 10250 already"), "{all}");
        assert!(
            all.contains("10.0.0.1 and 10.0.0.2 share the hostname node"),
            "{all}"
        );
        assert!(
            all.contains("10.0.0.2 and 10.0.0.3 share the product_uuid u2"),
            "{all}"
        );
        assert!(
            !all.contains("10.0.0.2: 1 CPU"),
            "workers have no CPU minimum: {all}"
        );
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn hosts_already_in_the_cluster_may_have_busy_ports() {
        let cp = facts("cp", "u1", 2, 2048, &[6443, 10250, 2379, 2380], true);
        assert!(
            check(&[Checked {
                host: "a".into(),
                control_plane: true,
                facts: &cp
            }])
            .is_empty()
        );
    }
}
