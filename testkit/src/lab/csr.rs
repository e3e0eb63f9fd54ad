//! Certificate signing requests in a lab's cluster (`tests/stand-ins/lib/csr.sh` reads them
//! under `<cluster>/csr/<name>/`): what a VM owner could submit with its node's credentials,
//! made with this machine's real openssl so the step under test reads a real request.

use std::process::Command;

use super::Lab;

/// A request to put in the cluster.
#[derive(Clone, Copy, Debug)]
pub struct Forged<'a> {
    /// The CSR object's name.
    pub name: &'a str,
    /// Who submitted it (`spec.username`), e.g. `system:node:cp1`.
    pub username: &'a str,
    /// The request's subject, e.g. `/O=system:nodes/CN=system:node:cp1`.
    pub subject: &'a str,
    /// Its subjectAltName, e.g. `DNS:cp1,IP:10.0.0.99`.
    pub san: &'a str,
}

impl Lab {
    /// Puts `csr`, a pending kubernetes.io/kubelet-serving request, into the cluster.
    pub fn forge_csr(&self, csr: Forged<'_>) {
        let dir = self.cluster.join("csr").join(csr.name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("signer"), "kubernetes.io/kubelet-serving\n").unwrap();
        std::fs::write(dir.join("username"), format!("{}\n", csr.username)).unwrap();
        let out = Command::new("openssl")
            .args(["req", "-new", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null"])
            .args(["-subj", csr.subject, "-addext"])
            .arg(format!("subjectAltName={}", csr.san))
            .arg("-out")
            .arg(dir.join("request.pem"))
            .output()
            .expect("the tests need this machine's openssl");
        assert!(out.status.success(), "{out:?}");
    }

    /// The CSRs of the cluster, by name, with whether each was approved.
    pub fn csrs(&self) -> Vec<(String, bool)> {
        let mut all: Vec<(String, bool)> = std::fs::read_dir(self.cluster.join("csr"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        (name, e.path().join("approved").exists())
                    })
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        all
    }
}
