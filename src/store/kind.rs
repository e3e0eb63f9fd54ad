//! What a job does, grouped by flow family: cluster jobs (SSH), GE jobs (the Kubernetes API)
//! and selftests (nothing remote). Adding a kind touches its family, not every layer: the
//! layers match on the three families and hand the family's value to the one that runs it.
//!
//! On disk a kind is adjacently tagged, `{"kind": "ge_scale", "args": [...]}`, exactly as
//! before the families existed: the outer enum is untagged and each family carries its own
//! tags, so stored jobs read back unchanged.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The work a job does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobKind {
    /// Creating, planning or deleting a cluster over SSH.
    Cluster(ClusterJob),
    /// Changing a GE release through the Kubernetes API.
    Ge(GeJob),
    /// A job that touches nothing remote.
    Selftest(SelftestJob),
}

/// A cluster job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args")]
pub enum ClusterJob {
    /// Provision a kubeadm cluster: the first address is the control plane, the rest workers.
    #[serde(rename = "cluster_create")]
    Create(ClusterSpec),
    /// Connect, detect, gather facts and run the preflight, then report what `create` would
    /// do on each host; changes nothing.
    #[serde(rename = "cluster_plan")]
    Plan(ClusterSpec),
    /// Add hosts to a registered cluster.
    #[serde(rename = "node_add")]
    AddNodes(NodeAddSpec),
    /// Take one node out of a registered cluster.
    #[serde(rename = "node_remove")]
    RemoveNode {
        /// Registered cluster name.
        cluster: String,
        /// The node's address.
        host: IpAddr,
    },
    /// Move a registered cluster to the next Kubernetes minor: control planes one at a time,
    /// then the workers in batches.
    #[serde(rename = "cluster_upgrade")]
    Upgrade {
        /// Registered cluster name.
        cluster: String,
        /// The minor to reach (`1.36`), the one after the cluster's.
        to: String,
    },
    /// Tear a registered cluster down and unregister it.
    #[serde(rename = "cluster_delete")]
    Delete {
        /// Registered cluster name.
        cluster: String,
    },
}

/// A GE job: one release, one change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args")]
pub enum GeJob {
    /// Install a GE release (and its missing dependencies).
    #[serde(rename = "ge_install")]
    Install(GeTarget, GeInstallSpec),
    /// Change a release's version.
    #[serde(rename = "ge_upgrade")]
    Upgrade(GeTarget, String),
    /// Change a release's replica count.
    #[serde(rename = "ge_scale")]
    Scale(GeTarget, u32),
    /// Remove a release; `purge` also removes its persistent volume claims.
    #[serde(rename = "ge_uninstall")]
    Uninstall(GeTarget, bool),
    /// Re-apply an earlier revision (`None`: the previous good one).
    #[serde(rename = "rollback")]
    Rollback(GeTarget, Option<u32>),
    /// Put a HorizontalPodAutoscaler on a release (`None`: take it off).
    #[serde(rename = "ge_autoscale")]
    Autoscale(GeTarget, Option<Autoscale>),
}

/// How a release is autoscaled: a HorizontalPodAutoscaler on its main Deployment keeping
/// the pods' average CPU use near `cpu` percent of their requests, with `min` to `max` pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscale {
    /// Fewest pods (at least 1).
    pub min: u32,
    /// Most pods.
    pub max: u32,
    /// Target average CPU utilization, percent of the pods' CPU requests.
    pub cpu: u32,
}

impl std::fmt::Display for Autoscale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {} pods at {}% CPU", self.min, self.max, self.cpu)
    }
}

/// A selftest: `steps` steps of `step_ms` each, each recorded once in `<data>/selftest.log`.
/// Lets an admin check the worker, checkpoints and progress path, and is what the crash tests
/// drive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args", rename_all = "snake_case")]
pub enum SelftestJob {
    /// The one selftest kind.
    Selftest {
        /// Number of steps.
        steps: u32,
        /// How long each step takes, in milliseconds.
        step_ms: u64,
    },
}

/// Arguments of a cluster creation, validated by the grammar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Cluster name (DNS-1123 label).
    pub name: String,
    /// Control planes first, then workers.
    pub hosts: Vec<IpAddr>,
    /// SSH user; `None` uses the configured default.
    pub user: Option<String>,
    /// SSH port; `None` uses the configured default.
    pub port: Option<u16>,
    /// Kubernetes minor (`1.36`); `None` uses the configured default.
    pub k8s: Option<String>,
    /// Pod network CIDR; `None` uses the configured default.
    pub pod_cidr: Option<String>,
    /// How many of the first hosts are control planes (1, 3 or 5); `None`: one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_planes: Option<u8>,
    /// A virtual IP for the API endpoint (kube-vip); `None`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<IpAddr>,
}

/// What `/node add` adds to a registered cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddSpec {
    /// Registered cluster name.
    pub cluster: String,
    /// The new hosts.
    pub hosts: Vec<IpAddr>,
    /// They become control planes (else workers).
    pub control_plane: bool,
    /// SSH user of the new hosts; `None` uses the configured default.
    pub user: Option<String>,
    /// SSH port of the new hosts; `None` uses the configured default.
    pub port: Option<u16>,
}

impl ClusterSpec {
    /// How many of the first hosts are control planes.
    pub fn control_plane_count(&self) -> usize {
        usize::from(self.control_planes.unwrap_or(1).max(1))
    }
}

/// Where a GE release lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeTarget {
    /// Registered cluster name.
    pub cluster: String,
    /// Namespace.
    pub namespace: String,
    /// Catalogue name of the GE.
    pub ge: String,
}

/// Install options beyond the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeInstallSpec {
    /// Image tag; `None` uses the catalogue default.
    pub version: Option<String>,
    /// Replica count; `None` uses the catalogue default.
    pub replicas: Option<u32>,
    /// Expose the GE's Services as NodePorts.
    pub expose_nodeport: bool,
    /// The GE's own parameters by name, checked against the catalogue before queueing.
    /// `secret` parameters are never here: the dispatcher writes them to the cluster.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, String>,
}

impl JobKind {
    /// A selftest of `steps` steps of `step_ms` each.
    pub fn selftest(steps: u32, step_ms: u64) -> JobKind {
        JobKind::Selftest(SelftestJob::Selftest { steps, step_ms })
    }

    /// Short human title, e.g. `selftest (3 steps)`.
    pub fn title(&self) -> String {
        match self {
            JobKind::Cluster(c) => c.title(),
            JobKind::Ge(g) => g.title(),
            JobKind::Selftest(SelftestJob::Selftest { steps, .. }) => {
                format!("selftest ({steps} steps)")
            }
        }
    }

    /// The lock key: at most one job per key runs at a time. Cluster jobs lock the cluster; GE
    /// jobs lock their namespace, because a GE's dependencies (MongoDB for Orion) are shared
    /// releases of that namespace that two installs must not both create. Plans and selftests
    /// lock nothing.
    pub fn target(&self) -> Option<String> {
        match self {
            JobKind::Cluster(ClusterJob::Create(s)) => Some(format!("cluster/{}", s.name)),
            JobKind::Cluster(ClusterJob::Delete { cluster }) => Some(format!("cluster/{cluster}")),
            JobKind::Cluster(
                ClusterJob::RemoveNode { cluster, .. } | ClusterJob::Upgrade { cluster, .. },
            ) => Some(format!("cluster/{cluster}")),
            JobKind::Cluster(ClusterJob::AddNodes(spec)) => {
                Some(format!("cluster/{}", spec.cluster))
            }
            JobKind::Cluster(ClusterJob::Plan(_)) => None,
            JobKind::Ge(g) => {
                let t = g.target();
                Some(format!("ns/{}/{}", t.cluster, t.namespace))
            }
            JobKind::Selftest(_) => None,
        }
    }
}

impl ClusterJob {
    /// Short human title, e.g. `cluster create lab-1 (3 hosts)`.
    pub fn title(&self) -> String {
        match self {
            ClusterJob::Create(s) => format!("cluster create {} ({} hosts)", s.name, s.hosts.len()),
            ClusterJob::Plan(s) => format!("cluster plan {} ({} hosts)", s.name, s.hosts.len()),
            ClusterJob::Delete { cluster } => format!("cluster delete {cluster}"),
            ClusterJob::RemoveNode { cluster, host } => format!("node remove {cluster} {host}"),
            ClusterJob::Upgrade { cluster, to } => format!("cluster upgrade {cluster} to {to}"),
            ClusterJob::AddNodes(s) => {
                let role = if s.control_plane {
                    "control plane"
                } else {
                    "worker"
                };
                let n = s.hosts.len();
                let plural = if n == 1 { "" } else { "s" };
                format!("node add {} ({n} {role}{plural})", s.cluster)
            }
        }
    }
}

impl GeJob {
    /// The release the job changes.
    pub fn target(&self) -> &GeTarget {
        match self {
            GeJob::Install(t, _)
            | GeJob::Upgrade(t, _)
            | GeJob::Scale(t, _)
            | GeJob::Uninstall(t, _)
            | GeJob::Rollback(t, _)
            | GeJob::Autoscale(t, _) => t,
        }
    }

    /// Short human title, e.g. `ge scale orion to 2 in lab-1/demo`.
    pub fn title(&self) -> String {
        let t = self.target();
        let (ge, at) = (&t.ge, format!("{}/{}", t.cluster, t.namespace));
        match self {
            GeJob::Install(..) => format!("ge install {ge} in {at}"),
            GeJob::Upgrade(_, v) => format!("ge upgrade {ge} to {v} in {at}"),
            GeJob::Scale(_, r) => format!("ge scale {ge} to {r} in {at}"),
            GeJob::Uninstall(..) => format!("ge uninstall {ge} in {at}"),
            GeJob::Rollback(..) => format!("rollback {ge} in {at}"),
            GeJob::Autoscale(_, Some(a)) => format!("ge autoscale {ge} {a} in {at}"),
            GeJob::Autoscale(_, None) => format!("ge autoscale {ge} off in {at}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> GeTarget {
        GeTarget {
            cluster: "lab-1".into(),
            namespace: "demo".into(),
            ge: "orion".into(),
        }
    }

    /// The families keep the format jobs were stored in before they existed.
    #[test]
    fn kinds_are_stored_as_before() {
        let cases = [
            (
                JobKind::Ge(GeJob::Scale(target(), 2)),
                r#"{"kind":"ge_scale","args":[{"cluster":"lab-1","namespace":"demo","ge":"orion"},2]}"#,
            ),
            (
                JobKind::Cluster(ClusterJob::Delete {
                    cluster: "lab-1".into(),
                }),
                r#"{"kind":"cluster_delete","args":{"cluster":"lab-1"}}"#,
            ),
            (
                JobKind::Ge(GeJob::Rollback(target(), None)),
                r#"{"kind":"rollback","args":[{"cluster":"lab-1","namespace":"demo","ge":"orion"},null]}"#,
            ),
            (
                JobKind::selftest(3, 10),
                r#"{"kind":"selftest","args":{"steps":3,"step_ms":10}}"#,
            ),
        ];
        for (kind, json) in cases {
            assert_eq!(serde_json::to_string(&kind).unwrap(), json);
            assert_eq!(serde_json::from_str::<JobKind>(json).unwrap(), kind);
        }
        // Written while selftests could name a lock (a test-only field, since removed): the
        // record still reads, and the job locks nothing.
        assert_eq!(
            serde_json::from_str::<JobKind>(
                r#"{"kind":"selftest","args":{"steps":3,"step_ms":10,"lock":"gpu"}}"#
            )
            .unwrap(),
            JobKind::selftest(3, 10)
        );
        assert!(serde_json::from_str::<JobKind>(r#"{"kind":"dance","args":[]}"#).is_err());
    }

    #[test]
    fn titles_and_locks() {
        let scale = JobKind::Ge(GeJob::Scale(target(), 2));
        assert_eq!(scale.title(), "ge scale orion to 2 in lab-1/demo");
        assert_eq!(scale.target().as_deref(), Some("ns/lab-1/demo"));
        assert_eq!(JobKind::selftest(3, 1).title(), "selftest (3 steps)");
        assert_eq!(JobKind::selftest(3, 1).target(), None);
    }
}
