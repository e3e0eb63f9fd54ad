//! A kubeadm cluster's stacked etcd as its API server shows it: one static pod per control
//! plane (`kube-system/etcd-<node>`, labelled `component=etcd,tier=control-plane` by kubeadm's
//! `GetEtcdPodSpec`), Ready while its member serves. For `/cluster status`.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::kube::client::Cluster;
use crate::kube::error::KubeError;
use crate::names::quorum;

/// The labels kubeadm puts on its etcd static pods.
const ETCD_PODS: &str = "component=etcd,tier=control-plane";

/// One etcd member: the node it runs on and whether its pod is Ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The control plane's node name.
    pub node: String,
    /// Its pod is Ready; else why not (the pod's phase or the Ready condition's reason).
    pub health: Result<(), String>,
}

/// The etcd members of the cluster, by node name.
pub async fn members(cluster: &Cluster) -> Result<Vec<Member>, KubeError> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), "kube-system");
    let list = cluster
        .call(
            "listing the etcd pods",
            api.list(&ListParams::default().labels(ETCD_PODS)),
        )
        .await?;
    let mut members: Vec<Member> = list.items.iter().map(member).collect();
    members.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(members)
}

fn member(pod: &Pod) -> Member {
    let node = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_else(|| "(unscheduled)".into());
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let health = match ready {
        Some(c) if c.status == "True" => Ok(()),
        Some(c) => Err(c.reason.clone().unwrap_or_else(|| "not ready".into())),
        None => Err(status
            .and_then(|s| s.phase.clone())
            .map_or_else(|| "no status".into(), |p| p.to_lowercase())),
    };
    Member { node, health }
}

/// One line about etcd for a cluster with several members (`None` for one: it has no quorum
/// to speak of): how many serve, the quorum, and each member.
pub fn line(members: &[Member]) -> Option<String> {
    if members.len() < 2 {
        return None;
    }
    let n = members.len();
    let healthy = members.iter().filter(|m| m.health.is_ok()).count();
    let q = quorum::quorum(n);
    let verdict = if healthy == n {
        format!("tolerates {} lost", quorum::tolerated(n))
    } else if healthy >= q {
        format!("quorum kept; {} more lost would break it", healthy - q + 1)
    } else {
        "QUORUM LOST: the cluster cannot change anything until members return".into()
    };
    let each: Vec<String> = members
        .iter()
        .map(|m| match &m.health {
            Ok(()) => format!("{} ok", m.node),
            Err(why) => format!("{} {why}", m.node),
        })
        .collect();
    Some(format!(
        "etcd: {healthy} of {n} members healthy, quorum {q} ({verdict}): {}",
        each.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(node: &str, ok: bool) -> Member {
        Member {
            node: node.into(),
            health: if ok { Ok(()) } else { Err("not ready".into()) },
        }
    }

    #[test]
    fn the_line_says_the_quorum_and_what_is_left() {
        assert_eq!(line(&[m("cp1", true)]), None);
        let all = line(&[m("cp1", true), m("cp2", true), m("cp3", true)]).unwrap();
        assert_eq!(
            all,
            "etcd: 3 of 3 members healthy, quorum 2 (tolerates 1 lost): cp1 ok, cp2 ok, cp3 ok"
        );
        let one_down = line(&[m("cp1", true), m("cp2", false), m("cp3", true)]).unwrap();
        assert!(
            one_down.contains("2 of 3")
                && one_down.contains("1 more lost would break it")
                && one_down.contains("cp2 not ready"),
            "{one_down}"
        );
        let lost = line(&[m("cp1", true), m("cp2", false), m("cp3", false)]).unwrap();
        assert!(lost.contains("QUORUM LOST"), "{lost}");
    }

    #[test]
    fn a_pod_is_read_as_kubeadm_writes_it() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "etcd-cp2", "namespace": "kube-system"},
            "spec": {"nodeName": "cp2", "containers": []},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}
            ]}
        }))
        .unwrap();
        assert_eq!(
            member(&pod),
            Member {
                node: "cp2".into(),
                health: Err("ContainersNotReady".into())
            }
        );
    }
}
