//! install_storage: local-path-provisioner as the default StorageClass, on a cluster that
//! has nowhere to run it yet, one that already has a default class, and a one-host cluster.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::calls::{Call, mutating};
use labkube_testkit::lab::hosts::Flavour;

fn has(call: &Call, arg: &str) -> bool {
    call.iter().any(|a| a == arg)
}

#[test]
fn storage_waits_for_a_node_its_provisioner_can_run_on() {
    // Two hosts, the worker not yet joined: the provisioner has nowhere to run (the control
    // plane keeps kubeadm's taint), so the step fails with kubectl's own words.
    let lab = Lab::new(&[("cp1", Flavour::Ubuntu), ("w1", Flavour::Ubuntu)]);
    for step in [
        "prepare_host",
        "install_containerd",
        "install_kube",
        "kubeadm_init",
        "install_flannel",
    ] {
        lab.must(0, step, &[]);
    }
    let run = lab.step(0, "install_storage", &[]);
    assert!(!run.ok(), "{run}");
    assert!(
        run.stderr.contains("timed out waiting for the condition"),
        "{run}"
    );
    // Marked default on the way all the same, so a later run only waits.
    let classes = std::fs::read_to_string(lab.cluster.join("default-class/local-path"));
    assert_eq!(classes.unwrap(), "true");
}

#[test]
fn a_default_class_already_there_stays_the_default() {
    let lab = Lab::ready_for(Flavour::Ubuntu, "install_storage");
    std::fs::create_dir_all(lab.cluster.join("default-class")).unwrap();
    std::fs::write(
        lab.cluster.join("applied/nfs.yaml"),
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: nfs\nprovisioner: nfs.csi.k8s.io\n",
    )
    .unwrap();
    std::fs::write(lab.cluster.join("default-class/nfs"), "true").unwrap();
    let run = lab.must(0, "install_storage", &[]);
    assert!(
        run.stdout
            .contains("keeping nfs as the default StorageClass"),
        "{run}"
    );
    assert!(!lab.cluster.join("default-class/local-path").exists());
}

#[test]
fn a_one_host_cluster_runs_its_workloads_on_the_control_plane() {
    let lab = Lab::ready_for(Flavour::Debian, "install_storage");
    let run = lab.must(0, "install_storage", &[]);
    assert!(
        run.stdout
            .contains("deployment \"local-path-provisioner\" successfully rolled out"),
        "{run}"
    );
    let taints: Vec<Call> = lab
        .calls(0)
        .into_iter()
        .filter(|c| c[0] == "kubectl" && has(c, "taint"))
        .collect();
    assert_eq!(taints.len(), 1, "the taint is removed once: {taints:?}");
    // Run again, nothing changes.
    lab.take_calls(0);
    lab.must(0, "kubeadm_init", &[]);
    let quiet = lab.must(0, "install_storage", &[]);
    assert!(quiet.stdout.contains("already installed"), "{quiet}");
    let changed = mutating(&lab.take_calls(0));
    assert!(changed.is_empty(), "{changed:?}");
}
