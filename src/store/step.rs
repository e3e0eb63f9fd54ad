//! The steps a job's plan is made of, one enum per flow family. A step is stored by its id
//! (`{"cluster":"install_flannel"}`), and its chat title is a method: a title is never a key.
//!
//! The flows themselves (which steps, in which order) belong to the layers that run them
//! (`provision::flow`, `kube::job`, `jobs::selftest`); the vocabulary sits here, beside the job
//! record that stores it, so every layer can name a step.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A step of a cluster job (create, plan or delete).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterStep {
    /// Open an SSH connection to every host (pinning new host keys).
    Connect,
    /// Read `/etc/os-release` on every host.
    DetectOs,
    /// Gather CPUs, memory, swap, installed versions and cluster membership.
    GatherFacts,
    /// Check every host's facts at once before anything changes.
    Preflight,
    /// Hold the virtual IP (`endpoint=`) on each control plane in turn and reach it from
    /// another host, before anything changes.
    ProbeEndpoint,
    /// Every host's own chain (prepare, containerd, Kubernetes packages; then `kubeadm init`,
    /// flannel and Helm on the first control plane, the API proxy and `kubeadm join` on the
    /// others), each host as far as its own dependencies allow.
    SetUpHosts,
    /// Swap off, kernel modules, sysctls, firewall ports, the API endpoint name. This and the
    /// per-script steps down to `JoinWorkers` are what plans stored before [`ClusterStep::SetUpHosts`]
    /// hold: a job queued by an older labkube resumes with them.
    PrepareHosts,
    /// containerd with systemd cgroups.
    InstallContainerd,
    /// kubeadm, kubelet and kubectl of the chosen minor.
    InstallKube,
    /// A local proxy to every API server on each worker (clusters with several control planes).
    InstallApiProxy,
    /// `kubeadm init` on the first control plane.
    InitControlPlane,
    /// `kubeadm join --control-plane` on every other control plane not yet joined.
    JoinControlPlanes,
    /// The flannel CNI.
    InstallFlannel,
    /// Helm on the control plane.
    InstallHelm,
    /// `kubeadm join` on every worker not yet joined.
    JoinWorkers,
    /// Wait until every node is registered and Ready.
    WaitNodesReady,
    /// local-path-provisioner as the default StorageClass.
    InstallStorage,
    /// Approve the kubelets' serving certificate requests that name only their own node.
    ApproveCsrs,
    /// metrics-server, checking the kubelets' certificates.
    InstallMetricsServer,
    /// Read and store the admin kubeconfig.
    FetchKubeconfig,
    /// Record the cluster and make it the room's current one.
    Register,
    /// Report what create would do on each host (a dry run).
    Plan,
    /// Whether the node may leave (etcd's quorum, a dry run of its drain).
    CheckRemoval,
    /// Drain the leaving node.
    DrainNode,
    /// Delete the Node object of the node that left.
    DeleteNode,
    /// `kubeadm reset` and removal of what was installed.
    ResetHosts,
    /// Forget the cluster.
    Unregister,
    /// Whether the cluster may move to the next minor now: every node Ready and not left
    /// half-upgraded to another minor, versions within the skew policy, containerd recent
    /// enough for the new minor, disk free on every host.
    CheckUpgrade,
    /// The control planes one at a time: the first with `kubeadm upgrade apply`, the others
    /// with `kubeadm upgrade node`; each drained, its kubelet upgraded, Ready, uncordoned.
    UpgradeControlPlanes,
    /// The workers in batches: `kubeadm upgrade node`, drained, kubelet upgraded, Ready,
    /// uncordoned.
    UpgradeWorkers,
}

impl ClusterStep {
    /// Every cluster step, in no particular flow's order.
    pub const ALL: [ClusterStep; 30] = [
        ClusterStep::Connect,
        ClusterStep::DetectOs,
        ClusterStep::GatherFacts,
        ClusterStep::Preflight,
        ClusterStep::ProbeEndpoint,
        ClusterStep::SetUpHosts,
        ClusterStep::PrepareHosts,
        ClusterStep::InstallContainerd,
        ClusterStep::InstallKube,
        ClusterStep::InstallApiProxy,
        ClusterStep::InitControlPlane,
        ClusterStep::JoinControlPlanes,
        ClusterStep::InstallFlannel,
        ClusterStep::InstallHelm,
        ClusterStep::JoinWorkers,
        ClusterStep::WaitNodesReady,
        ClusterStep::InstallStorage,
        ClusterStep::ApproveCsrs,
        ClusterStep::InstallMetricsServer,
        ClusterStep::FetchKubeconfig,
        ClusterStep::Register,
        ClusterStep::Plan,
        ClusterStep::ResetHosts,
        ClusterStep::Unregister,
        ClusterStep::CheckRemoval,
        ClusterStep::DrainNode,
        ClusterStep::DeleteNode,
        ClusterStep::CheckUpgrade,
        ClusterStep::UpgradeControlPlanes,
        ClusterStep::UpgradeWorkers,
    ];

    /// The step as chat shows it.
    pub fn title(self) -> &'static str {
        match self {
            ClusterStep::Connect => "connect",
            ClusterStep::DetectOs => "detect OS",
            ClusterStep::GatherFacts => "gather facts",
            ClusterStep::Preflight => "preflight",
            ClusterStep::ProbeEndpoint => "probe the virtual IP",
            ClusterStep::SetUpHosts => "set up hosts",
            ClusterStep::PrepareHosts => "prepare hosts",
            ClusterStep::InstallContainerd => "install containerd",
            ClusterStep::InstallKube => "install Kubernetes packages",
            ClusterStep::InstallApiProxy => "install the workers' API proxy",
            ClusterStep::InitControlPlane => "initialise the control plane",
            ClusterStep::JoinControlPlanes => "join control planes",
            ClusterStep::InstallFlannel => "install flannel",
            ClusterStep::InstallHelm => "install Helm",
            ClusterStep::JoinWorkers => "join workers",
            ClusterStep::WaitNodesReady => "wait for nodes Ready",
            ClusterStep::InstallStorage => "install storage",
            ClusterStep::ApproveCsrs => "approve kubelet certificates",
            ClusterStep::InstallMetricsServer => "install metrics-server",
            ClusterStep::FetchKubeconfig => "fetch kubeconfig",
            ClusterStep::Register => "register cluster",
            ClusterStep::Plan => "plan",
            ClusterStep::ResetHosts => "reset hosts",
            ClusterStep::CheckRemoval => "check the removal",
            ClusterStep::DrainNode => "drain the node",
            ClusterStep::DeleteNode => "delete the node",
            ClusterStep::Unregister => "unregister cluster",
            ClusterStep::CheckUpgrade => "check the upgrade",
            ClusterStep::UpgradeControlPlanes => "upgrade the control planes",
            ClusterStep::UpgradeWorkers => "upgrade the workers",
        }
    }
}

/// A step of a GE job (install, upgrade, scale, rollback or uninstall).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeStep {
    /// Check that the cluster's API server answers.
    Connect,
    /// Install the GE's missing dependencies, each as its own release.
    Dependencies,
    /// Record and apply the new revision.
    Apply,
    /// Watch the revision roll out.
    Rollout,
    /// Delete the release's objects (and its data with `purge`).
    Uninstall,
}

impl GeStep {
    /// Every GE step, in no particular flow's order.
    pub const ALL: [GeStep; 5] = [
        GeStep::Connect,
        GeStep::Dependencies,
        GeStep::Apply,
        GeStep::Rollout,
        GeStep::Uninstall,
    ];

    /// The step as chat shows it.
    pub fn title(self) -> &'static str {
        match self {
            GeStep::Connect => "connect",
            GeStep::Dependencies => "dependencies",
            GeStep::Apply => "apply",
            GeStep::Rollout => "rollout",
            GeStep::Uninstall => "uninstall",
        }
    }
}

/// One entry of a job's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A step of a cluster job.
    Cluster(ClusterStep),
    /// A step of a GE job.
    Ge(GeStep),
    /// Step `n` (from 1) of a selftest.
    Selftest(u32),
}

impl fmt::Display for Step {
    /// The chat title.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Cluster(s) => f.write_str(s.title()),
            Step::Ge(s) => f.write_str(s.title()),
            Step::Selftest(n) => write!(f, "selftest step {n}"),
        }
    }
}

impl Step {
    /// The chat title (same as `Display`).
    pub fn title(&self) -> String {
        self.to_string()
    }

    /// Resolves a plan stored by a build that kept step titles instead of ids. A plan is
    /// resolved as a whole, within one family, because a title alone can be ambiguous
    /// (`connect` is both a cluster and a GE step); every plan those builds wrote is
    /// unambiguous as a whole. `None` if the titles fit no family.
    pub fn from_titles(titles: &[String]) -> Option<Vec<Step>> {
        let all = |resolve: &dyn Fn(&str) -> Option<Step>| {
            titles
                .iter()
                .map(|t| resolve(t))
                .collect::<Option<Vec<_>>>()
        };
        let cluster = |t: &str| {
            ClusterStep::ALL
                .into_iter()
                .find(|s| s.title() == t)
                .map(Step::Cluster)
        };
        let ge = |t: &str| {
            GeStep::ALL
                .into_iter()
                .find(|s| s.title() == t)
                .map(Step::Ge)
        };
        let selftest = |t: &str| {
            let n = t.strip_prefix("selftest step ")?.parse().ok()?;
            let step = Step::Selftest(n);
            (step.title() == t).then_some(step)
        };
        all(&cluster)
            .or_else(|| all(&ge))
            .or_else(|| all(&selftest))
    }
}

/// Reads [`crate::store::Job::plan`]: step ids, or the titles an older build stored (resolved
/// with [`Step::from_titles`]).
pub(super) fn deserialize_plan<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Step>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Steps(Vec<Step>),
        Titles(Vec<String>),
    }
    match Stored::deserialize(d)? {
        Stored::Steps(steps) => Ok(steps),
        Stored::Titles(titles) => Step::from_titles(&titles).ok_or_else(|| {
            serde::de::Error::custom(format!("a plan of unknown steps: {}", titles.join(", ")))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_unique_within_a_family() {
        let mut cluster: Vec<&str> = ClusterStep::ALL.iter().map(|s| s.title()).collect();
        cluster.sort_unstable();
        cluster.dedup();
        assert_eq!(cluster.len(), ClusterStep::ALL.len());
        let mut ge: Vec<&str> = GeStep::ALL.iter().map(|s| s.title()).collect();
        ge.sort_unstable();
        ge.dedup();
        assert_eq!(ge.len(), GeStep::ALL.len());
    }

    #[test]
    fn a_step_is_stored_by_id() {
        let json = serde_json::to_string(&Step::Cluster(ClusterStep::InstallFlannel)).unwrap();
        assert_eq!(json, r#"{"cluster":"install_flannel"}"#);
        assert_eq!(
            serde_json::to_string(&Step::Selftest(2)).unwrap(),
            r#"{"selftest":2}"#
        );
    }

    /// A job stored by a build that kept titles reads back with its steps typed, so it resumes
    /// where it was.
    #[test]
    fn a_job_stored_with_titles_reads_back_typed() {
        let json = serde_json::json!({
            "id": 7,
            "kind": {"kind": "ge_uninstall", "args": [
                {"cluster": "lab-1", "namespace": "demo", "ge": "orion"}, false]},
            "requested_by": {"platform": "console", "user": "alice"},
            "origin": {"platform": "console", "room": "lab", "event_id": "e1"},
            "command_text": "/ge uninstall orion",
            "target": "ns/lab-1/demo",
            "state": {"state": "running", "step": 1},
            "plan": ["connect", "uninstall"],
            "steps": [{"index": 0, "name": "connect", "started_ms": 1, "finished_ms": 2}],
            "created_ms": 1
        });
        let job: crate::store::Job = serde_json::from_value(json).unwrap();
        assert_eq!(
            job.plan,
            [Step::Ge(GeStep::Connect), Step::Ge(GeStep::Uninstall)]
        );
        let again: crate::store::Job =
            serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        assert_eq!(again, job);
    }

    #[test]
    fn titled_plans_resolve_as_a_whole() {
        let titles = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Step::from_titles(&titles(&["connect", "uninstall"])),
            Some(vec![Step::Ge(GeStep::Connect), Step::Ge(GeStep::Uninstall)])
        );
        assert_eq!(
            Step::from_titles(&titles(&["connect", "detect OS", "reset hosts"])),
            Some(vec![
                Step::Cluster(ClusterStep::Connect),
                Step::Cluster(ClusterStep::DetectOs),
                Step::Cluster(ClusterStep::ResetHosts)
            ])
        );
        assert_eq!(
            Step::from_titles(&titles(&["selftest step 1", "selftest step 2"])),
            Some(vec![Step::Selftest(1), Step::Selftest(2)])
        );
        assert_eq!(Step::from_titles(&titles(&["connect", "dance"])), None);
        assert_eq!(Step::from_titles(&titles(&["selftest step 01"])), None);
    }
}
