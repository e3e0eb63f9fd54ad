//! `labkube jobs` and `labkube audit verify`: read straight off the store, with the bot stopped.

use std::path::Path;

use super::AppError;
use crate::store::audit_chain::Verdict;
use crate::store::{JobStore, SledStore};

/// `labkube audit verify`: the audit trail's hash chain checked from its anchor to its head;
/// the text says what was found, `true` when the chain holds.
pub fn verify_audit(dir: &Path) -> Result<(String, bool), AppError> {
    if !dir.join("db").exists() && !dir.join("conf").exists() {
        return Ok((
            format!(
                "no job store in {} (nothing has run there yet)",
                dir.display()
            ),
            true,
        ));
    }
    let verdict = SledStore::open(dir)?.audit_verify()?;
    let intact = matches!(verdict, Verdict::Intact { .. });
    Ok((verdict.to_string(), intact))
}

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
    let set_aside = store.quarantined()?;
    if !set_aside.is_empty() {
        out.push(format!(
            "{} record(s) did not decode and were set aside (kept in the quarantine tree):",
            set_aside.len()
        ));
        out.extend(set_aside.iter().map(|q| format!("  {q}")));
    }
    Ok(out.join("\n"))
}
