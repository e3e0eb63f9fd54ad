//! `labkube jobs`: the job listing read straight off the store, with the bot stopped.

use std::path::Path;

use super::AppError;
use crate::store::{JobStore, SledStore};

/// The offline job listing of `labkube jobs`: active jobs and the last `last` finished ones.
pub fn list_jobs(dir: &Path, last: usize) -> Result<String, AppError> {
    if !dir.join("db").exists() && !dir.join("conf").exists() {
        return Ok(format!(
            "no job store in {} (nothing has run there yet)",
            dir.display()
        ));
    }
    let store = SledStore::open(dir)?;
    let mut out = Vec::new();
    let active = store.active()?;
    out.push(format!("{} active job(s)", active.len()));
    let finished: Vec<_> = store
        .recent(last.saturating_mul(4).max(last))?
        .into_iter()
        .filter(|j| j.state.is_terminal())
        .take(last)
        .collect();
    for j in active.iter().chain(finished.iter()) {
        let extra = match &j.state {
            crate::store::JobState::Failed { reason } => format!(" ({reason})"),
            crate::store::JobState::Running { step } => {
                format!(" at step {}/{}", step + 1, j.plan.len())
            }
            _ => String::new(),
        };
        out.push(format!(
            "#{:<6} {:<9} {}{extra} - {} by {} on {}",
            j.id,
            j.state.word(),
            j.kind.title(),
            j.command_text,
            j.requested_by.user,
            j.requested_by.platform
        ));
    }
    Ok(out.join("\n"))
}
