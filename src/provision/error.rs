//! Why a cluster job failed. `Display` is the chat message (secrets already redacted).

use crate::provision::exec::HostError;
use crate::store::StoreError;

/// Why a cluster step failed. `Display` is the chat message (secrets already redacted).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Some hosts failed; each is listed with its reason.
    #[error("{}", list_hosts(.0))]
    Hosts(Vec<HostError>),
    /// The preflight found problems (every host's, together).
    #[error("preflight found problems; nothing was changed:\n{}", .0.join("\n"))]
    Preflight(Vec<String>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job names a cluster the registry no longer holds.
    #[error(transparent)]
    UnknownCluster(#[from] crate::store::UnknownCluster),
    /// Anything else, already phrased for the room.
    #[error("{0}")]
    Other(String),
    /// `/cancel` stopped the step once every host's running script had finished.
    #[error("cancelled")]
    Cancelled,
    /// A shutdown stopped the step the same way; the job goes on from there on restart.
    #[error("interrupted by shutdown")]
    Interrupted,
}

fn list_hosts(errors: &[HostError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "{} hosts failed:\n{}",
            many.len(),
            many.iter()
                .map(|e| format!("- {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}
