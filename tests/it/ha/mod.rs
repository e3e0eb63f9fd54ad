//! The bot on a shared store: `[store] backend = "etcd"` on a real 3-member etcd cluster
//! started by the tests.

mod etcd_backend;
mod failover;
mod failover_create;
mod migrate;
mod readiness;
