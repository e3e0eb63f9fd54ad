//! Cluster provisioning over SSH, modelled on k0sctl's phases but driving kubeadm: connect,
//! detect the OS, gather facts, preflight every host at once, then prepare hosts, install
//! containerd and the Kubernetes packages, initialise the control plane, install flannel and
//! Helm, join the workers, wait for Ready nodes, fetch the kubeconfig and register the cluster.
//!
//! - `flow`: the flows (create, plan, delete) as lists of [`crate::store::ClusterStep`]s, and
//!   [`ClusterRun`], which runs them step by step.
//! - [`exec`]: work on many hosts at once ([`exec::each`], public: the test kit runs its own
//!   script lists through it) and one step script on them: environment, sudo, retries,
//!   failure reports.
//! - [`remote`]: the seam ([`remote::RemoteExec`], [`remote::Connector`]); [`ssh`] is russh.
//! - [`os`], [`scripts`]: OS detection and the embedded `commands/` scripts; [`runs`]: the steps
//!   that run detached on the host, once per job, whatever the attempts.
//! - `settings`: what every cluster job shares (from the config); [`upgrade`]: the rules
//!   `/cluster upgrade`'s plan and job share.

mod error;
pub mod exec;
mod facts;
mod flow;
mod host;
pub mod os;
mod pins;
mod redact;
pub mod remote;
pub mod runs;
pub mod scripts;
mod settings;
pub mod ssh;
pub mod upgrade;
mod values;

pub use error::ProvisionError;
pub use facts::Facts;
pub use flow::{ClusterRun, plan};
pub(crate) use host::role;
pub use pins::StorePins;
pub use redact::redact;
pub use settings::{ConnectorFactory, Engine, Settings};
