#![allow(clippy::unwrap_used, clippy::expect_used)]
// matrix-sdk's sync future is deep enough to need more than the default 128 to prove `Send`.
#![recursion_limit = "256"]
//! The one integration-test binary: every module below runs against real things (the real
//! binary as a child process, real sled stores in temporary directories).

mod auth_table;
mod cluster;
mod commands;
mod conformance;
mod console;
mod crash;
mod dispatch;
mod docs;
mod fakekube;
mod ge;
mod live_progress;
mod matrix;
mod shutdown;
mod ssh;
mod sshd;
mod store_contract;
mod support;
mod synapse;
mod telegram;
mod tgapi;
mod worker;
