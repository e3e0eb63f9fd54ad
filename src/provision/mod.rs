//! Cluster provisioning over SSH. So far: the remote-execution seam ([`remote`]) and its russh
//! implementation ([`ssh`]), OS detection ([`os`]) and the embedded step scripts of
//! `commands/` ([`scripts`]); the phase engine builds on them.

pub mod os;
pub mod remote;
pub mod scripts;
pub mod ssh;
