//! The job commands: `/jobs`, `/job` and `/cancel`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Flag, Group, Pos, Spec};
use super::super::types::Command;
use super::super::value::Kind;

const JOB_ID: Pos = Pos {
    key: "id",
    placeholder: "ID",
    noun: "job number",
    kind: Kind::JobId,
    min: 1,
    max: 1,
    unique: false,
    about: "the job number from the bot's reply or /jobs",
};

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "jobs",
        aliases: &[],
        group: Group::Jobs,
        summary: "list running and queued jobs",
        details: "Lists the jobs that are queued or running, with their numbers; with all, the \
            recently finished ones too.",
        positionals: &[],
        options: &[],
        flags: &[Flag {
            word: "all",
            about: "include finished jobs",
            instead_of: &[],
        }],
        examples: &["/jobs", "/jobs all"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: jobs,
    },
    Spec {
        path: "job",
        aliases: &[],
        group: Group::Jobs,
        summary: "show the progress or result of a job",
        details: "Shows a job's steps, progress and, once finished, its result or error.",
        positionals: &[JOB_ID],
        options: &[],
        flags: &[],
        examples: &["/job 42", "/job #42"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: job,
    },
    Spec {
        path: "cancel",
        aliases: &[],
        group: Group::Jobs,
        summary: "cancel a queued or running job",
        details: "Stops a job at its next safe point; steps already done are not undone.",
        positionals: &[JOB_ID],
        options: &[],
        flags: &[],
        examples: &["/cancel 42"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: cancel,
    },
];

fn jobs(a: &mut Args) -> Built {
    Ok(Command::Jobs { all: a.flag("all") })
}

fn job(a: &mut Args) -> Built {
    Ok(Command::Job { id: a.one("id")? })
}

fn cancel(a: &mut Args) -> Built {
    Ok(Command::Cancel { id: a.one("id")? })
}
