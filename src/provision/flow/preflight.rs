//! kubeadm's minimums and the cluster-wide checks, over every host at once, so one message lists
//! every host's problems.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::provision::facts::Facts;
use crate::provision::os::OsInfo;

/// Minimum CPUs kubeadm accepts on a control plane.
pub const MIN_CP_CPUS: u32 = 2;
/// Minimum memory kubeadm accepts on a control plane, MB.
pub const MIN_CP_MEM_MB: u64 = 1700;
/// Ports kubeadm needs free on a host that is not yet part of a cluster.
pub const REQUIRED_PORTS: &[u16] = &[6443, 10250, 2379, 2380];
/// Clock difference to the bot beyond which a host is refused, s: certificates made on one
/// node look not yet valid on another, and etcd and the kubelet's leases misbehave.
pub const MAX_CLOCK_SKEW_S: i64 = 30;

/// Reads one identity of a host from its facts.
type FactField = fn(&Facts) -> &str;

/// One host as the preflight sees it.
pub struct Checked<'a> {
    /// Host as displayed.
    pub host: String,
    /// The address it was given.
    pub addr: IpAddr,
    /// Whether it is the control plane.
    pub control_plane: bool,
    /// Its facts.
    pub facts: &'a Facts,
    /// Its OS, when detected.
    pub os: Option<&'a OsInfo>,
}

/// Every problem, each line prefixed with the host(s) it concerns. Empty: all hosts pass.
pub fn check(hosts: &[Checked<'_>], pod_cidr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for h in hosts {
        let f = h.facts;
        if let Some(why) = h.os.and_then(OsInfo::release_problem) {
            problems.push(format!("{}: {why}", h.host));
        }
        problems.extend(super::networks::check(&h.host, h.addr, f, pod_cidr));
        if let Some(skew) = f.clock_skew_s.filter(|s| s.abs() > MAX_CLOCK_SKEW_S) {
            let way = if skew > 0 { "ahead of" } else { "behind" };
            problems.push(format!(
                "{}: its clock is {} s {way} this bot's (at most {MAX_CLOCK_SKEW_S} s is \
                 allowed: certificates and etcd need agreeing clocks); turn on NTP \
                 (timedatectl set-ntp true) and try again",
                h.host,
                skew.abs()
            ));
        }
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
    let fields: [(&str, &str, FactField); 3] = [
        ("hostname", "", |f| &f.hostname),
        ("product_uuid", "", |f| &f.product_uuid),
        (
            "machine-id",
            " (cloned VMs: give each its own with rm /etc/machine-id && systemd-machine-id-setup)",
            |f| &f.machine_id,
        ),
    ];
    for (what, hint, field) in fields {
        let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
        for h in hosts {
            let v = field(h.facts);
            if !v.is_empty() {
                seen.entry(v).or_default().push(h.host.as_str());
            }
        }
        let mut dups: Vec<(&str, Vec<&str>)> =
            seen.into_iter().filter(|(_, hs)| hs.len() > 1).collect();
        dups.sort();
        for (v, hs) in dups {
            problems.push(format!(
                "{} share the {what} {v}; every node needs its own{hint}",
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
                addr: "10.0.0.1".parse().unwrap(),
                os: None,
                host: "10.0.0.1".into(),
                control_plane: true,
                facts: &cp,
            },
            Checked {
                addr: "10.0.0.2".parse().unwrap(),
                os: None,
                host: "10.0.0.2".into(),
                control_plane: false,
                facts: &w1,
            },
            Checked {
                addr: "10.0.0.3".parse().unwrap(),
                os: None,
                host: "10.0.0.3".into(),
                control_plane: false,
                facts: &w2,
            },
        ];
        let p = check(&hosts, "10.244.0.0/16");
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
            check(
                &[Checked {
                    addr: "10.0.0.1".parse().unwrap(),
                    os: None,
                    host: "a".into(),
                    control_plane: true,
                    facts: &cp
                }],
                "10.244.0.0/16"
            )
            .is_empty()
        );
    }

    fn host<'a>(addr: &str, facts: &'a Facts, os: Option<&'a OsInfo>) -> Checked<'a> {
        Checked {
            host: addr.into(),
            addr: addr.parse().unwrap(),
            control_plane: false,
            facts,
            os,
        }
    }

    #[test]
    fn cloned_vms_skewed_clocks_and_unsupported_releases_are_named() {
        let base = Facts {
            cpus: 2,
            mem_mb: 4096,
            addrs: vec!["10.0.0.1/24".into()],
            ..Facts::default()
        };
        let a = Facts {
            hostname: "a".into(),
            machine_id: "m1".into(),
            clock_skew_s: Some(3),
            ..base.clone()
        };
        let b = Facts {
            hostname: "b".into(),
            machine_id: "m1".into(),
            clock_skew_s: Some(-95),
            addrs: vec!["10.0.0.2/24".into()],
            ..base.clone()
        };
        let old =
            OsInfo::parse("ID=ubuntu\nVERSION_ID=\"20.04\"\nPRETTY_NAME=\"Ubuntu 20.04.6 LTS\"\n");
        let ok = OsInfo::parse("ID=rocky\nVERSION_ID=\"9.6\"\nPRETTY_NAME=\"Rocky Linux 9.6\"\n");
        let p = check(
            &[
                host("10.0.0.1", &a, Some(&old)),
                host("10.0.0.2", &b, Some(&ok)),
            ],
            "10.244.0.0/16",
        );
        assert_eq!(
            p,
            vec![
                "10.0.0.1: Ubuntu 20.04.6 LTS is not a release labkube supports; use Ubuntu 22.04 \
                 or 24.04",
                "10.0.0.2: its clock is 95 s behind this bot's (at most 30 s is allowed: \
                 certificates and etcd need agreeing clocks); turn on NTP (timedatectl set-ntp \
                 true) and try again",
                "10.0.0.1 and 10.0.0.2 share the machine-id m1; every node needs its own (cloned \
                 VMs: give each its own with rm /etc/machine-id && systemd-machine-id-setup)",
            ]
        );
    }
}
