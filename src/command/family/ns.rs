//! A room's own namespaces on a cluster: `/ns create`, `/ns list`, `/ns delete`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Group, Opt, Pos, Spec};
use super::super::types::Command;
use super::super::value::Kind;
use super::ge::CLUSTER;

/// The most pods a namespace's quota may allow.
pub const MAX_PODS: u64 = 10_000;

const NAME: Pos = Pos {
    key: "name",
    placeholder: "NAME",
    noun: "namespace",
    kind: Kind::Label,
    min: 1,
    max: 1,
    unique: false,
    about: "the namespace, a DNS label such as team-a",
};

const ROOM_QUOTA: Fallback = Fallback::Note("the room's quota in the config, else no limit");

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "ns create",
        aliases: &[],
        group: Group::Access,
        summary: "create a namespace of this room's, with a quota",
        details: "Creates a namespace owned by this room, labelled as labkube's, with a \
            LimitRange giving every container a default request (100m CPU, 128Mi memory) and, \
            when cpu=, memory= or pods= is given (or the room has a quota in the config), a \
            ResourceQuota capping what its pods may request together, so that one namespace \
            cannot take a shared cluster. GEs install into it with ns=NAME; /kubeconfig \
            ns=NAME gives access to it.",
        positionals: &[NAME],
        options: &[
            CLUSTER,
            Opt {
                key: "cpu",
                placeholder: "N",
                noun: "number of CPUs",
                kind: Kind::Cpu,
                required: false,
                fallback: ROOM_QUOTA,
                about: "CPUs its pods may request together, such as 4 or 500m",
            },
            Opt {
                key: "memory",
                placeholder: "SIZE",
                noun: "memory size",
                kind: Kind::Memory,
                required: false,
                fallback: ROOM_QUOTA,
                about: "memory its pods may request together, such as 8Gi",
            },
            Opt {
                key: "pods",
                placeholder: "N",
                noun: "number of pods",
                kind: Kind::Int {
                    min: 1,
                    max: MAX_PODS,
                },
                required: false,
                fallback: ROOM_QUOTA,
                about: "how many pods it may hold",
            },
        ],
        flags: &[],
        examples: &[
            "/ns create team-a",
            "/ns create team-a cpu=4 memory=8Gi pods=40",
            "/ns create demo cluster=lab-1 cpu=2",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: ns_create,
    },
    Spec {
        path: "ns list",
        aliases: &[],
        group: Group::Access,
        summary: "list this room's namespaces and what their quotas allow",
        details: "The namespaces labkube created for this room on the cluster (an admin's: \
            every room's), with their releases and, for each quota, what is used of what is \
            allowed.",
        positionals: &[],
        options: &[CLUSTER],
        flags: &[],
        examples: &["/ns list", "/ns list cluster=lab-1"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ns_list,
    },
    Spec {
        path: "ns delete",
        aliases: &[],
        group: Group::Access,
        summary: "delete one of this room's namespaces (asks for confirmation)",
        details: "Refused while GEs are installed in it (/ge uninstall them first). Without \
            confirm= the bot replies with what would go and a confirmation code; send the \
            command again with confirm=CODE to go ahead. Everything in the namespace is \
            deleted with it, and kubeconfigs issued for it stop working there.",
        positionals: &[NAME],
        options: &[CLUSTER, super::cluster::CONFIRM],
        flags: &[],
        examples: &["/ns delete team-a", "/ns delete team-a confirm=k3x9p2"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: ns_delete,
    },
];

fn ns_create(a: &mut Args) -> Built {
    Ok(Command::NsCreate {
        name: a.one("name")?,
        cluster: a.opt("cluster")?,
        cpu: a.opt("cpu")?,
        memory: a.opt("memory")?,
        pods: a.opt("pods")?,
    })
}

fn ns_list(a: &mut Args) -> Built {
    Ok(Command::NsList {
        cluster: a.opt("cluster")?,
    })
}

fn ns_delete(a: &mut Args) -> Built {
    Ok(Command::NsDelete {
        name: a.one("name")?,
        cluster: a.opt("cluster")?,
        confirm: a.opt("confirm")?,
    })
}
