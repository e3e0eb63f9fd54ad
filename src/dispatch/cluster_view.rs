//! `/cluster status` and `/cluster list`: what labkube registered about a cluster, joined with
//! what its API server says now (nodes, readiness, versions, addresses, the endpoint the bot
//! uses). Node addresses and SSH users are shown only to the owning room and admins; for other
//! rooms nothing is asked of the cluster at all.

use std::collections::HashSet;

use super::cluster_lines::{joins_line, networks_line, vip_line};
use crate::kube::KubeLayer;
use crate::kube::etcd;
use crate::kube::nodes::{self, NodeView, Readiness};
use crate::store::{ClusterRecord, NodeRecord};

/// What a cluster's API server said just now, or why it could not be asked.
#[derive(Debug)]
pub(super) enum Live {
    /// It answered: its version and its nodes.
    Answered {
        /// The API server's version (`v1.33.4`).
        version: String,
        /// Its nodes, control planes first.
        nodes: Vec<NodeView>,
        /// Where its nodes reach the API (kubeadm's cluster-info), if it says.
        joins_at: Option<String>,
        /// Its stacked etcd's members.
        etcd: Vec<etcd::Member>,
        /// The API server that answered (an HA cluster's first control plane may be down).
        server: String,
    },
    /// It did not, in the words of the error (never carrying credentials).
    Failed(String),
}

/// Asks the API server of `name` for its version and nodes, each call bounded by the
/// layer's request timeout.
pub(super) async fn ask(layer: &KubeLayer, name: &str) -> Live {
    let asked = async {
        let cluster = layer.cluster(name).await?;
        let version = cluster.reachable().await?;
        let nodes = nodes::nodes(&cluster).await?;
        let joins_at = nodes::join_endpoint(&cluster).await?;
        let etcd = etcd::members(&cluster).await?;
        Ok::<_, crate::kube::KubeError>(Live::Answered {
            version,
            nodes,
            joins_at,
            etcd,
            server: cluster.server,
        })
    };
    asked.await.unwrap_or_else(|e| Live::Failed(e.to_string()))
}

impl Live {
    /// The API server that answered, if it did.
    pub(super) fn server(&self) -> Option<&str> {
        match self {
            Live::Answered { server, .. } => Some(server),
            Live::Failed(_) => None,
        }
    }
}

/// A cluster as the status and the list show it.
pub(super) struct Shown<'a> {
    /// Its name.
    pub name: &'a str,
    /// Registered by `/cluster create`; `None` for one declared in the config.
    pub record: Option<&'a ClusterRecord>,
    /// "this room", "another room" or "admins only".
    pub owner: &'a str,
    /// Where the bot reaches its API server, or why that is unknown.
    pub endpoint: Result<String, String>,
}

impl Shown<'_> {
    fn origin(&self) -> &'static str {
        if self.record.is_some() {
            ""
        } else {
            " (declared in the config)"
        }
    }

    fn endpoint(&self) -> String {
        match &self.endpoint {
            Ok(url) => format!("API server {url}"),
            Err(_) => "its API server".into(),
        }
    }
}

use crate::store::rfc3339 as when;

fn ssh(n: &NodeRecord) -> String {
    if n.port == 22 {
        format!("ssh user {}", n.user)
    } else {
        format!("ssh user {}, port {}", n.user, n.port)
    }
}

/// What other rooms are told instead of a cluster's hosts.
const HIDDEN: &str = "node addresses and SSH users are shown only to the owning room and admins";

/// A registered host as its own line: `\n  10.0.0.1 control-plane cp1 (ssh user root)`.
fn registered_row(h: &NodeRecord) -> String {
    format!("\n  {} {} {} ({})", h.addr, h.role, h.hostname, ssh(h))
}

/// The version a cluster had when it was registered.
fn registered_version(r: &ClusterRecord) -> &str {
    if r.k8s_version.is_empty() {
        "(version unknown)"
    } else {
        r.k8s_version.as_str()
    }
}

fn ready_count(nodes: &[NodeView]) -> usize {
    nodes
        .iter()
        .filter(|n| n.readiness == Readiness::Ready)
        .count()
}

/// The registered host a Node is: by its InternalIP, else by name.
fn host_of<'r>(record: Option<&'r ClusterRecord>, node: &NodeView) -> Option<&'r NodeRecord> {
    let hosts = record.map(|r| r.nodes.as_slice()).unwrap_or_default();
    hosts
        .iter()
        .find(|h| node.addresses.contains(&h.addr))
        .or_else(|| hosts.iter().find(|h| h.hostname == node.name))
}

/// The full answer for the owning room or an admin.
pub(super) fn status(shown: &Shown<'_>, live: &Live) -> String {
    let mut out = format!(
        "cluster {}{}: owned by {}; ",
        shown.name,
        shown.origin(),
        shown.owner
    );
    match live {
        Live::Answered {
            version,
            nodes,
            joins_at,
            etcd,
            ..
        } => {
            out.push_str(&format!(
                "{} answers, Kubernetes {version}; {} of {} node(s) Ready:",
                shown.endpoint(),
                ready_count(nodes),
                nodes.len()
            ));
            let mut seen = HashSet::new();
            for n in nodes {
                let host = host_of(shown.record, n);
                let role = if n.is_control_plane() {
                    "control-plane"
                } else {
                    "worker"
                };
                let addrs: Vec<String> = n.addresses.iter().map(ToString::to_string).collect();
                let addrs = if addrs.is_empty() {
                    "no address".to_string()
                } else {
                    addrs.join(", ")
                };
                let tail = match host {
                    Some(h) => {
                        seen.insert(h.addr);
                        ssh(h)
                    }
                    None if shown.record.is_some() => "joined outside labkube".into(),
                    None => String::new(),
                };
                let kubelet = if n.kubelet.is_empty() {
                    String::new()
                } else {
                    format!(", kubelet {}", n.kubelet)
                };
                let tail = if tail.is_empty() {
                    tail
                } else {
                    format!(", {tail}")
                };
                out.push_str(&format!(
                    "\n  {} ({role}) {addrs}: {}{kubelet}{tail}",
                    n.name,
                    n.state()
                ));
            }
            out.push_str(&joins_line(joins_at.as_deref()));
            out.push_str(&vip_line(shown.record));
            out.push_str(&networks_line(shown.record));
            if let Some(line) = etcd::line(etcd) {
                out.push_str(&format!("\n{line}"));
            }
            for h in shown.record.into_iter().flat_map(|r| &r.nodes) {
                if !seen.contains(&h.addr) {
                    out.push_str(&format!(
                        "\n  {} ({}, host {}): not a node of the cluster: it has not joined, or was removed outside labkube; {}",
                        h.addr,
                        h.role,
                        h.hostname,
                        ssh(h)
                    ));
                }
            }
        }
        Live::Failed(why) => {
            out.push_str(&format!("{} could not be asked: {why}.", shown.endpoint()));
            if let Some(r) = shown.record {
                out.push_str(&format!(
                    " Its nodes as registered at {} (Kubernetes {}):",
                    when(r.created_ms),
                    registered_version(r)
                ));
                for h in &r.nodes {
                    out.push_str(&registered_row(h));
                }
            }
        }
    }
    if let Err(why) = &shown.endpoint {
        out.push_str(&format!("\n(the API endpoint is unknown: {why})"));
    }
    out
}

/// The answer for any other room: what is registered, without hosts, and nothing asked of
/// the cluster.
pub(super) fn status_for_others(shown: &Shown<'_>) -> String {
    match shown.record {
        Some(r) => format!(
            "cluster {}: Kubernetes {} when registered, owned by {}; {} node(s); {HIDDEN}",
            shown.name,
            registered_version(r),
            shown.owner,
            r.nodes.len()
        ),
        None => format!(
            "cluster {} (declared in the config): owned by {}; {HIDDEN}",
            shown.name, shown.owner
        ),
    }
}

/// A cluster whose create has not finished: its hosts are held, nothing answers yet.
pub(super) fn creating(shown: &Shown<'_>, job: u64, detail: bool) -> String {
    let Some(r) = shown.record else {
        return format!("cluster {}: being created by job #{job}", shown.name);
    };
    let mut out = format!(
        "cluster {}: not ready, its create (job #{job}) has not finished; owned by {}; {} host(s) held for it since {}",
        shown.name,
        shown.owner,
        r.nodes.len(),
        when(r.created_ms)
    );
    if detail {
        out.push(':');
        for h in &r.nodes {
            out.push_str(&registered_row(h));
        }
    } else {
        out.push_str("; ");
        out.push_str(HIDDEN);
    }
    out
}

/// One line of `/cluster list`; `live` is `None` where the cluster was not asked (another
/// room's, or one being created).
pub(super) fn list_line(shown: &Shown<'_>, current: bool, live: Option<&Live>) -> String {
    let mark = if current { "*" } else { " " };
    let state = match (shown.record.and_then(|r| r.creating), live) {
        (Some(job), _) => format!("not ready: create job #{job} has not finished"),
        (None, Some(Live::Answered { version, nodes, .. })) => {
            let cps: Vec<String> = nodes
                .iter()
                .filter(|n| n.is_control_plane())
                .map(|n| n.name.clone())
                .collect();
            let cps = if cps.is_empty() {
                "no control-plane node".to_string()
            } else {
                format!("control plane {}", cps.join(", "))
            };
            format!(
                "Kubernetes {version}, {} of {} node(s) Ready, {cps}, {}",
                ready_count(nodes),
                nodes.len(),
                shown.endpoint()
            )
        }
        (None, Some(Live::Failed(why))) => {
            format!("{} could not be asked: {why}", shown.endpoint())
        }
        (None, None) => match shown.record {
            Some(r) => format!(
                "Kubernetes {} when registered, {} node(s)",
                registered_version(r),
                r.nodes.len()
            ),
            None => "not asked".into(),
        },
    };
    format!(
        "{mark} {}{}: {state}; owner: {}",
        shown.name,
        shown.origin(),
        shown.owner
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(addr: &str, role: &str, hostname: &str, port: u16) -> NodeRecord {
        NodeRecord {
            addr: addr.parse().unwrap(),
            port,
            user: "centos".into(),
            role: role.into(),
            hostname: hostname.into(),
            avx: None,
        }
    }

    fn node(name: &str, addr: &str, control_plane: bool, readiness: Readiness) -> NodeView {
        NodeView {
            name: name.into(),
            roles: if control_plane {
                vec!["control-plane".into()]
            } else {
                vec![]
            },
            readiness,
            pressure: vec![],
            cordoned: false,
            kubelet: "v1.33.4".into(),
            addresses: vec![addr.parse().unwrap()],
        }
    }

    fn record() -> ClusterRecord {
        ClusterRecord {
            name: "lab-1".into(),
            owner_platform: "t".into(),
            owner_room: "lab".into(),
            created_ms: 0,
            k8s_version: "v1.33.4".into(),
            nodes: vec![
                host("10.0.0.1", "control-plane", "cp1", 22),
                host("10.0.0.2", "worker", "w1", 2222),
                host("10.0.0.3", "worker", "w2", 22),
            ],
            creating: None,
            pod_cidr: None,
            endpoint: None,
        }
    }

    fn ours(record: &ClusterRecord) -> Shown<'_> {
        Shown {
            name: "lab-1",
            record: Some(record),
            owner: "this room",
            endpoint: Ok("https://10.0.0.1:6443".into()),
        }
    }

    #[test]
    fn hosts_are_matched_to_nodes_and_strays_on_either_side_named() {
        let record = record();
        let shown = ours(&record);
        let live = Live::Answered {
            version: "v1.33.4".into(),
            nodes: vec![
                node("cp1", "10.0.0.1", true, Readiness::Ready),
                // Renamed by its owner: still the registered host, found by its address.
                node(
                    "worker-a",
                    "10.0.0.2",
                    false,
                    Readiness::NotReady(String::new()),
                ),
                node("w9", "10.0.0.9", false, Readiness::Ready),
            ],
            joins_at: Some("api.labkube.internal:6443".into()),
            etcd: Vec::new(),
            server: "https://10.0.0.1:6443".into(),
        };
        assert_eq!(
            status(&shown, &live),
            "cluster lab-1: owned by this room; API server https://10.0.0.1:6443 answers, Kubernetes v1.33.4; 2 of 3 node(s) Ready:\n  \
             cp1 (control-plane) 10.0.0.1: Ready, kubelet v1.33.4, ssh user centos\n  \
             worker-a (worker) 10.0.0.2: NotReady, kubelet v1.33.4, ssh user centos, port 2222\n  \
             w9 (worker) 10.0.0.9: Ready, kubelet v1.33.4, joined outside labkube\n\
             the nodes reach the API through its control-plane endpoint api.labkube.internal:6443, so control planes can be added\n  \
             10.0.0.3 (worker, host w2): not a node of the cluster: it has not joined, or was removed outside labkube; ssh user centos"
        );
        assert_eq!(
            list_line(&shown, false, Some(&live)),
            "  lab-1: Kubernetes v1.33.4, 2 of 3 node(s) Ready, control plane cp1, API server https://10.0.0.1:6443; owner: this room"
        );
    }

    #[test]
    fn an_unreachable_cluster_shows_what_was_registered_and_why() {
        let record = record();
        let shown = ours(&record);
        let text = status(&shown, &Live::Failed("no answer within 20 s".into()));
        assert_eq!(
            text.lines().next().unwrap(),
            "cluster lab-1: owned by this room; API server https://10.0.0.1:6443 could not be asked: \
             no answer within 20 s. Its nodes as registered at 1970-01-01T00:00:00Z (Kubernetes v1.33.4):"
        );
        assert!(
            text.contains("\n  10.0.0.2 worker w1 (ssh user centos, port 2222)"),
            "{text}"
        );
        let mut held = record.clone();
        held.creating = Some(7);
        let shown = Shown {
            record: Some(&held),
            ..shown
        };
        assert_eq!(
            list_line(&shown, true, None),
            "* lab-1: not ready: create job #7 has not finished; owner: this room"
        );
        let hidden = creating(&shown, 7, false);
        assert!(
            hidden.ends_with("shown only to the owning room and admins")
                && !hidden.contains("10.0.0"),
            "{hidden}"
        );
    }
}
