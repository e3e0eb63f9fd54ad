//! The Kubernetes layer: FIWARE Generic Enablers as releases applied through the API.
//!
//! - [`catalogue`] and [`render`]: the GE catalogue (`deploy/ges/`) and its manifests.
//! - [`layer`]: settings, catalogue and API clients shared by jobs and queries.
//! - [`apply`]: namespaces, generated credentials, server-side apply, pruning, deletion.
//! - [`release`]: the revision ledger kept in the store; [`rollback`] picks a revision.
//! - [`rollout`], [`pods`] and [`wait`]: `kubectl rollout status` semantics, pod problems,
//!   and the watch that waits for a rollout.
//! - [`run`] (with `change`, `watch`, `remove`): the steps of GE jobs.
//! - [`query`]: read-only answers (`/ge catalog|list|history|status`).

pub mod apply;
pub mod catalogue;
pub mod catalogue_def;
mod catalogue_load;
mod change;
mod error;
pub mod layer;
pub mod pods;
pub mod precheck;
pub mod query;
pub mod release;
mod remove;
pub mod render;
pub mod rollback;
pub mod rollout;
pub mod run;
pub mod validate;
pub mod wait;
pub mod wait_eval;
mod watch;
pub mod workload;

pub use catalogue::Catalogue;
pub use catalogue_def::GeDef;
pub use error::KubeError;
pub use layer::KubeLayer;
pub use run::{GeRun, plan};
pub use workload::{WorkloadKind, WorkloadRef};
