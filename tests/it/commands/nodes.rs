//! The node removal steps on a lab cluster: a drain that cannot finish is undone, the checks
//! change nothing, and deleting a Node twice is not an error.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::calls::mutating;
use labkube_testkit::lab::hosts::Flavour;

fn last_field(lab: &Lab, node: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(lab.cluster.join("nodes").join(node)).ok()?;
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .next_back()
        .map(str::to_string)
}

#[test]
fn a_drain_that_cannot_finish_is_undone_and_the_check_saw_it_coming() {
    let lab = Lab::cluster_of(Flavour::Debian);
    lab.create();
    std::fs::write(lab.cluster.join("pdb-blocked"), "w1\n").unwrap();
    lab.take_calls(0);

    let check = lab.step(
        0,
        "removal_check",
        &[("NODE", "w1"), ("CONTROL_PLANE", "no")],
    );
    assert_eq!(check.status, Some(1), "{check}");
    assert!(
        check.stderr.contains("draining w1 would not finish")
            && check
                .stderr
                .contains("would violate the pod's disruption budget"),
        "{check}"
    );
    assert!(
        mutating(&lab.take_calls(0)).is_empty(),
        "the check changes nothing"
    );
    assert_eq!(last_field(&lab, "w1", "cordoned"), None);

    let drain = lab.step(0, "drain_node", &[("NODE", "w1")]);
    assert_eq!(drain.status, Some(1), "{drain}");
    assert!(
        drain
            .stderr
            .contains("it was uncordoned and serves as before"),
        "{drain}"
    );
    assert_eq!(last_field(&lab, "w1", "cordoned").as_deref(), Some("no"));

    std::fs::remove_file(lab.cluster.join("pdb-blocked")).unwrap();
    lab.must(
        0,
        "removal_check",
        &[("NODE", "w1"), ("CONTROL_PLANE", "no")],
    );
    lab.must(0, "drain_node", &[("NODE", "w1")]);
    assert_eq!(last_field(&lab, "w1", "cordoned").as_deref(), Some("yes"));
    let deleted = lab.must(0, "delete_node", &[("NODE", "w1")]);
    assert!(deleted.stdout.contains("node \"w1\" deleted"), "{deleted}");
    assert!(!lab.cluster.join("nodes/w1").exists());
    // Gone already: the steps skip it, and deleting again is no error.
    let again = lab.must(0, "delete_node", &[("NODE", "w1")]);
    assert!(again.stdout.trim().is_empty(), "{again}");
    let drain = lab.must(0, "drain_node", &[("NODE", "w1")]);
    assert!(drain.stdout.contains("nothing to drain"), "{drain}");
}

#[test]
fn the_only_etcd_member_is_never_checked_out() {
    let lab = Lab::cluster_of(Flavour::Ubuntu);
    lab.create();
    let check = lab.step(
        0,
        "removal_check",
        &[("NODE", "cp1"), ("CONTROL_PLANE", "yes")],
    );
    assert_eq!(check.status, Some(1), "{check}");
    assert!(
        check
            .stderr
            .contains("cp1 runs the only etcd member: removing it ends the cluster"),
        "{check}"
    );
    for (step, env, message) in [
        (
            "removal_check",
            vec![("NODE", "w1;reboot"), ("CONTROL_PLANE", "no")],
            "NODE must be a node name",
        ),
        (
            "removal_check",
            vec![("NODE", "w1"), ("CONTROL_PLANE", "maybe")],
            "CONTROL_PLANE must be yes or no",
        ),
        ("drain_node", vec![("NODE", "")], "NODE must be a node name"),
        (
            "delete_node",
            vec![("NODE", "W1")],
            "NODE must be a node name",
        ),
    ] {
        let run = lab.run(0, step, &env);
        assert_eq!(run.status, Some(1), "{run}");
        assert!(run.stderr.contains(message), "{run}");
    }
    let run = lab.run(1, "drain_node", &[("NODE", "w2")]);
    assert!(run.stderr.contains("this is not a control plane"), "{run}");
}
