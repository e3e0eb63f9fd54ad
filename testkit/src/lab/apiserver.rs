//! The API server of a lab's control plane: the fake API server listening where kubeadm's
//! would, on the control plane's own address, port 6443, over TLS with a CA of the lab's own
//! and client-certificate authentication, as kubeadm sets it up. The stand-in `kubeadm init`
//! writes its kubeconfig (kubeadm's `admin.conf`: CA, `kubernetes-admin` client certificate
//! and key) as `admin.conf` when the lab has one (`LABKUBE_STANDIN_CLUSTER/apiserver.kubeconfig`),
//! so the bot that created the cluster manages it through the same file, as on a real lab.
//!
//! It runs on a runtime of its own thread, so sync test set-up can start it inside or
//! outside a tokio runtime; it stops when dropped.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use crate::fakekube::pki::{ADMIN_GROUP, ADMIN_USER, Pki};
use crate::fakekube::{FakeKube, FakeOptions};

/// Port of kubeadm's API server.
pub const API_PORT: u16 = 6443;
/// The file in the stand-in cluster directory the stand-in `kubeadm init` copies to `admin.conf`.
pub const KUBECONFIG_FILE: &str = "apiserver.kubeconfig";

/// A running lab API server.
pub struct LabApi {
    /// The fake API server (its handle works from any runtime).
    pub fake: Arc<FakeKube>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LabApi {
    /// Starts the fake on `ip:6443` with `opts` and writes its kubeconfig into `cluster_dir`.
    pub fn start(ip: IpAddr, cluster_dir: &Path, opts: FakeOptions) -> LabApi {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let opts = FakeOptions {
                    bind: Some(SocketAddr::new(ip, API_PORT)),
                    tls: true,
                    ..opts
                };
                let fake = Arc::new(FakeKube::start(opts).await.unwrap());
                tx.send(fake.clone()).unwrap();
                // Dropping the runtime after this ends the server and its controllers.
                let _ = stopped.await;
            });
        });
        let fake = rx.recv().expect("the lab API server starts");
        std::fs::write(cluster_dir.join(KUBECONFIG_FILE), fake.kubeconfig_yaml()).unwrap();
        LabApi {
            fake,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// Writes the `admin.conf` a control plane at `ip` would have (a CA and a client certificate
/// of its own) with no API server answering there: a lab whose port 6443 the bot cannot reach.
pub fn write_unserved_kubeconfig(ip: IpAddr, cluster_dir: &Path) {
    let pki = Pki::new(ip);
    let admin = pki.issue(ADMIN_USER, &[ADMIN_GROUP]);
    let conf = pki.admin_conf(SocketAddr::new(ip, API_PORT), &admin);
    std::fs::write(cluster_dir.join(KUBECONFIG_FILE), conf).unwrap();
}

impl Drop for LabApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
