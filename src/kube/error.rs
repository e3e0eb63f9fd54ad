//! The Kubernetes layer's errors. `Display` is shown in chat: it names the problem and what to
//! do, and never carries kubeconfig content, tokens or generated credentials.

use crate::store::StoreError;

use crate::kube::release::ReleaseError;

/// What can go wrong talking to a cluster or keeping releases.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No such cluster in the config or the registry.
    #[error(transparent)]
    UnknownCluster(#[from] crate::store::UnknownCluster),
    /// The cluster's kubeconfig is missing or broken.
    #[error("cannot use the kubeconfig of cluster {cluster}: {reason}")]
    Kubeconfig {
        /// Cluster name.
        cluster: String,
        /// What is wrong (no content of the file).
        reason: String,
    },
    /// The API server did not answer in time.
    #[error("the API server of cluster {cluster} did not answer within {secs} s while {doing}")]
    Timeout {
        /// Cluster name.
        cluster: String,
        /// Seconds waited.
        secs: u64,
        /// What was being done.
        doing: String,
    },
    /// The API server answered with an error, or could not be reached.
    #[error("{doing} on cluster {cluster} failed: {reason}")]
    Api {
        /// Cluster name.
        cluster: String,
        /// What was being done.
        doing: String,
        /// The API's message (or the connection error).
        reason: String,
    },
    /// The catalogue refused the request (bounds, unknown GE).
    #[error("{0}")]
    Catalogue(String),
    /// A rule of releases was broken (not installed, nothing to roll back to…).
    #[error("{0}")]
    Refused(String),
    /// The rollout did not complete.
    #[error("{0}")]
    Rollout(String),
    /// `/cancel` stopped the step; the job's summary says where things stand.
    #[error("cancelled")]
    Cancelled,
    /// The job was interrupted by a shutdown; it resumes on restart.
    #[error("interrupted by shutdown")]
    Interrupted,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The release ledger failed.
    #[error(transparent)]
    Release(#[from] ReleaseError),
}

impl KubeError {
    /// Wraps a kube-rs error with what was being done. Connection failures read as such.
    pub fn api(cluster: &str, doing: impl Into<String>, e: kube::Error) -> KubeError {
        let reason = match &e {
            kube::Error::Api(s) => s.message.clone(),
            other => {
                let mut text = other.to_string();
                let mut source = std::error::Error::source(other);
                while let Some(s) = source {
                    let t = s.to_string();
                    if !text.contains(&t) {
                        text.push_str(": ");
                        text.push_str(&t);
                    }
                    source = s.source();
                }
                text
            }
        };
        KubeError::Api {
            cluster: cluster.into(),
            doing: doing.into(),
            reason,
        }
    }
}
