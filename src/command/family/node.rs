//! The node commands: `/node add` and `/node remove`, growing and shrinking a cluster labkube
//! created.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Group, Opt, Pos, Spec};
use super::super::types::{Command, NodeAddArgs};
use super::super::value::Kind;

/// The roles a new node may take.
const ROLES: &[&str] = &["worker", "control-plane"];

const CLUSTER: Pos = Pos {
    key: "cluster",
    placeholder: "CLUSTER",
    noun: "cluster name",
    kind: Kind::Label,
    min: 1,
    max: 1,
    unique: false,
    about: "the cluster (see /cluster list)",
};

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "node add",
        aliases: &[],
        group: Group::Clusters,
        summary: "add hosts to a cluster as workers or control planes",
        details: "Checks the new hosts as /cluster create does (and against the cluster's nodes: \
        host names, machine ids and addresses must differ), installs the cluster's Kubernetes \
        minor, joins them with a join command (and, for control planes, a certificate key) \
        made just for this job, waits until they are Ready, and shows the nodes. Control \
        planes keep the count odd (1, 3 or 5): add two to a cluster of one. Workers of a \
        cluster with several control planes reach them through a local proxy, updated when \
        control planes are added. Only the room that owns the cluster and admins may do this.",
        positionals: &[
            CLUSTER,
            Pos {
                key: "ip",
                placeholder: "IP",
                noun: "address",
                kind: Kind::Ip,
                min: 1,
                max: 20,
                unique: true,
                about: "the new hosts' addresses",
            },
        ],
        options: &[
            Opt {
                key: "role",
                placeholder: "ROLE",
                noun: "node role",
                kind: Kind::OneOf(ROLES),
                required: false,
                fallback: Fallback::Note("worker"),
                about: "what the new hosts become",
            },
            super::cluster::SSH_USER,
            super::cluster::SSH_PORT,
        ],
        flags: &[],
        examples: &[
            "/node add lab-1 10.0.0.14",
            "/node add lab-1 10.0.0.15 10.0.0.16 role=control-plane",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: node_add,
    },
    Spec {
        path: "node remove",
        aliases: &[],
        group: Group::Clusters,
        summary: "take a node out of a cluster (asks for confirmation)",
        details: "Without confirm= the bot replies with what would happen and a confirmation code; \
        send the command again with confirm=CODE to go ahead. First checks, changing nothing, \
        that the node may leave: a control plane only while the etcd members that stay keep \
        their quorum, never the last control plane or the only worker, and no pod whose \
        PodDisruptionBudget forbids its eviction. Then drains the node (DaemonSet pods stay, \
        emptyDir data goes with its pod, 2 minutes' grace per pod, 5 for the whole drain), \
        resets the host (a control plane's etcd member is removed first), deletes its Node and \
        updates the workers' proxy. Only the room that owns the cluster and admins may do this.",
        positionals: &[
            CLUSTER,
            Pos {
                key: "ip",
                placeholder: "IP",
                noun: "address",
                kind: Kind::Ip,
                min: 1,
                max: 1,
                unique: false,
                about: "the node's address",
            },
        ],
        options: &[super::cluster::CONFIRM],
        flags: &[],
        examples: &[
            "/node remove lab-1 10.0.0.14",
            "/node remove lab-1 10.0.0.14 confirm=k3x9p2",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: node_remove,
    },
];

fn node_remove(a: &mut Args) -> Built {
    Ok(Command::NodeRemove {
        cluster: a.one("cluster")?,
        ip: a.one("ip")?,
        confirm: a.opt("confirm")?,
    })
}

fn node_add(a: &mut Args) -> Built {
    let role: Option<String> = a.opt("role")?;
    Ok(Command::NodeAdd(NodeAddArgs {
        cluster: a.one("cluster")?,
        hosts: a.many("ip")?,
        control_plane: role.as_deref() == Some("control-plane"),
        user: a.opt("user")?,
        port: a.opt("port")?,
    }))
}
