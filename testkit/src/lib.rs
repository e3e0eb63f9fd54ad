#![allow(clippy::unwrap_used, clippy::expect_used)]
// matrix-sdk's sync future is deep enough to need more than the default 128 to prove `Send`.
#![recursion_limit = "256"]
//! labkube's test kit: the harness shared by the integration tests (`tests/it`, scenarios only)
//! and the benchmarks (`benches/`). Not part of the product; never published.
//!
//! - [`fakekube`]: an HTTP-level fake Kubernetes API server with controllers (its own test suite
//!   runs as this crate's unit tests).
//! - [`host_keys`]: SSH host keys pinned in memory.
//! - Real peers started per test on loopback: [`sshd`] (OpenSSH hosts), [`synapse`] (a Matrix
//!   homeserver), [`tgapi`] (the Telegram Bot API emulator), [`etcd`] (a multi-member etcd
//!   cluster).
//! - [`support`]: the `labkube` binary as a child ([`support::Daemon`], [`support::Bot`]), a
//!   recording chat, job helpers, [`support::LogOnPanic`]; [`recording_sink`] records job
//!   progress events.
//! - [`conformance`]: the chat conformance suite every adapter passes, and its test users.
//! - [`memory_store`]: the job store contract in memory (tests, benchmarks' baseline);
//!   [`faulty_store`] wraps it with injected failures, panics and failed disk syncs.
//! - [`ge_rig`]: the in-process bot against [`fakekube`] for GE scenarios.
//! - [`batch`]: any list of scripts on a set of hosts through the provisioning fan-out.
//! - [`lab`]: fake hosts (directories standing in for `/`) for the provisioning step scripts.
//! - Benchmarks: [`ansible`] (`ansible-playbook` as the peer), [`stats`] (median, mean, percentiles), [`report`] (latency tables),
//!   [`memory`] (resident memory of a process), [`tguser`] (a person in a Telegram group).

pub mod ansible;
pub mod batch;
pub mod conformance;
pub mod console_lab;
pub mod etcd;
pub mod etcd_console;
pub mod fakekube;
pub mod faulty_store;
pub mod ge_rig;
pub mod host_keys;
pub mod http;
pub mod lab;
pub mod memory;
pub mod memory_store;
pub mod recording_sink;
pub mod report;
pub mod sshd;
pub mod stats;
pub mod support;
pub mod synapse;
pub mod tgapi;
pub mod tguser;

/// The labkube checkout (the workspace root): where `tests/`, `scripts/` and `docs/` are.
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
