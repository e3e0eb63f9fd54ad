//! Cluster provisioning over SSH. This part: the remote-execution seam ([`remote`]) and its
//! russh implementation ([`ssh`]); the phase engine builds on them.

pub mod remote;
pub mod ssh;
