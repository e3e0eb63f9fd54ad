//! Job progress as chat text. Plain text that reads well on every platform; the platform
//! adapters may add markup on top.

use crate::store::{HostState, Job, JobState, RolloutRow, Step, now_ms};

/// Seconds with one decimal, e.g. `3.2 s`.
pub fn secs(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

/// A job's per-host table, one line per host: address, role, state, time in the state, note.
pub fn host_table(job: &Job) -> String {
    let width = job.hosts.iter().map(|h| h.host.len()).max().unwrap_or(0);
    let now = now_ms();
    job.hosts
        .iter()
        .map(|h| {
            let since = match (h.state, h.since_ms) {
                (HostState::Running, Some(t)) => format!(" {}", secs(now.saturating_sub(t))),
                _ => String::new(),
            };
            let note = h
                .note
                .as_ref()
                .map(|n| format!(" - {n}"))
                .unwrap_or_default();
            format!(
                "  {:<width$}  {:<13} {}{since}{note}",
                h.host,
                h.role,
                h.state.word()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A GE job's rollout table, one line per workload, e.g.
/// `  deployment/orion  2/2 updated, 1 ready, 1 available`.
pub fn rollout_table(rows: &[RolloutRow]) -> String {
    let width = rows.iter().map(|r| r.workload.len()).max().unwrap_or(0);
    rows.iter()
        .map(|r| {
            // Until the controller sees the change its counts are the old revision's: they
            // would look complete, so only what it waits for is shown.
            match &r.waiting_for {
                Some(what) if r.stale => {
                    format!("  {:<width$}  waiting for {what}", r.workload)
                }
                _ => format!(
                    "  {:<width$}  {}/{} updated, {} ready, {} available{}{}",
                    r.workload,
                    r.updated,
                    r.desired,
                    r.ready,
                    r.available,
                    if r.done { " - rolled out" } else { "" },
                    r.waiting_for
                        .as_deref()
                        .map(|w| format!(", waiting for {w}"))
                        .unwrap_or_default()
                ),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The live status of a job: one line, e.g.
/// `job #3 selftest (3 steps): step 2/3 (selftest step 2) running, 1.2 s`, followed by the
/// per-host table for jobs that work on hosts and the rollout table of GE jobs.
pub fn render_live(job: &Job) -> String {
    let mut text = live_line(job);
    if !job.hosts.is_empty() {
        text.push('\n');
        text.push_str(&host_table(job));
    }
    if !job.rollout.is_empty() && !job.state.is_terminal() {
        text.push('\n');
        text.push_str(&rollout_table(&job.rollout));
    }
    text
}

fn live_line(job: &Job) -> String {
    let head = format!("job #{} {}", job.id, job.kind.title());
    let total = job.plan.len();
    let elapsed = job
        .started_ms
        .map(|s| now_ms().saturating_sub(s))
        .unwrap_or(0);
    let cancel = if job.cancel_requested.is_some() && !job.state.is_terminal() {
        ", cancel requested"
    } else {
        ""
    };
    match &job.state {
        JobState::Queued => format!("{head}: queued"),
        JobState::Running { step } => {
            let name = job
                .plan
                .get(*step)
                .map(Step::title)
                .unwrap_or_else(|| "starting".into());
            // A resumed job edits the message it had; it says so as long as it runs.
            let resumed = if job.resumes > 0 {
                " (resumed after a restart)"
            } else {
                ""
            };
            format!(
                "{head}: step {}/{total} ({name}) running, {}{cancel}{resumed}",
                step + 1,
                secs(elapsed)
            )
        }
        state => format!(
            "{head}: {} after {}/{total} steps",
            state.word(),
            job.steps.len()
        ),
    }
}

/// The final message of a job: outcome, time taken, what was done, the job's summary, and for
/// failed or cancelled host jobs where each host stands.
pub fn render_finished(job: &Job, elapsed_ms: u64) -> String {
    let mut text = outcome_line(job, elapsed_ms);
    if let Some(summary) = &job.summary {
        text.push('\n');
        text.push_str(summary);
    }
    if !job.hosts.is_empty() && matches!(job.state, JobState::Failed { .. } | JobState::Cancelled) {
        text.push_str("\nhosts:\n");
        text.push_str(&host_table(job));
    }
    text
}

fn outcome_line(job: &Job, elapsed_ms: u64) -> String {
    let head = format!("job #{} {}", job.id, job.kind.title());
    let total = job.plan.len();
    let done = job.steps.len();
    match &job.state {
        JobState::Succeeded => format!(
            "{head} succeeded in {} ({done}/{total} steps)",
            secs(elapsed_ms)
        ),
        JobState::Failed { reason } => {
            format!("{head} failed after {done}/{total} steps: {reason}")
        }
        JobState::Cancelled => {
            let by = job
                .cancel_requested
                .as_ref()
                .map(|r| format!(" by {}", r.user))
                .unwrap_or_default();
            let list = |names: &[String]| {
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            };
            let finished: Vec<String> = job.steps.iter().map(|s| s.name.clone()).collect();
            let left: Vec<String> = job.plan.iter().skip(done).map(Step::title).collect();
            if job.started_ms.is_none() {
                format!("{head} cancelled{by} before it started; nothing was done")
            } else {
                format!(
                    "{head} cancelled{by} after {done}/{total} steps. Done: {}. Not done: {}.",
                    list(&finished),
                    list(&left)
                )
            }
        }
        other => format!("{head} is {}", other.word()),
    }
}

/// The message telling a room that a job picks up again after a restart, or on the replica
/// (`moved_to`) that took over from the one that ran it.
pub fn render_resumed(job: &Job, from: usize, moved_to: Option<&str>) -> String {
    let why = match moved_to {
        Some(replica) => format!(
            "labkube moved to {replica}; job #{} {} continues",
            job.id,
            job.kind.title()
        ),
        None => format!(
            "job #{} {} resumed after a restart",
            job.id,
            job.kind.title()
        ),
    };
    format!(
        "{why} at step {}/{} ({} already done)",
        from + 1,
        job.plan.len(),
        from
    )
}

/// The message telling a room that a job stopped for a bot shutdown (or because the worker
/// gave up on its store, which pauses jobs the same way) and will carry on.
pub fn render_paused(job: &Job) -> String {
    format!(
        "job #{} {} paused after {}/{} steps because labkube is shutting down or cannot run jobs \
         right now; it resumes when labkube starts again",
        job.id,
        job.kind.title(),
        job.steps.len(),
        job.plan.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(updated: u32, waiting_for: Option<&str>, stale: bool) -> RolloutRow {
        RolloutRow {
            workload: "deployment/orion".into(),
            desired: 1,
            updated,
            ready: 1,
            available: 1,
            done: false,
            waiting_for: waiting_for.map(str::to_string),
            stale,
        }
    }

    #[test]
    fn stale_counts_are_not_shown_and_a_stuck_pod_is_named() {
        let stale = rollout_table(&[row(1, Some("the controller to see the change"), true)]);
        assert_eq!(
            stale,
            "  deployment/orion  waiting for the controller to see the change"
        );
        let stuck = rollout_table(&[row(
            1,
            Some("pod orion-x: ImagePullBackOff (Back-off pulling image)"),
            false,
        )]);
        assert_eq!(
            stuck,
            "  deployment/orion  1/1 updated, 1 ready, 1 available, waiting for pod orion-x: \
             ImagePullBackOff (Back-off pulling image)"
        );
    }
}
