//! The real binary's console room over one declared cluster, `lab-1`, served by the fake API
//! server: for scenarios that SIGKILL the bot and start it again on the same data directory.

use std::path::PathBuf;
use std::time::Duration;

use crate::fakekube::{FakeKube, FakeOptions};

/// A fake API server on its own runtime, and a config and data directory for
/// `labkube console` (namespace `demo`, `lab-1` declared without an owner).
pub struct ConsoleLab {
    pub rt: tokio::runtime::Runtime,
    pub fake: FakeKube,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
}

impl ConsoleLab {
    /// Pods Ready after `ready_delay`; `extra` is appended to the config (TOML sections).
    pub fn start(ready_delay: Duration, extra: &str) -> ConsoleLab {
        Self::start_with(
            FakeOptions {
                ready_delay,
                ..FakeOptions::default()
            },
            extra,
        )
    }

    /// [`ConsoleLab::start`] over a fake started with `opts` (`tls: true` for one that takes
    /// bearer tokens from kubectl, as a real API server does only over TLS).
    pub fn start_with(opts: FakeOptions, extra: &str) -> ConsoleLab {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = rt.block_on(FakeKube::start(opts)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = fake.write_kubeconfig(dir.path()).unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[limits]\nprogress_interval_ms = 250\nshutdown_grace_secs = 5\n\
                 [kube]\nfailure_grace_secs = 1\nrollout_timeout_secs = 60\n\
                 [console]\nnamespace = \"demo\"\n\
                 [[clusters]]\nname = \"lab-1\"\nkubeconfig = {:?}\n{extra}",
                kubeconfig.display().to_string()
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        ConsoleLab {
            rt,
            fake,
            dir,
            config,
            data,
        }
    }
}
