#![allow(clippy::unwrap_used, clippy::expect_used)]
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
mod shutdown;
mod ssh;
mod sshd;
mod store_contract;
mod support;
mod telegram;
mod tgapi;
mod worker;
