//! `/node add`: the checks that need the registry and the config before a node add is queued.

use super::Dispatcher;
use crate::command::NodeAddArgs;
use crate::names::{host_addr, quorum};
use crate::provision::role;
use crate::store::{ClusterJob, ClusterRecord, JobKind, NodeAddSpec, UnknownCluster};

impl Dispatcher {
    /// The record of `name` when its nodes may change: a cluster labkube created that is
    /// ready; else why not.
    pub(super) fn changeable(&self, name: &str) -> Result<ClusterRecord, String> {
        if self.config.clusters.iter().any(|c| c.name == name) {
            return Err(format!(
                "cluster {name} is declared in the config, not created by labkube; labkube changes the nodes only of clusters it created"
            ));
        }
        let record = match self.store.cluster(name) {
            Ok(Some(r)) => r,
            Ok(None) => return Err(UnknownCluster(name.to_string()).to_string()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the cluster registry");
                return Err(super::INTERNAL.to_string());
            }
        };
        if let Some(job) = record.creating {
            return Err(format!(
                "cluster {name} is not ready: its create (job #{job}) has not finished; run /cluster create for it again first"
            ));
        }
        Ok(record)
    }

    /// The node add job of `args`, or why it is refused (nothing is queued then).
    pub(super) fn node_add_job(&self, args: &NodeAddArgs) -> Result<JobKind, String> {
        let name = args.cluster.as_str();
        let record = self.changeable(name)?;
        let wanted = role(args.control_plane);
        let mut again = 0;
        for addr in &args.hosts {
            if let Some(n) = record
                .nodes
                .iter()
                .find(|n| host_addr(n.addr) == host_addr(*addr))
            {
                if n.role != wanted {
                    return Err(format!(
                        "{addr} is a {} of {name}; a node keeps its role: remove it and add it again to change it",
                        n.role
                    ));
                }
                again += 1;
            }
        }
        self.config.ssh.refuse_any(&args.hosts)?;
        if args.control_plane {
            let now = record.nodes.iter().filter(|n| n.role == wanted).count();
            let after = now + args.hosts.len() - again;
            let after_u64 = u64::try_from(after).unwrap_or(u64::MAX);
            if let Err(why) = quorum::check(after_u64) {
                return Err(format!(
                    "{name} has {now} control plane(s); adding {} makes {after}: {why}",
                    args.hosts.len() - again
                ));
            }
        }
        Ok(JobKind::Cluster(ClusterJob::AddNodes(NodeAddSpec {
            cluster: name.to_string(),
            hosts: args.hosts.clone(),
            control_plane: args.control_plane,
            user: args.user.as_ref().map(ToString::to_string),
            port: args.port,
        })))
    }
}

impl Dispatcher {
    /// `/node remove CLUSTER IP [confirm=CODE]`: the checks that need the registry, then the
    /// confirmation step; with the right code, the job.
    pub(super) async fn node_remove(
        &self,
        msg: &crate::chat::Incoming,
        command: &crate::command::Command,
        cluster: &str,
        ip: std::net::IpAddr,
        confirm: Option<&str>,
    ) -> Option<String> {
        let what = match self.removal(cluster, ip) {
            Ok(what) => what,
            Err(reason) => return Some(self.reject(msg, command, reason)),
        };
        let target = format!("{cluster} {}", host_addr(ip));
        let again = format!("/node remove {cluster} {ip}");
        let issued = match self.confirmation(msg, command, &target, confirm, &again) {
            Ok(issued) => issued,
            Err(refused) => return Some(refused),
        };
        let Some(code) = issued else {
            let kind = JobKind::Cluster(ClusterJob::RemoveNode {
                cluster: cluster.to_string(),
                host: host_addr(ip),
            });
            return self.queue(msg, command, Ok(kind)).await;
        };
        Some(format!(
            "{what} To go ahead, type within 10 minutes: /node remove {cluster} {ip} confirm={code}"
        ))
    }

    /// What removing `ip` from `cluster` would do, or why it may not.
    fn removal(&self, cluster: &str, ip: std::net::IpAddr) -> Result<String, String> {
        let record = self.changeable(cluster)?;
        let Some(node) = record
            .nodes
            .iter()
            .find(|n| host_addr(n.addr) == host_addr(ip))
        else {
            let nodes: Vec<String> = record.nodes.iter().map(|n| n.addr.to_string()).collect();
            return Err(format!(
                "{ip} is not a node of {cluster}; its nodes: {}",
                nodes.join(", ")
            ));
        };
        let control_planes = record.nodes.iter().filter(|n| n.role == role(true)).count();
        let workers = record.nodes.len() - control_planes;
        let name = &node.hostname;
        if node.role == role(true) {
            if control_planes == 1 {
                return Err(format!(
                    "{name} ({ip}) is the only control plane of {cluster}: without it there is no cluster; /cluster delete {cluster} removes the whole cluster"
                ));
            }
            let left = control_planes - 1;
            let note = match quorum::check(u64::try_from(left).unwrap_or(u64::MAX)) {
                Ok(_) => String::new(),
                Err(_) => format!(
                    " {left} control planes tolerate no more lost ones than {}: /node add another control plane afterwards.",
                    left - 1
                ),
            };
            return Ok(format!(
                "removing {name} ({ip}, control plane) from {cluster} checks that the etcd members that stay keep their quorum, drains it, resets the host (kubeadm removes its etcd member first), deletes its Node and updates the workers' proxy; {left} control plane(s) stay.{note}"
            ));
        }
        if workers == 1 && control_planes > 0 {
            return Err(format!(
                "{name} ({ip}) is the only worker of {cluster}: its pods would have nowhere to go (the control planes run no workloads); /node add another worker first"
            ));
        }
        Ok(format!(
            "removing {name} ({ip}, worker) from {cluster} checks that every pod on it may be evicted (PodDisruptionBudgets), drains it (DaemonSet pods stay, emptyDir data goes with its pod), resets the host and deletes its Node; {} worker(s) stay.",
            workers - 1
        ))
    }
}
