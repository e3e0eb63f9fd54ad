//! The general commands: `/whoami`, `/start`, `/audit`, `/selftest` and `/help`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::help::check_topic;
use super::super::spec::{Access, Fallback, Group, Opt, Pos, Spec};
use super::super::types::Command;
use super::super::value::Kind;

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "whoami",
        aliases: &[],
        group: Group::General,
        summary: "show who the bot takes you for and what you may do",
        details: "Shows your chat identity as the bot sees it and the role it grants you.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/whoami"],
        access: Access::Anyone,
        mutating: false,
        ge_params: false,
        build: whoami,
    },
    Spec {
        path: "start",
        aliases: &[],
        group: Group::General,
        summary: "greet: who the bot takes you for and where to begin",
        details: "What a Telegram client sends when you open a chat with the bot: a greeting, \
            your chat identity and role as /whoami shows them, and how to get access or where \
            to begin.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/start"],
        access: Access::Anyone,
        mutating: false,
        ge_params: false,
        build: start,
    },
    Spec {
        path: "audit",
        aliases: &[],
        group: Group::General,
        summary: "show the latest entries of the audit log",
        details: "Shows who ran which command when, newest first; secrets are masked.",
        positionals: &[Pos {
            key: "n",
            placeholder: "N",
            noun: "entry count",
            kind: Kind::Int { min: 1, max: 100 },
            min: 0,
            max: 1,
            unique: false,
            about: "how many entries (default 20)",
        }],
        options: &[],
        flags: &[],
        examples: &["/audit", "/audit 50"],
        access: Access::Admin,
        mutating: false,
        ge_params: false,
        build: audit,
    },
    Spec {
        path: "selftest",
        aliases: &[],
        group: Group::General,
        summary: "run a harmless test job (admin check)",
        details: "Runs a job of N steps of M milliseconds each that touches nothing remote: a \
            check that jobs, progress messages and /cancel work.",
        positionals: &[],
        options: &[
            Opt {
                key: "steps",
                placeholder: "N",
                noun: "step count",
                kind: Kind::Int { min: 1, max: 50 },
                required: false,
                fallback: Fallback::Value("3"),
                about: "number of steps",
            },
            Opt {
                key: "ms",
                placeholder: "M",
                noun: "step duration",
                kind: Kind::Int {
                    min: 0,
                    max: 60_000,
                },
                required: false,
                fallback: Fallback::Value("1000"),
                about: "milliseconds per step",
            },
        ],
        flags: &[],
        examples: &["/selftest", "/selftest steps=10 ms=200"],
        access: Access::Admin,
        mutating: true,
        ge_params: false,
        build: selftest,
    },
    Spec {
        path: "help",
        aliases: &[],
        group: Group::General,
        summary: "list the commands, or explain one",
        details: "Without words: every command with a one-line summary. With command words, such \
            as /help cluster create: that command's arguments, options and examples.",
        positionals: &[Pos {
            key: "topic",
            placeholder: "COMMAND",
            noun: "help topic",
            kind: Kind::Topic,
            min: 0,
            max: 2,
            unique: false,
            about: "command words, such as cluster create",
        }],
        options: &[],
        flags: &[],
        examples: &["/help", "/help ge install"],
        access: Access::Anyone,
        mutating: false,
        ge_params: false,
        build: help,
    },
];

fn help(a: &mut Args) -> Built {
    let topic: Vec<String> = a.many("topic")?;
    check_topic(&topic)?;
    Ok(Command::Help { topic })
}

fn whoami(_: &mut Args) -> Built {
    Ok(Command::Whoami)
}

fn start(_: &mut Args) -> Built {
    Ok(Command::Start)
}

fn audit(a: &mut Args) -> Built {
    Ok(Command::Audit { n: a.opt("n")? })
}

fn selftest(a: &mut Args) -> Built {
    Ok(Command::Selftest {
        steps: a.one("steps")?,
        step_ms: a.one("ms")?,
    })
}
