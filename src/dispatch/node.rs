//! `/node add`: the checks that need the registry and the config before a node add is queued.

use super::Dispatcher;
use crate::command::NodeAddArgs;
use crate::names::{host_addr, quorum};
use crate::provision::role;
use crate::store::{ClusterJob, JobKind, NodeAddSpec, UnknownCluster};

impl Dispatcher {
    /// The node add job of `args`, or why it is refused (nothing is queued then).
    pub(super) fn node_add_job(&self, args: &NodeAddArgs) -> Result<JobKind, String> {
        let name = args.cluster.as_str();
        if self.config.clusters.iter().any(|c| c.name == name) {
            return Err(format!(
                "cluster {name} is declared in the config, not created by labkube; labkube adds nodes only to clusters it created"
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
