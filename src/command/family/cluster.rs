//! The cluster commands: `/cluster create|plan|list|status|use|delete` and `/host forget`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::ParseError;
use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Flag, Group, Opt, Pos, Spec};
use super::super::types::{ClusterArgs, Command};
use super::super::value::Kind;

const HOSTS: Pos = Pos {
    key: "ip",
    placeholder: "IP",
    noun: "address",
    kind: Kind::Ip,
    min: 1,
    max: 100,
    unique: true,
    about: "host addresses, control planes first, then workers",
};

pub(super) const CLUSTER_NAME: Pos = Pos {
    key: "name",
    placeholder: "NAME",
    noun: "cluster name",
    kind: Kind::Label,
    min: 1,
    max: 1,
    unique: false,
    about: "the cluster (see /cluster list)",
};

/// `user=`: how the bot logs in to the hosts it sets up (also `/node add`'s).
pub(super) const SSH_USER: Opt = Opt {
    key: "user",
    placeholder: "USER",
    noun: "SSH user",
    kind: Kind::User,
    required: false,
    fallback: Fallback::Note("the bot's configured SSH user"),
    about: "SSH user on the hosts (needs passwordless sudo)",
};

/// `port=`: the hosts' SSH port (also `/node add`'s).
pub(super) const SSH_PORT: Opt = Opt {
    key: "port",
    placeholder: "PORT",
    noun: "SSH port",
    kind: Kind::Int { min: 1, max: 65535 },
    required: false,
    fallback: Fallback::Note("the bot's configured SSH port"),
    about: "SSH port on the hosts",
};

/// `confirm=`: the code of a destructive command's confirmation step (also `/node remove`'s).
pub(super) const CONFIRM: Opt = Opt {
    key: "confirm",
    placeholder: "CODE",
    noun: "confirmation code",
    kind: Kind::Code,
    required: false,
    fallback: Fallback::Note("none; the bot asks for confirmation"),
    about: "the code from the bot's confirmation request",
};

/// `k8s=`: the Kubernetes minor a create installs (also `/cluster upgrade`'s, which moves to it).
pub(super) const K8S: Opt = Opt {
    key: "k8s",
    placeholder: "MINOR",
    noun: "Kubernetes version",
    kind: Kind::K8sMinor,
    required: false,
    fallback: Fallback::Note("the bot's configured version"),
    about: "Kubernetes minor version to install",
};

const CLUSTER_OPTIONS: &[Opt] = &[
    Opt {
        key: "name",
        placeholder: "NAME",
        noun: "cluster name",
        kind: Kind::Label,
        required: false,
        fallback: Fallback::Note("a name chosen by the bot, shown in the reply"),
        about: "name of the new cluster",
    },
    SSH_USER,
    SSH_PORT,
    K8S,
    Opt {
        key: "pod-cidr",
        placeholder: "CIDR",
        noun: "pod network",
        kind: Kind::Cidr,
        required: false,
        fallback: Fallback::Note("the bot's configured pod network"),
        about: "address range for pods; must not overlap the hosts' network; an IPv4 and an \
                IPv6 range make a dual-stack cluster (every host needs a global IPv6 address)",
    },
    Opt {
        key: "control-planes",
        placeholder: "N",
        noun: "number of control planes",
        kind: Kind::ControlPlanes,
        required: false,
        fallback: Fallback::Note("1"),
        about: "how many of the first addresses are control planes (1, 3 or 5); more than \
                one makes the API and etcd survive a lost host",
    },
    Opt {
        key: "endpoint",
        placeholder: "IP",
        noun: "virtual IP",
        kind: Kind::Ip,
        required: false,
        fallback: Fallback::Note(
            "none: every node reaches the API by a name that leads to a control plane or its \
             local proxy",
        ),
        about: "a free address on the hosts' network that kube-vip moves to a working control \
                plane; checked first by holding it on each control plane in turn (the lab's \
                network must let the VMs' ports carry it)",
    },
];

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "cluster create",
        aliases: &[],
        group: Group::Clusters,
        summary: "install Kubernetes on lab hosts",
        details: "Connects to every host over SSH, checks it and installs Kubernetes: the first \
            address becomes the control plane, the others workers. With control-planes=3 (or 5) \
            the first three (five) addresses are control planes, each with a member of etcd, so \
            the cluster keeps working when one (two) of them is lost; workers then reach the API \
            through a local proxy to every control plane, so no virtual IP is needed. Where the \
            lab lets the VMs carry one, endpoint=IP makes kube-vip keep that address on a \
            working control plane for the workers and the bot; the create first proves the \
            address can move between the control planes. Runs as a job; follow it with /job ID. With dry-run the bot only connects and checks the \
            hosts, changing nothing.",
        positionals: &[HOSTS],
        options: CLUSTER_OPTIONS,
        flags: &[Flag {
            word: "dry-run",
            about: "only connect to and check the hosts",
            instead_of: &[],
        }],
        examples: &[
            "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 name=lab-1",
            "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 control-planes=3",
            "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 control-planes=3 endpoint=10.0.0.10",
            "/cluster create 10.0.0.11 user=ubuntu k8s=1.36 dry-run",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: cluster_create,
    },
    Spec {
        path: "cluster plan",
        aliases: &[],
        group: Group::Clusters,
        summary: "show what /cluster create would do, without installing",
        details: "Connects to the hosts, checks them and shows the installation plan: roles, \
            versions and the steps /cluster create would run. Installs nothing.",
        positionals: &[HOSTS],
        options: CLUSTER_OPTIONS,
        flags: &[],
        examples: &["/cluster plan 10.0.0.11 10.0.0.12 name=lab-1"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: cluster_plan,
    },
    Spec {
        path: "cluster list",
        aliases: &[],
        group: Group::Clusters,
        summary: "list the clusters the bot manages",
        details: "Lists every cluster, marking the room's current one with *. The room's own \
            clusters (every cluster, for admins) show their state now: version, Ready nodes, \
            control plane and API endpoint, or why the API server could not be asked; other \
            rooms' clusters show what was registered.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/cluster list"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: cluster_list,
    },
    Spec {
        path: "cluster status",
        aliases: &[],
        group: Group::Clusters,
        summary: "show the nodes and health of a cluster",
        details: "Asks the cluster's API server for its nodes now: roles, readiness (with the \
            kubelet's reason when not Ready), cordons, kubelet versions and addresses, the API \
            endpoint the bot uses and the one the nodes use (which says whether control \
            planes can be added), registered hosts that are not nodes and nodes labkube did \
            not add; then the Generic Enablers labkube installed there. When the API server \
            does not answer, says why and shows the nodes as registered. Without NAME: the \
            room's current cluster. Only the room that owns the cluster and admins see this; \
            other rooms see its version, owner and node count.",
        positionals: &[Pos {
            min: 0,
            ..CLUSTER_NAME
        }],
        options: &[],
        flags: &[],
        examples: &["/cluster status", "/cluster status lab-1"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: cluster_status,
    },
    Spec {
        path: "cluster use",
        aliases: &[],
        group: Group::Clusters,
        summary: "make a cluster the room's current one",
        details: "Commands in this room that take cluster= act on this cluster when cluster= \
            is not given. Until a room picks one, its current cluster is the first the config \
            declares for it, else the only cluster the bot knows.",
        positionals: &[CLUSTER_NAME],
        options: &[],
        flags: &[],
        examples: &["/cluster use lab-1"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: cluster_use,
    },
    Spec {
        path: "cluster delete",
        aliases: &[],
        group: Group::Clusters,
        summary: "tear down a cluster (asks for confirmation)",
        details: "Without confirm= the bot replies with what would be deleted and a \
            confirmation code; send the command again with confirm=CODE to go ahead. The hosts \
            are reset and the cluster is forgotten. This cannot be undone.",
        positionals: &[CLUSTER_NAME],
        options: &[CONFIRM],
        flags: &[],
        examples: &[
            "/cluster delete lab-1",
            "/cluster delete lab-1 confirm=k3x9p2",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: cluster_delete,
    },
    Spec {
        path: "host forget",
        aliases: &[],
        group: Group::Clusters,
        summary: "forget a host's pinned SSH key",
        details: "The bot pins each host's SSH key on first contact and refuses a host whose key \
            changed. After reinstalling a host, forget its key so it can be pinned again.",
        positionals: &[Pos {
            key: "ip",
            placeholder: "IP",
            noun: "address",
            kind: Kind::Ip,
            min: 1,
            max: 1,
            unique: false,
            about: "the host whose key to forget",
        }],
        options: &[],
        flags: &[],
        examples: &["/host forget 10.0.0.12"],
        access: Access::Admin,
        mutating: true,
        ge_params: false,
        build: host_forget,
    },
];

fn cluster_args(a: &mut Args, dry_run: bool) -> Result<ClusterArgs, ParseError> {
    Ok(ClusterArgs {
        hosts: a.many("ip")?,
        name: a.opt("name")?,
        user: a.opt("user")?,
        port: a.opt("port")?,
        k8s: a.opt("k8s")?,
        pod_cidr: a.opt("pod-cidr")?,
        control_planes: a.opt("control-planes")?,
        endpoint: a.opt("endpoint")?,
        dry_run,
    })
}

fn cluster_create(a: &mut Args) -> Built {
    let dry_run = a.flag("dry-run");
    Ok(Command::ClusterCreate(cluster_args(a, dry_run)?))
}

/// A plan never changes the hosts, so its `dry_run` is always true.
fn cluster_plan(a: &mut Args) -> Built {
    Ok(Command::ClusterPlan(cluster_args(a, true)?))
}

fn cluster_list(_: &mut Args) -> Built {
    Ok(Command::ClusterList)
}

fn cluster_status(a: &mut Args) -> Built {
    Ok(Command::ClusterStatus {
        name: a.opt("name")?,
    })
}

fn cluster_use(a: &mut Args) -> Built {
    Ok(Command::ClusterUse {
        name: a.one("name")?,
    })
}

fn cluster_delete(a: &mut Args) -> Built {
    Ok(Command::ClusterDelete {
        name: a.one("name")?,
        confirm: a.opt("confirm")?,
    })
}

fn host_forget(a: &mut Args) -> Built {
    Ok(Command::HostForget { ip: a.one("ip")? })
}
