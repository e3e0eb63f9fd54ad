//! An HTTP-level fake Kubernetes API server for the tests.
//!
//! It speaks the real REST API (paths, verbs, `Status` errors, list/watch with resource versions,
//! server-side apply, merge patches, cascading deletes) closely enough that the real kube-rs client
//! and kube-runtime's `watcher` work against it, and it runs small deterministic controllers
//! (Deployment/ReplicaSet, StatefulSet, DaemonSet, a fake kubelet, namespace deletion) so rollouts
//! progress, fail and time out the way `kubectl rollout status` observes them on a real cluster.
//! New pods pass the LimitRanger and ResourceQuota admission plugins, and a controller whose pod
//! is refused says so in its events and conditions ([`FakeKube::events_about`],
//! [`FakeKube::condition`]).
//!
//! With [`FakeOptions::tls`] it speaks TLS with client-certificate authentication like a
//! kubeadm API server ([`pki`]), and its kubeconfig is kubeadm's `admin.conf`.
//!
//! Start one with [`FakeKube::start`], point a client at [`FakeKube::kubeconfig_yaml`], drive
//! failures through image tags (`broken`, `crash`, `badconfig`, `slow`) or
//! [`FakeKube::fail_image`], and inspect what happened with [`FakeKube::requests`] and
//! [`FakeKube::object`]. With [`FakeOptions::controllers`] off nothing moves by itself, and a
//! test scripts the states it wants with [`FakeKube::put`]. The simplifications against the real
//! server are listed in `README.md` next to this file.

mod admission;
mod apply;
mod auth;
mod cluster;
mod controllers;
mod defaults;
mod delete;
mod discovery;
mod errors;
mod events;
mod gc;
mod handle;
mod handlers;
mod inspect;
mod limits;
mod listener;
mod logs;
mod merge;
mod meta;
pub mod pki;
mod quantity;
mod quota;
mod rbac;
mod resources;
mod scripted;
mod selectors;
mod server;
mod store;
mod watch;

#[cfg(test)]
mod tests;

pub use cluster::{CONTROL_PLANE_NODE, CONTROL_PLANE_TAINT, FakeStorage, LOCAL_PATH_PROVISIONER};
pub use handle::{FakeKube, FakeOptions, RequestRecord};
pub use scripted::crash_looping_pod;
