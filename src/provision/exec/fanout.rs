//! Running one piece of work on many hosts at once, bounded, with each host's state shown as it
//! goes and every host's failure collected (never just the first).

use std::future::Future;

use futures::StreamExt;

use crate::progress::JobIo;
use crate::store::{HostState, StoreError};

/// One host's failure in a step. `Display` starts with the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// Host as displayed.
    pub host: String,
    /// What went wrong, secrets redacted (may span lines: the output tail).
    pub reason: String,
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.host, self.reason)
    }
}

/// Result of a fan-out: per host index, its value; or every failure.
pub type Fanned<T> = Result<Vec<(usize, T)>, Vec<HostError>>;

/// One host's outcome: its index, and its value with a note for the table, or its failure.
type HostOutcome<T> = (usize, Result<(T, Option<String>), HostError>);

/// Runs `work(i)` for every index in `hosts`, at most `limit` at once. Each host is shown
/// running, then done (with the note the work returns) or failed (with the first line of its
/// reason). Store failures abort with an error.
pub async fn each<T, F, Fut>(
    io: &JobIo,
    hosts: &[(usize, String)],
    limit: usize,
    work: F,
) -> Result<Fanned<T>, StoreError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(T, Option<String>), HostError>>,
{
    for (i, _) in hosts {
        io.host(*i, HostState::Waiting, None).await?;
    }
    // Owned indices: a closure over borrowed items trips the higher-ranked `Send` check when
    // the job's future is spawned.
    let indices: Vec<usize> = hosts.iter().map(|(i, _)| *i).collect();
    let work = &work;
    let results: Vec<HostOutcome<T>> = futures::stream::iter(indices)
        .map(|i| async move {
            if let Err(e) = io.host(i, HostState::Running, None).await {
                tracing::warn!(error = %e, "cannot record host progress");
            }
            (i, work(i).await)
        })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (i, r) in results {
        match r {
            Ok((value, note)) => {
                io.host(i, HostState::Done, note).await?;
                ok.push((i, value));
            }
            Err(e) => {
                let first = e.reason.lines().next().unwrap_or_default().to_string();
                io.host(i, HostState::Failed, Some(first)).await?;
                failed.push((i, e));
            }
        }
    }
    if failed.is_empty() {
        ok.sort_by_key(|(i, _)| *i);
        Ok(Ok(ok))
    } else {
        failed.sort_by_key(|(i, _)| *i);
        Ok(Err(failed.into_iter().map(|(_, e)| e).collect()))
    }
}
