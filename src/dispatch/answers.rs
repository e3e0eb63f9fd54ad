//! Read-only answers: whoami, jobs, job details, audit trail.

use crate::auth::{Policy, Role, RoomRef};
use crate::chat::Incoming;
use crate::store::{AuditOutcome, Job, JobState, JobStore, StoreError, now_ms};

/// How many finished jobs `/jobs all` lists.
const RECENT: usize = 20;

use crate::store::rfc3339 as when;

fn ago(ms: u64) -> String {
    let s = now_ms().saturating_sub(ms) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

pub(super) fn whoami(
    policy: &Policy,
    msg: &Incoming,
    room: &RoomRef,
    role: Option<Role>,
) -> String {
    let ns = policy
        .room(room)
        .map(|r| r.namespace.as_str())
        .unwrap_or("default");
    match role {
        Some(role) => format!(
            "you are {} on {}, with the {role} role; this room's default namespace is {ns}",
            msg.sender, msg.platform
        ),
        None => format!(
            "you are {} on {}, not a labkube user: you can read /help; an admin can give you a role in the config",
            msg.sender, msg.platform
        ),
    }
}

/// `/start`: a greeting, then who the person is to the bot ([`whoami`]), then where to begin.
pub(super) fn start(policy: &Policy, msg: &Incoming, room: &RoomRef, role: Option<Role>) -> String {
    let next = if role.is_some() {
        "Type /help for the commands; /cluster list shows the clusters this room can use."
    } else {
        "Send that id to a labkube admin to be given a role; until then /help shows what \
         labkube can do."
    };
    format!(
        "Hello! labkube builds Kubernetes clusters on lab VMs and installs FIWARE Generic \
         Enablers on them, from chat. {}. {next}",
        whoami(policy, msg, room, role)
    )
}

/// Jobs as a table, one indented row each, its columns aligned (number, state, who, when,
/// then what, whose length varies most): `  #12  running step 2/5  by 1001  3 min ago  selftest`.
fn table(jobs: &[Job]) -> String {
    let rows: Vec<[String; 5]> = jobs
        .iter()
        .map(|job| {
            let state = match &job.state {
                JobState::Running { step } => {
                    format!("running step {}/{}", step + 1, job.plan.len())
                }
                other => other.word().to_string(),
            };
            [
                format!("#{}", job.id),
                state,
                format!("by {}", job.requested_by.user),
                ago(job.created_ms),
                job.kind.title(),
            ]
        })
        .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    rows.iter()
        .map(|[id, state, by, when, what]| {
            format!("  {id:<w0$}  {state:<w1$}  {by:<w2$}  {when:<w3$}  {what}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn jobs(
    store: &dyn JobStore,
    room: &RoomRef,
    admin: bool,
    all: bool,
) -> Result<String, StoreError> {
    let visible =
        |j: &Job| admin || (j.origin.platform == room.platform && j.origin.room == room.room);
    let active: Vec<Job> = store.active()?.into_iter().filter(visible).collect();
    let mut out = if active.is_empty() {
        "no jobs are queued or running".to_string()
    } else {
        format!("{} active job(s):\n{}", active.len(), table(&active))
    };
    if all {
        let done: Vec<Job> = store
            .recent(RECENT * 5)?
            .into_iter()
            .filter(|j| j.state.is_terminal() && visible(j))
            .take(RECENT)
            .collect();
        if done.is_empty() {
            out.push_str("\nno finished jobs");
        } else {
            out.push_str(&format!(
                "\nlast {} finished:\n{}",
                done.len(),
                table(&done)
            ));
        }
    } else {
        out.push_str("\n(/jobs all also lists finished jobs)");
    }
    Ok(out)
}

pub(super) fn job(store: &dyn JobStore, id: u64, log_lines: usize) -> Result<String, StoreError> {
    let Some(job) = store.get(id)? else {
        return Ok(format!(
            "there is no job #{id}; /jobs lists the active ones"
        ));
    };
    let mut out = format!("job #{} {}: {}", job.id, job.kind.title(), job.state.word());
    // A job that failed in a step says why on that step's line below.
    let failed_in_step = job.failed_step.filter(|&i| i < job.plan.len());
    if let (JobState::Failed { reason }, None) = (&job.state, failed_in_step) {
        out.push_str(&format!(" ({reason})"));
    }
    out.push_str(&format!(
        "\nrequested by {} on {} at {}: {}",
        job.requested_by.user,
        job.requested_by.platform,
        when(job.created_ms),
        job.command_text
    ));
    if job.resumes > 0 {
        out.push_str(&format!(
            "\nresumed {} time(s) after a restart",
            job.resumes
        ));
    }
    if let Some(by) = &job.cancel_requested {
        out.push_str(&format!("\ncancel requested by {}", by.user));
    }
    if !job.plan.is_empty() {
        out.push_str("\nsteps:");
        for (i, name) in job.plan.iter().enumerate() {
            let status = match job.steps.iter().find(|s| s.index == i) {
                Some(s) => format!(
                    "done in {}",
                    crate::chat::secs(s.finished_ms.saturating_sub(s.started_ms))
                ),
                None if job.state == (JobState::Running { step: i }) => "running".to_string(),
                None if failed_in_step == Some(i) => match &job.state {
                    JobState::Failed { reason } => reason.clone(),
                    _ => "failed".to_string(),
                },
                None if job.state.is_terminal() => "not run".to_string(),
                None => "waiting".to_string(),
            };
            out.push_str(&format!("\n  {}. {name}: {status}", i + 1));
        }
    }
    if !job.hosts.is_empty() {
        out.push_str("\nhosts:\n");
        out.push_str(&crate::chat::host_table(&job));
    }
    if let Some(summary) = &job.summary {
        out.push('\n');
        out.push_str(summary);
    }
    let log = store.log_tail(id, log_lines)?;
    if !log.is_empty() {
        out.push_str(&format!("\nlog (last {}):", log.len()));
        for l in log {
            out.push_str(&format!("\n  {} {}", when(l.at_ms), l.text));
        }
    }
    Ok(out)
}

pub(super) fn audit(store: &dyn JobStore, n: usize) -> Result<String, StoreError> {
    let entries = store.recent_audit(n)?;
    if entries.is_empty() {
        return Ok("the audit trail is empty".into());
    }
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            let outcome = match &e.outcome {
                AuditOutcome::Queued { job } => format!("queued job #{job}"),
                AuditOutcome::Done => "done".into(),
                AuditOutcome::Refused { reason } => format!("refused: {reason}"),
                AuditOutcome::Rejected { reason } => format!("rejected: {reason}"),
            };
            format!(
                "{} {} {} on {} in {}: {} -> {outcome}",
                e.seq,
                when(e.at_ms),
                e.who.user,
                e.who.platform,
                e.room,
                e.command
            )
        })
        .collect();
    Ok(format!(
        "last {} audit entries, newest first:\n{}",
        lines.len(),
        lines.join("\n")
    ))
}
