//! One host of a cluster job and what is known about it so far.

use std::sync::Arc;

use super::facts::Facts;
use super::os::OsInfo;
use super::remote::{RemoteExec, Target};

/// `control-plane` or `worker`.
pub(crate) fn role(control_plane: bool) -> &'static str {
    if control_plane {
        "control-plane"
    } else {
        "worker"
    }
}

/// One host of the job and what is known about it so far.
pub(crate) struct Host {
    pub(crate) target: Target,
    pub(crate) control_plane: bool,
    /// This job sets it up (every host of a create; the new hosts of a node add): the
    /// per-host installation steps run on it.
    pub(crate) provision: bool,
    /// It leaves the cluster in this job (`/node remove`).
    pub(crate) leaving: bool,
    pub(crate) conn: Option<Arc<dyn RemoteExec>>,
    pub(crate) os: Option<OsInfo>,
    pub(crate) facts: Option<Facts>,
}

impl Host {
    /// A host not contacted yet.
    pub(crate) fn new(target: Target, control_plane: bool, provision: bool) -> Host {
        Host {
            target,
            control_plane,
            provision,
            leaving: false,
            conn: None,
            os: None,
            facts: None,
        }
    }
}

/// Drops a leading `host: ` from an error that names its host, since the table does too.
pub(crate) fn strip_host(text: &str, target: &Target) -> String {
    text.strip_prefix(&format!("{target}: "))
        .unwrap_or(text)
        .to_string()
}
