//! The provisioning step scripts of `commands/`: OS detection, the folder's layout and rules,
//! and the scripts themselves run on fake hosts with recording stand-ins (`lab.rs`,
//! `tests/stand-ins/lib/standin.sh`).

pub(crate) mod calls;
mod create;
mod facts;
mod failures;
pub(crate) mod hosts;
pub(crate) mod lab;
mod os_release;
mod reset;
mod sandbox;
mod scripts;
