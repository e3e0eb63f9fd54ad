//! Kubelet serving certificates from the cluster CA (serverTLSBootstrap, approve_csrs) and
//! metrics-server on top of them, without --kubelet-insecure-tls: the approvals a VM owner
//! must not be able to obtain for another node, and the steps' second runs.

use labkube_testkit::lab::calls::{Call, calls_of, mutating};
use labkube_testkit::lab::csr::Forged;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::lab::{Lab, METRICS_SERVER_VERSION};

const PATCH: &str = "/etc/kubernetes/patches/kubeletconfiguration+merge.yaml";

fn approvals(calls: &[Call]) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c[0] == "kubectl" && c.iter().any(|a| a == "approve"))
        .collect()
}

/// A one-host cluster up to (not including) approve_csrs: its kubelet's request is pending.
fn control_plane_waiting_for_its_certificate() -> Lab {
    let lab = Lab::ready_for(Flavour::Ubuntu, "install_storage");
    lab.must(0, "install_storage", &[]);
    lab
}

#[test]
fn every_kubelet_gets_a_ca_signed_certificate_and_metrics_server_runs() {
    let lab = Lab::cluster_of(Flavour::Rocky);
    let created = lab.create();
    for (i, host) in lab.hosts.iter().enumerate() {
        let patch = lab.read(i, PATCH).unwrap_or_default();
        assert!(patch.contains("\nserverTLSBootstrap: true\n"), "{patch:?}");
        let config = lab.read(i, "/var/lib/kubelet/config.yaml").unwrap();
        assert!(config.contains("serverTLSBootstrap: true"), "{config:?}");
        let calls = lab.calls(i);
        let kubeadm: Vec<&Call> = calls
            .iter()
            .filter(|c| c[0] == "kubeadm" && matches!(c[1].as_str(), "init" | "join"))
            .collect();
        assert_eq!(kubeadm.len(), 1, "{}: {kubeadm:?}", host.name);
        assert!(
            kubeadm[0]
                .iter()
                .any(|a| a == "--patches=/etc/kubernetes/patches"),
            "{kubeadm:?}"
        );
    }
    // One request per kubelet, each approved, on the control plane.
    let csrs = lab.csrs();
    assert_eq!(csrs.len(), 3, "{csrs:?}");
    assert!(csrs.iter().all(|(_, approved)| *approved), "{csrs:?}");
    assert_eq!(approvals(&lab.calls(0)).len(), 3);
    let approve = created.runs.iter().find(|r| r.step == "approve_csrs");
    let approve = approve.expect("approve_csrs ran");
    for name in ["cp1", "w1", "w2"] {
        assert!(
            approve
                .stdout
                .contains(&format!("approve_csrs: {name} now serves")),
            "{approve}"
        );
    }
    let url = format!(
        "https://github.com/kubernetes-sigs/metrics-server/releases/download/{METRICS_SERVER_VERSION}/components.yaml"
    );
    let calls = lab.calls(0);
    assert!(
        calls_of(&calls, "curl", "")
            .iter()
            .any(|c| c.last() == Some(&url)),
        "{calls:?}"
    );
    let metrics = created
        .runs
        .iter()
        .find(|r| r.step == "install_metrics_server");
    let metrics = metrics.expect("install_metrics_server ran");
    assert!(
        metrics
            .stdout
            .contains("apiservice.apiregistration.k8s.io/v1beta1.metrics.k8s.io created"),
        "{metrics}"
    );
    assert!(
        metrics
            .stdout
            .contains("deployment \"metrics-server\" successfully rolled out"),
        "{metrics}"
    );

    // Again: every kubelet already serves its certificate; nothing is approved or applied.
    lab.clear_calls();
    let again = lab.must(0, "approve_csrs", &[]);
    assert!(again.stdout.contains("w2 already serves"), "{again}");
    let quiet = lab.must(0, "install_metrics_server", &[]);
    assert!(quiet.stdout.contains("already installed"), "{quiet}");
    let changed = mutating(&lab.take_calls(0));
    assert!(changed.is_empty(), "{changed:?}");
}

#[test]
fn metrics_server_does_not_come_up_while_kubelets_sign_their_own_certificates() {
    let lab = control_plane_waiting_for_its_certificate();
    let run = lab.step(0, "install_metrics_server", &[]);
    assert!(!run.ok(), "{run}");
    assert!(
        run.stderr.contains("timed out waiting for the condition"),
        "{run}"
    );
}

#[test]
fn requests_for_names_that_are_not_the_nodes_own_are_not_approved() {
    let lab = control_plane_waiting_for_its_certificate();
    let cp = "/O=system:nodes/CN=system:node:cp1";
    for forged in [
        // Its own node's credentials, another host's address.
        Forged {
            name: "csr-foreign-ip",
            username: "system:node:cp1",
            subject: cp,
            san: "DNS:cp1,IP:10.0.0.99",
        },
        // A name that is not the node's (a service a VM owner would like to impersonate).
        Forged {
            name: "csr-foreign-dns",
            username: "system:node:cp1",
            subject: cp,
            san: "DNS:cp1,DNS:api.example.org,IP:10.0.0.1",
        },
        // Someone who is not a node of this cluster.
        Forged {
            name: "csr-stranger",
            username: "system:node:intruder",
            subject: "/O=system:nodes/CN=system:node:intruder",
            san: "DNS:intruder",
        },
        // A node asking in another node's name.
        Forged {
            name: "csr-other-cn",
            username: "system:node:cp1",
            subject: "/O=system:nodes/CN=system:node:w9",
            san: "DNS:cp1",
        },
    ] {
        lab.forge_csr(forged);
    }
    let run = lab.must(0, "approve_csrs", &[("CSR_WAIT_SECS", "30")]);
    for (name, why) in [
        (
            "csr-foreign-ip",
            "it asks for IP Address:10.0.0.99, which node cp1 (10.0.0.1) is not",
        ),
        (
            "csr-foreign-dns",
            "it asks for DNS:api.example.org, which node cp1 (10.0.0.1) is not",
        ),
        (
            "csr-stranger",
            "requested by system:node:intruder, not by a node of this cluster",
        ),
        (
            "csr-other-cn",
            "its subject is 'CN=system:node:w9,O=system:nodes', not CN=system:node:cp1,O=system:nodes",
        ),
    ] {
        assert!(
            run.stdout
                .contains(&format!("approve_csrs: not approving {name}: {why}")),
            "{run}"
        );
    }
    // Only the kubelet's own request was approved.
    let approved: Vec<String> = lab
        .csrs()
        .into_iter()
        .filter(|(_, approved)| *approved)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert!(!approved[0].starts_with("csr-foreign"), "{approved:?}");
    assert_eq!(approvals(&lab.calls(0)).len(), 1);
}

#[test]
fn a_node_with_only_a_foreign_request_gets_no_certificate_and_the_step_says_so() {
    let lab = control_plane_waiting_for_its_certificate();
    std::fs::remove_dir_all(lab.cluster.join("csr")).unwrap();
    lab.forge_csr(Forged {
        name: "csr-foreign-ip",
        username: "system:node:cp1",
        subject: "/O=system:nodes/CN=system:node:cp1",
        san: "DNS:cp1,IP:10.0.0.99",
    });
    let run = lab.step(0, "approve_csrs", &[("CSR_WAIT_SECS", "0")]);
    assert!(!run.ok(), "{run}");
    assert!(
        run.stderr.contains(
            "after 0 s these nodes still serve no certificate signed by the cluster CA: cp1"
        ),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("Requests not approved: not approving csr-foreign-ip: it asks for"),
        "{run}"
    );
    assert!(approvals(&lab.calls(0)).is_empty());
}

#[test]
fn without_openssl_nothing_is_approved() {
    let lab = control_plane_waiting_for_its_certificate();
    lab.write(0, "/.standin/no-openssl", "");
    let run = lab.step(0, "approve_csrs", &[]);
    assert!(!run.ok(), "{run}");
    assert!(
        run.stderr
            .contains("approve_csrs: openssl is not installed on the control plane"),
        "{run}"
    );
    assert!(approvals(&lab.calls(0)).is_empty());
    assert!(lab.csrs().iter().all(|(_, approved)| !approved));
}

#[test]
fn kubectl_refuses_to_approve_a_request_that_does_not_exist() {
    let lab = control_plane_waiting_for_its_certificate();
    let run = lab.run_script(
        0,
        "kubectl --kubeconfig \"$LABKUBE_ROOT/etc/kubernetes/admin.conf\" certificate approve x\n",
        &[],
    );
    assert_eq!(run.status, Some(1), "{run}");
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): certificatesigningrequests.certificates.k8s.io \"x\" not found\n"
    );
}

#[test]
fn kubeadm_refuses_a_patches_directory_that_does_not_exist() {
    let lab = Lab::ready_for(Flavour::Debian, "kubeadm_init");
    let run = lab.run_script(
        0,
        "kubeadm init --kubernetes-version=v1.35.5 --patches=/etc/kubernetes/nowhere\n",
        &[],
    );
    assert_eq!(run.status, Some(1), "{run}");
    assert!(
        run.stderr.contains(
            "could not list patch files for path \"/etc/kubernetes/nowhere\": lstat /etc/kubernetes/nowhere: no such file or directory"
        ),
        "{run}"
    );
}

#[test]
fn a_cluster_made_before_serving_certificates_gets_them_on_the_next_create() {
    let lab = Lab::new(&[("cp1", Flavour::Debian), ("w1", Flavour::Rocky)]);
    lab.create();
    // As an earlier labkube left it: no patch, kubelets that sign their own certificates.
    for i in 0..2 {
        std::fs::remove_file(lab.path(i, PATCH)).unwrap();
        let config = lab.read(i, "/var/lib/kubelet/config.yaml").unwrap();
        lab.write(
            i,
            "/var/lib/kubelet/config.yaml",
            &config.replace("serverTLSBootstrap: true\n", ""),
        );
    }
    std::fs::remove_dir_all(lab.cluster.join("csr")).unwrap();
    std::fs::remove_dir_all(lab.cluster.join("serving")).unwrap();

    let again = lab.create();
    for (i, step) in [(0, "kubeadm_init"), (1, "kubeadm_join")] {
        let run = again.runs.iter().find(|r| r.step == step).unwrap();
        assert!(
            run.stdout
                .contains(&format!("{step}: serverTLSBootstrap turned on")),
            "{run}"
        );
        let config = lab.read(i, "/var/lib/kubelet/config.yaml").unwrap();
        assert!(
            config.ends_with("\nserverTLSBootstrap: true\n"),
            "{config:?}"
        );
        assert!(lab.read(i, PATCH).is_some());
    }
    let csrs = lab.csrs();
    assert_eq!(csrs.len(), 2, "{csrs:?}");
    assert!(csrs.iter().all(|(_, approved)| *approved), "{csrs:?}");

    // And the third run restarts nothing.
    lab.clear_calls();
    lab.create();
    for i in 0..2 {
        let calls = lab.take_calls(i);
        assert!(
            !calls
                .iter()
                .any(|c| c.join(" ") == "systemctl restart kubelet"),
            "{calls:?}"
        );
    }
}
