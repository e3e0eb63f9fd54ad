//! The config of a `labkube console` whose store is an [`EtcdCluster`]: for the tests and
//! benchmarks that run the real binary as one or more replicas.

use std::path::{Path, PathBuf};

use crate::etcd::EtcdCluster;

/// What to add to the config besides the store: lines in `[store]` (a replica's name, its
/// lease) and further sections after it (`store`), and lines in `[ssh]` (`ssh`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Extra<'a> {
    pub store: &'a str,
    pub ssh: &'a str,
}

/// Writes `dir/name`: short progress and shutdown waits, loopback hosts allowed, and the store
/// on `cluster`'s members with the sealing key `key` given inline (a test secret).
pub fn console_config(
    dir: &Path,
    cluster: &EtcdCluster,
    key: &str,
    name: &str,
    extra: Extra<'_>,
) -> PathBuf {
    let endpoints: Vec<String> = cluster
        .endpoints()
        .iter()
        .map(|e| format!("{e:?}"))
        .collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[limits]\nprogress_interval_ms = 250\nshutdown_grace_secs = 5\n\
             [ssh]\nallowed_networks = [\"127.0.0.0/8\"]\n{}\
             [store]\nbackend = \"etcd\"\nendpoints = [{}]\ntimeout_secs = 2\n\
             secret_key = {{ value = \"{key}\" }}\n{}",
            extra.ssh,
            endpoints.join(", "),
            extra.store
        ),
    )
    .expect("write the console's config");
    path
}
