//! The Kubernetes layer: FIWARE Generic Enablers as releases applied through the API.
//!
//! - [`catalogue`]: the GE catalogue (`deploy/ges/`), its loader, its manifest policy and the
//!   renderer of its templates.
//! - [`layer`]: settings, catalogue and API clients shared by jobs and queries; `client` wraps
//!   one cluster's API (namespaces, generated credentials, server-side apply, pruning,
//!   deletion).
//! - [`release`]: the revision ledger kept in the store; `rollback` picks a revision;
//!   [`precheck`]: whether a change can be done, asked by the dispatcher and by the job.
//! - `status`: `kubectl rollout status` semantics, pod problems, workload references;
//!   [`watch`]: the watch that waits for a rollout and decides when it is done or failed.
//! - `job`: the GE job and its steps (`apply` for dependencies and the new revision,
//!   `rollout`, `uninstall`).
//! - [`logs`] and [`events`]: `/ge logs` (the tail of a pod's logs, secrets masked) and
//!   `/ge events` (what Kubernetes recorded about the release).
//! - [`query`]: read-only answers (`/ge catalog|list|history|status`); [`nodes`]: a
//!   cluster's nodes as its API server sees them now (`/cluster status|list`).
//! - [`kubeconfig`]: a created cluster's admin credentials as data (CA, client certificate
//!   and key, server rebuilt from the typed address), sanitised on the way in and when read
//!   back from the store.
//! - [`credentials`]: the `secret` install parameters, written into the GE's Secret before
//!   queueing.
//! - [`autoscale`]: `/ge autoscale`'s HorizontalPodAutoscaler, how a revision is shaped for
//!   it and how the replica count is handed over to it.
//! - [`access`]: `/kubeconfig`: a user's own ServiceAccount, bound to `view`/`edit` in a
//!   namespace (or `cluster-admin`), a short-lived token, a kubeconfig without the bot's
//!   credentials; revoking and listing who holds access.
//! - [`namespace`]: `/ns`: a room's own namespaces, with a LimitRange of default requests and
//!   a ResourceQuota.
//! - [`storage`]: whether a cluster can hold a GE's data (its default StorageClass); `cpu`:
//!   whether its CPUs can run it (AVX).

pub mod access;
pub mod autoscale;
pub mod catalogue;
mod client;
mod cpu;
pub mod credentials;
mod error;
pub mod etcd;
pub mod events;
mod job;
pub mod kubeconfig;
pub mod layer;
pub mod logs;
pub mod namespace;
pub mod nodes;
mod owned;
pub mod precheck;
pub mod query;
pub mod release;
mod rollback;
mod stamp;
mod status;
pub mod storage;
pub mod watch;

pub use catalogue::Catalogue;
pub use catalogue::def::GeDef;
pub use error::KubeError;
pub use job::{GeRun, plan};
pub use layer::KubeLayer;
pub use stamp::ANNOTATION_REVISION;
pub use status::pods::{PodProblem, UNSCHEDULABLE, pod_problem};
pub use status::workload::{WorkloadKind, WorkloadRef};
