#![allow(clippy::unwrap_used, clippy::expect_used)]
// matrix-sdk's sync future is deep enough to need more than the default 128 to prove `Send`.
#![recursion_limit = "256"]
//! The one integration-test binary: every module below runs against real things (the real
//! binary as a child process, real sled stores in temporary directories). Only scenarios live
//! here; the harness they share (fakes, peers, the conformance suite) is `labkube_testkit`.

mod access;
mod alerts;
mod audit_cli;
mod auth_table;
mod cluster;
mod cluster_status;
mod commands;
mod console;
mod crash;
mod crash_sweep;
mod data_dir;
mod deploy;
mod dispatch;
mod dispatch_claims;
mod dispatch_faults;
mod dispatch_upgrade;
mod docs;
mod ge;
mod ha;
mod kube_watch;
mod live_progress;
mod matrix;
mod metrics;
mod shutdown;
mod ssh;
mod store_contract;
mod telegram;
mod worker;
mod worker_faults;
