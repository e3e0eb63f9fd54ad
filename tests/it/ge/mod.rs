//! GE releases end to end: the in-process bot drives the fake API server through kube-rs
//! (install with dependencies, upgrade, failed upgrade and automatic rollback, manual
//! rollback, scale, uninstall and purge, parallel installs, refusals), and the real binary is
//! SIGKILLed during a rollout watch.

mod autoscale;
mod cancel;
mod catalogue;
mod console_logs;
mod crash;
mod lifecycle;
mod looking;
mod ownership;
mod params;
mod refusals;
mod rollback;
mod storage;
