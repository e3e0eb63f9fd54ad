//! A lab user's own access to a cluster: `/kubeconfig`, `/kubeconfig revoke`,
//! `/kubeconfig list`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Group, Opt, Pos, Spec};
use super::super::types::Command;
use super::super::value::Kind;
use super::ge::{CLUSTER, NS};

/// The shortest and longest kubeconfig lifetime `ttl=` takes, s: the TokenRequest API's floor
/// (ten minutes) and 30 days; `[access] max_ttl_secs` may cap it lower.
pub const TTL_SECS: (u64, u64) = (600, 30 * 86_400);

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "kubeconfig",
        aliases: &[],
        group: Group::Access,
        summary: "get a kubeconfig of your own for kubectl and helm",
        details: "A kubeconfig for a ServiceAccount of your own on the cluster, bound to the \
            built-in view or edit role in one namespace (viewers: view; operators: view or \
            edit in their room's namespace; admins: any namespace, or admin for the whole \
            cluster), with a token that expires after ttl=. Never the bot's own credentials. \
            It is sent to you privately (Telegram: your private chat with the bot; Matrix: an \
            encrypted direct room; the console: a file only you can read); in a group the \
            reply says where it went.",
        positionals: &[],
        options: &[
            CLUSTER,
            NS,
            Opt {
                key: "ttl",
                placeholder: "DURATION",
                noun: "lifetime",
                kind: Kind::Duration {
                    min_secs: TTL_SECS.0,
                    max_secs: TTL_SECS.1,
                },
                required: false,
                fallback: Fallback::Note("[access] default_ttl_secs, 8h unless configured"),
                about: "how long the token is valid, such as 30m, 8h or 1d",
            },
            Opt {
                key: "access",
                placeholder: "LEVEL",
                noun: "access level",
                kind: Kind::OneOf(crate::kube::access::Access::WORDS),
                required: false,
                fallback: Fallback::Note("edit for operators and admins, view for viewers"),
                about: "what it may do: view, edit, or admin (the whole cluster; admins only)",
            },
        ],
        flags: &[],
        examples: &[
            "/kubeconfig",
            "/kubeconfig ns=demo ttl=2h access=view",
            "/kubeconfig cluster=lab-1 access=admin",
        ],
        access: Access::Viewer,
        mutating: true,
        ge_params: false,
        build: kubeconfig,
    },
    Spec {
        path: "kubeconfig revoke",
        aliases: &[],
        group: Group::Access,
        summary: "end a user's access to a cluster at once",
        details: "Deletes the user's ServiceAccount and bindings on the cluster: every \
            kubeconfig issued to them stops working. Without USER, your own; admins may \
            revoke anyone's (USER as /kubeconfig list shows it).",
        positionals: &[Pos {
            key: "user",
            placeholder: "USER",
            noun: "chat user",
            kind: Kind::Word,
            min: 0,
            max: 1,
            unique: false,
            about: "whose access: a user id, or platform:id as /kubeconfig list shows it",
        }],
        options: &[CLUSTER],
        flags: &[],
        examples: &[
            "/kubeconfig revoke",
            "/kubeconfig revoke matrix:@ada:lab.example cluster=lab-1",
        ],
        access: Access::Viewer,
        mutating: true,
        ge_params: false,
        build: kubeconfig_revoke,
    },
    Spec {
        path: "kubeconfig list",
        aliases: &[],
        group: Group::Access,
        summary: "list who holds access to a cluster",
        details: "Who holds a kubeconfig labkube issued for the cluster, for which namespace \
            and at which level, and until when their last token is valid. No tokens are shown.",
        positionals: &[],
        options: &[CLUSTER],
        flags: &[],
        examples: &["/kubeconfig list", "/kubeconfig list cluster=lab-1"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: kubeconfig_list,
    },
];

fn kubeconfig(a: &mut Args) -> Built {
    let access: Option<String> = a.opt("access")?;
    Ok(Command::Kubeconfig {
        scope: a.scope()?,
        ttl_secs: a.opt("ttl")?,
        access: access
            .as_deref()
            .and_then(crate::kube::access::Access::parse),
    })
}

fn kubeconfig_revoke(a: &mut Args) -> Built {
    Ok(Command::KubeconfigRevoke {
        user: a.opt("user")?,
        cluster: a.opt("cluster")?,
    })
}

fn kubeconfig_list(a: &mut Args) -> Built {
    Ok(Command::KubeconfigList {
        cluster: a.opt("cluster")?,
    })
}
