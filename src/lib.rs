//! labkube: a chat-ops bot that lends Kubernetes to lab users. A user types
//! `/cluster create 10.0.0.1 10.0.0.2 10.0.0.3` or `/ge install orion ns=demo` in a Matrix,
//! Telegram or console room; the bot checks who may do it, stores a durable job, runs it, and
//! reports progress back in the room.
//!
//! # Layout
//! The flow reads straight off the modules: **chat → intake → command → auth → dispatch → jobs →
//! progress → chat**, with the store underneath.
//!
//! - [`config`]: the typed TOML config; every problem reported at once.
//! - [`chat`]: the [`chat::ChatAdapter`] seam, the console adapter, the live-progress sink.
//! - [`intake`]: what reaches the dispatcher: strangers ignored, rate limits, stale commands,
//!   and one lane per room so rooms never wait on each other.
//! - [`command`]: the one chat-neutral grammar, its help and its errors.
//! - [`auth`]: roles, rooms and cluster ownership; [`auth::authorize`] is pure.
//! - [`dispatch`]: from message to answer or durable job, with the audit trail.
//! - [`jobs`]: the worker (claim, run, checkpoint, cancel, resume) and job executors.
//! - [`provision`]: cluster creation over SSH (kubeadm), as phases over many hosts.
//! - [`kube`]: FIWARE Generic Enablers as releases applied through the Kubernetes API: the
//!   catalogue, server-side apply, rollout watching, the revision ledger and rollbacks.
//! - [`progress`]: progress events and the [`progress::ProgressSink`] seam.
//! - [`store`]: the sled database behind the [`store::JobStore`] trait.
//! - [`names`]: the syntax rules for names, versions, networks and user names, each once, as
//!   validated newtypes (a leaf: the grammar, the config and the Kubernetes layer use it).
//! - [`alerts`]: the clusters' incidents (crash loops, OOM kills, nodes NotReady, ...) told to
//!   their owning rooms, one message per incident, edited and closed.
//! - [`metrics`]: Prometheus metrics, `/healthz` and `/readyz` at `[metrics] listen`.
//! - [`app`]: wiring and graceful shutdown.
//!
//! See `docs/ARCHITECTURE.md` for the reasons behind the shape.

pub mod alerts;
pub mod app;
pub mod auth;
pub mod chat;
pub mod command;
pub mod config;
pub mod dispatch;
pub mod intake;
pub mod jobs;
pub mod kube;
pub mod metrics;
pub mod names;
pub mod progress;
pub mod provision;
pub mod store;
