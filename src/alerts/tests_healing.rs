//! Which replacements are told, and how.

use super::healing::{Healing, Summaries};
use super::incident::Subject;
use super::observe::PodSeen;

fn pod(name: &str, uid: &str, owner: &str, node: &str, ready: bool) -> PodSeen {
    PodSeen {
        namespace: "demo".into(),
        name: name.into(),
        uid: uid.into(),
        release: "orion".into(),
        owner: owner.into(),
        node: node.into(),
        ready,
        restarts: 0,
        problem: None,
        last_exit: None,
        evicted: None,
    }
}

#[test]
fn a_pod_lost_with_its_node_is_replaced_elsewhere_and_told_once() {
    let mut h = Healing::default();
    h.deleted(&pod("orion-a", "u1", "rs1", "n1", true), true, 1_000);
    // A pod of another controller becoming Ready is no replacement.
    assert!(
        h.changed(None, &pod("other-x", "u9", "rs2", "n2", true), 2_000)
            .is_none()
    );
    // The replacement is created, then becomes Ready.
    let created = pod("orion-b", "u2", "rs1", "n2", false);
    assert!(h.changed(None, &created, 3_000).is_none());
    let healed = h
        .changed(
            Some(&created),
            &pod("orion-b", "u2", "rs1", "n2", true),
            13_000,
        )
        .expect("replaced");
    assert_eq!(
        healed.line("lab-1"),
        "orion in demo on lab-1: pod orion-a went away with node n1; Kubernetes replaced it with orion-b on n2, Ready after 12 s"
    );
    // Already told: a later change of the same pod tells nothing.
    let ready = pod("orion-b", "u2", "rs1", "n2", true);
    assert!(h.changed(Some(&ready), &ready, 14_000).is_none());
}

#[test]
fn a_stateful_pod_comes_back_under_its_name_and_a_scale_down_is_forgotten() {
    let mut h = Healing::default();
    h.deleted(&pod("mongodb-0", "u1", "sts1", "n1", true), false, 0);
    let again = pod("mongodb-0", "u2", "sts1", "n1", true);
    let healed = h.changed(None, &again, 4_000).expect("replaced");
    assert_eq!(
        healed.line("lab-1"),
        "orion in demo on lab-1: pod mongodb-0 was deleted; Kubernetes replaced it with a new pod of the same name on n1, Ready after 4 s"
    );

    h.deleted(&pod("orion-c", "u3", "rs1", "n1", true), false, 0);
    h.expire(super::healing::FORGET_AFTER_MS);
    assert!(
        h.changed(
            None,
            &pod("orion-d", "u4", "rs1", "n1", true),
            super::healing::FORGET_AFTER_MS + 1
        )
        .is_none()
    );
}

#[test]
fn a_summary_counts_a_release_replacements_within_its_window() {
    let mut h = Healing::default();
    let mut summaries = Summaries::default();
    let subject = Subject::Release {
        namespace: "demo".into(),
        release: "orion".into(),
    };
    for (i, lost) in [(1, false), (2, true), (3, false)] {
        h.deleted(
            &pod(&format!("orion-{i}"), &format!("old{i}"), "rs1", "n1", true),
            lost,
            i * 1_000,
        );
        let healed = h
            .changed(
                None,
                &pod(
                    &format!("orion-n{i}"),
                    &format!("new{i}"),
                    "rs1",
                    "n2",
                    true,
                ),
                i * 1_000 + i * 2_000,
            )
            .unwrap();
        summaries.add(&healed, i * 3_000);
    }
    let s = summaries.add(
        &super::healing::Healed {
            subject: subject.clone(),
            pod: "orion-4".into(),
            replacement: "orion-n4".into(),
            lost_node: None,
            node: "n2".into(),
            after_ms: 1_000,
        },
        60_000,
    );
    assert_eq!(
        s.text(&subject, "lab-1", 243_000),
        "orion in demo on lab-1: Kubernetes replaced 4 pods in 4 min (1 lost with their node), the slowest Ready after 6 s"
    );
}
