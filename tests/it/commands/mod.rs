//! The provisioning step scripts of `commands/`: OS detection, the folder's layout and rules,
//! and the scripts themselves run on fake hosts with recording stand-ins (`labkube_testkit::lab`,
//! `tests/stand-ins/lib/standin.sh`).

mod containerd;
mod create;
mod detached;
mod dual_stack;
mod facts;
mod failures;
mod metrics;
mod nodes;
mod os_release;
mod reset;
mod sandbox;
mod scripts;
mod storage;
