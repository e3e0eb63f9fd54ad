//! Looking closer at a GE: `/ge logs` and `/ge events`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Flag, Group, Opt, Spec};
use super::super::types::Command;
use super::super::value::Kind;
use super::ge::{CLUSTER, GE, NS};

/// Log lines `/ge logs` shows at most.
pub(crate) const LOG_LINES_MAX: u64 = 500;

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "ge logs",
        aliases: &[],
        group: Group::Enablers,
        summary: "show the tail of a GE's logs",
        details: "The last lines a pod of the GE wrote (a failing pod first, unless pod= names \
            one), at most lines= lines and 64 KiB; with previous, those of the container's \
            previous run (what a crash-looping container said before it died). Passwords the \
            bot generated and every value of the release's Secrets are masked. What does not \
            fit one message comes whole as a text file with the answer (Telegram: a document; \
            Matrix: a file, encrypted in encrypted rooms; the console prints it).",
        positionals: &[GE],
        options: &[
            NS,
            CLUSTER,
            Opt {
                key: "pod",
                placeholder: "NAME",
                noun: "pod name",
                kind: Kind::Label,
                required: false,
                fallback: Fallback::Note("a failing pod of the GE, else its first"),
                about: "which pod (see /ge status)",
            },
            Opt {
                key: "container",
                placeholder: "NAME",
                noun: "container name",
                kind: Kind::Label,
                required: false,
                fallback: Fallback::Note("the pod's first container"),
                about: "which container of the pod",
            },
            Opt {
                key: "lines",
                placeholder: "N",
                noun: "line count",
                kind: Kind::Int {
                    min: 1,
                    max: LOG_LINES_MAX,
                },
                required: false,
                fallback: Fallback::Value("50"),
                about: "how many of the last lines",
            },
        ],
        flags: &[Flag {
            word: "previous",
            about: "the container's previous run",
            instead_of: &[],
        }],
        examples: &[
            "/ge logs orion",
            "/ge logs orion lines=200 previous",
            "/ge logs mongodb pod=mongodb-0 container=mongodb ns=demo",
        ],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ge_logs,
    },
    Spec {
        path: "ge events",
        aliases: &[],
        group: Group::Enablers,
        summary: "show a GE's recent Kubernetes events",
        details: "The events Kubernetes recorded about the GE's pods, ReplicaSets, Deployments, \
            StatefulSets and volume claims, newest first: scheduling, image pulls, crashes, \
            volume binding.",
        positionals: &[GE],
        options: &[NS, CLUSTER],
        flags: &[],
        examples: &["/ge events orion", "/ge events mongodb ns=demo"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ge_events,
    },
];

fn ge_logs(a: &mut Args) -> Built {
    Ok(Command::GeLogs {
        ge: a.one("ge")?,
        scope: a.scope()?,
        pod: a.opt("pod")?,
        container: a.opt("container")?,
        lines: a.one("lines")?,
        previous: a.flag("previous"),
    })
}

fn ge_events(a: &mut Args) -> Built {
    Ok(Command::GeEvents {
        ge: a.one("ge")?,
        scope: a.scope()?,
    })
}
