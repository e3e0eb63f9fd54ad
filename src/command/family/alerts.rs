//! The alert commands: `/alerts`, `/silence`, `/silence list` and `/unsilence`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Group, Pos, Spec};
use super::super::types::{Command, SilenceTarget};
use super::super::value::Kind;
use super::ge::{CLUSTER, NS};

/// The shortest and longest silence, in seconds (1 minute to 30 days).
pub(crate) const SILENCE_SECS: (u64, u64) = (60, 30 * 86_400);

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "alerts",
        aliases: &[],
        group: Group::Alerts,
        summary: "list the open incidents of your clusters",
        details: "Lists the incidents open now on the room's clusters (an admin's: on every \
            cluster): crash loops, OOM kills, image pull failures, unschedulable pods, stuck \
            claims, nodes NotReady, an API server that does not answer; with the silences in \
            force.",
        positionals: &[],
        options: &[CLUSTER],
        flags: &[],
        examples: &["/alerts", "/alerts cluster=lab-1"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: alerts,
    },
    Spec {
        path: "silence",
        aliases: &[],
        group: Group::Alerts,
        summary: "keep a GE, a node or a whole cluster quiet for a while",
        details: "No incident is told for the target until the silence expires (or /unsilence); \
            one that is still open then is told. TARGET is a GE (in ns=, default the room's \
            namespace), node/NAME or cluster. The reason is kept in the audit trail and shown by \
            /silence list.",
        positionals: &[
            Pos {
                key: "target",
                placeholder: "TARGET",
                noun: "silence target",
                kind: Kind::SilenceTarget,
                min: 1,
                max: 1,
                unique: false,
                about: "what to keep quiet: a GE, node/NAME or cluster",
            },
            Pos {
                key: "for",
                placeholder: "DURATION",
                noun: "duration",
                kind: Kind::Duration {
                    min_secs: SILENCE_SECS.0,
                    max_secs: SILENCE_SECS.1,
                },
                min: 1,
                max: 1,
                unique: false,
                about: "how long, such as 30m, 2h or 1d",
            },
            Pos {
                key: "reason",
                placeholder: "REASON",
                noun: "reason word",
                kind: Kind::Word,
                min: 0,
                max: 24,
                unique: false,
                about: "why, in a few words",
            },
        ],
        options: &[NS, CLUSTER],
        flags: &[],
        examples: &[
            "/silence orion 2h upgrading the broker",
            "/silence node/worker-2 30m disk swap",
            "/silence cluster 1d lab maintenance cluster=lab-1",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: silence,
    },
    Spec {
        path: "silence list",
        aliases: &[],
        group: Group::Alerts,
        summary: "list the silences in force",
        details: "Lists the silences in force on the room's clusters (an admin's: on every \
            cluster): number, target, until when, who set it and why.",
        positionals: &[],
        options: &[CLUSTER],
        flags: &[],
        examples: &["/silence list"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: silence_list,
    },
    Spec {
        path: "unsilence",
        aliases: &[],
        group: Group::Alerts,
        summary: "end a silence before it expires",
        details: "Ends silence ID (from /silence list); incidents still open are told at once.",
        positionals: &[Pos {
            key: "id",
            placeholder: "ID",
            noun: "silence number",
            kind: Kind::JobId,
            min: 1,
            max: 1,
            unique: false,
            about: "the number /silence gave, or from /silence list",
        }],
        options: &[],
        flags: &[],
        examples: &["/unsilence 3"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: unsilence,
    },
];

fn alerts(a: &mut Args) -> Built {
    Ok(Command::Alerts {
        cluster: a.opt("cluster")?,
    })
}

fn silence(a: &mut Args) -> Built {
    Ok(Command::Silence {
        target: a.one::<SilenceTarget>("target")?,
        secs: a.one("for")?,
        reason: a.many("reason")?,
        scope: a.scope()?,
    })
}

fn silence_list(a: &mut Args) -> Built {
    Ok(Command::SilenceList {
        cluster: a.opt("cluster")?,
    })
}

fn unsilence(a: &mut Args) -> Built {
    Ok(Command::Unsilence { id: a.one("id")? })
}
