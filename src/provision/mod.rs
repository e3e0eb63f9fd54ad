//! Cluster provisioning over SSH, modelled on k0sctl's phases but driving kubeadm: connect,
//! detect the OS, gather facts, preflight every host at once, then prepare hosts, install
//! containerd and the Kubernetes packages, initialise the control plane, install flannel and
//! Helm, join the workers, wait for Ready nodes, fetch the kubeconfig and register the cluster.
//!
//! - [`remote`]: the seam ([`remote::RemoteExec`], [`remote::Connector`]); [`ssh`] is russh.
//! - [`cluster`]: the flows (create, plan, delete) as step lists.
//! - [`run`]: one step on many hosts: script, environment, sudo, retries, failure reports.
//! - [`os`], [`scripts`]: OS detection and the embedded `commands/` scripts.

mod batch;
pub mod cluster;
mod engine;
mod facts;
mod fanout;
mod finish;
mod join;
mod nodes;
pub mod os;
mod pins;
mod preflight;
mod redact;
pub mod remote;
mod run;
pub mod scripts;
pub mod ssh;

pub use batch::{Batch, BatchError};
pub use cluster::{ClusterRun, ProvisionError, plan, room_key};
pub use engine::{ConnectorFactory, Engine, FLANNEL_VERSION, HELM_VERSION, Io, Settings};
pub use facts::Facts;
pub use pins::StorePins;
pub use redact::redact;
