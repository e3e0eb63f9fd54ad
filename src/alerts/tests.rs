//! The rules (findings) and the life of incidents (tracker), without a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;

use super::findings::{Finding, Findings, Thresholds, find};
use super::incident::{Room, Subject};
use super::observe::PodSeen;
use super::state::{Change, ClusterState};
use super::tracker::{Action, Gate, Tracker};
use crate::kube::nodes::NodeView;

const T: Thresholds = Thresholds {
    restarts: 3,
    window_ms: 600_000,
    claim_pending_ms: 120_000,
    settle_ms: 120_000,
};

fn pod(
    name: &str,
    ready: bool,
    restarts: i32,
    waiting: Option<&str>,
    last: Option<(i32, &str)>,
) -> PodSeen {
    let mut cs = json!({
        "name": "main", "image": "quay.io/fiware/orion:4.1.0", "imageID": "", "ready": ready,
        "restartCount": restarts,
        "state": { "running": { "startedAt": "2026-01-01T00:00:00Z" } },
    });
    if let Some(reason) = waiting {
        cs["state"] = json!({ "waiting": { "reason": reason, "message": "it broke" } });
    }
    if let Some((code, reason)) = last {
        cs["lastState"] = json!({ "terminated": { "exitCode": code, "reason": reason } });
    }
    let pod: Pod = serde_json::from_value(json!({
        "metadata": { "name": name, "namespace": "demo",
            "labels": { "app.kubernetes.io/instance": "orion", "app.kubernetes.io/managed-by": "labkube" } },
        "spec": { "containers": [{ "name": "main" }], "nodeName": "n1" },
        "status": {
            "phase": "Running",
            "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" } }],
            "containerStatuses": [cs],
        },
    }))
    .unwrap();
    PodSeen::of(&pod)
}

fn listed(pods: Vec<PodSeen>) -> ClusterState {
    let mut st = ClusterState::default();
    st.pod(Change::Init, 0);
    for p in pods {
        st.pod(Change::InitItem(format!("demo/{}", p.name), p), 0);
    }
    st.pod(Change::InitDone, 0);
    st.deployments.apply(Change::Init);
    st.deployments.apply(Change::InitDone);
    st.claims.apply(Change::Init);
    st.claims.apply(Change::InitDone);
    st.nodes.apply(Change::Init);
    st.nodes.apply(Change::InitDone);
    st
}

fn lab() -> Option<Room> {
    Some(Room {
        platform: "t".into(),
        room: "lab".into(),
    })
}

/// A gate that lets everything through.
fn open_gate() -> Gate<'static> {
    Gate {
        trusted: true,
        busy: &|_| false,
        silenced: &|_| false,
        room: lab(),
    }
}

fn orion() -> Subject {
    Subject::Release {
        namespace: "demo".into(),
        release: "orion".into(),
    }
}

#[test]
fn a_crash_looping_pod_of_two_is_told_with_its_restarts_and_last_exit() {
    let mut st = listed(vec![
        pod("orion-a", true, 0, None, None),
        pod(
            "orion-b",
            false,
            1,
            Some("CrashLoopBackOff"),
            Some((137, "OOMKilled")),
        ),
    ]);
    assert!(st.synced());
    let found = find(&st, 1_000, &T);
    let f = &found[&orion()];
    assert_eq!(f.pods_total, 2);
    assert_eq!(
        f.items,
        vec![Finding::CrashLoop {
            pod: "orion-b".into()
        }]
    );

    let mut tracker = Tracker::restore("lab-1", Vec::new(), 120_000);
    let gate = open_gate();
    let actions = tracker.step(1_000, &found, &gate);
    let [Action::Open(incident)] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    let mut incident = incident.clone();
    incident.number = 7;
    assert_eq!(
        incident.open_text(),
        "alert #7 (warning): orion in demo on lab-1: 1 of 2 pods crash-looping, 1 restart, last exit 137 OOMKilled"
    );
    tracker.insert(incident.clone());

    // Three more restarts over six minutes: one edit, counted from the incident's start.
    st.pod(
        Change::Upsert(
            "demo/orion-b".into(),
            pod(
                "orion-b",
                false,
                4,
                Some("CrashLoopBackOff"),
                Some((137, "OOMKilled")),
            ),
        ),
        361_000,
    );
    let found = find(&st, 361_000, &T);
    assert_eq!(
        tracker.step(361_000, &found, &gate),
        vec![Action::Edit(orion())]
    );
    assert_eq!(
        tracker.get(&orion()).unwrap().summary,
        "1 of 2 pods crash-looping, 4 restarts in 6 min, last exit 137 OOMKilled"
    );
    // Nothing changed: no edit.
    assert!(tracker.step(361_500, &found, &gate).is_empty());

    // Running again: still restarting while its last restart is recent, then quiet, then
    // closed once quiet for the settle time.
    st.pod(
        Change::Upsert(
            "demo/orion-b".into(),
            pod("orion-b", true, 4, None, Some((137, "OOMKilled"))),
        ),
        400_000,
    );
    assert!(!find(&st, 400_000, &T).is_empty(), "restarted 39 s ago");
    let calm = find(&st, 500_000, &T);
    assert!(calm.is_empty(), "{calm:?}");
    assert!(tracker.step(500_000, &calm, &gate).is_empty());
    let actions = tracker.step(620_000, &calm, &gate);
    let [Action::Close(closed)] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(
        closed.closed_text(620_000),
        "alert #7 closed: orion in demo on lab-1 recovered after 8 min (it was: 1 of 2 pods crash-looping, 4 restarts in 6 min, last exit 137 OOMKilled)"
    );
    assert_eq!(tracker.open().count(), 0);
}

#[test]
fn a_problem_back_before_the_settle_time_keeps_the_incident_open() {
    let st = listed(vec![pod(
        "orion-a",
        false,
        2,
        Some("ImagePullBackOff"),
        None,
    )]);
    let found = find(&st, 0, &T);
    let gate = open_gate();
    let mut tracker = Tracker::restore("lab-1", Vec::new(), 10_000);
    let Some(Action::Open(incident)) = tracker.step(0, &found, &gate).pop() else {
        panic!()
    };
    assert_eq!(
        incident.summary,
        "1 of 1 pods cannot pull their image (ImagePullBackOff): it broke"
    );
    tracker.insert(incident);
    let none = BTreeMap::new();
    assert!(tracker.step(5_000, &none, &gate).is_empty());
    assert!(
        tracker.step(6_000, &found, &gate).is_empty(),
        "back, unchanged"
    );
    assert!(
        tracker.step(15_000, &none, &gate).is_empty(),
        "quiet again from 15 s"
    );
    assert!(matches!(
        tracker.step(25_000, &none, &gate).as_slice(),
        [Action::Close(_)]
    ));
}

#[test]
fn untrusted_state_busy_subjects_and_roomless_clusters_open_nothing() {
    let st = listed(vec![pod(
        "orion-a",
        false,
        0,
        Some("CreateContainerConfigError"),
        None,
    )]);
    let found = find(&st, 0, &T);
    let room = lab();
    let mut tracker = Tracker::restore("lab-1", Vec::new(), 1_000);
    let untrusted = Gate {
        trusted: false,
        busy: &|_| false,
        silenced: &|_| false,
        room: room.clone(),
    };
    assert!(tracker.step(0, &found, &untrusted).is_empty());
    let busy = Gate {
        trusted: true,
        busy: &|s| *s == orion(),
        silenced: &|_| false,
        room: room.clone(),
    };
    assert!(tracker.step(0, &found, &busy).is_empty());
    let nobody = Gate {
        trusted: true,
        busy: &|_| false,
        silenced: &|_| false,
        room: None,
    };
    assert!(tracker.step(0, &found, &nobody).is_empty());

    // The API server's own incident opens while nothing else can, and an open release
    // incident neither closes nor changes while the state is not trusted.
    let mut unreachable = BTreeMap::new();
    unreachable.insert(
        Subject::Cluster,
        Findings {
            items: vec![Finding::Unreachable {
                since_ms: 0,
                error: "connection refused".into(),
            }],
            at_ms: 90_000,
            ..Findings::default()
        },
    );
    let Some(Action::Open(outage)) = tracker.step(90_000, &unreachable, &untrusted).pop() else {
        panic!()
    };
    assert_eq!(
        outage.summary,
        "the API server has not answered for 1 min (connection refused); watching resumes by itself"
    );
    let trusted = open_gate();
    let Some(Action::Open(release)) = tracker.step(0, &found, &trusted).pop() else {
        panic!()
    };
    tracker.insert(release);
    assert!(
        tracker
            .step(100_000, &unreachable, &untrusted)
            .iter()
            .all(|a| !matches!(a, Action::Close(_)))
    );
}

#[test]
fn restarts_count_only_while_recent_and_one_oom_kill_is_told() {
    let mut st = listed(vec![pod("orion-a", true, 0, None, None)]);
    for (n, at) in [(1, 10_000), (2, 20_000), (3, 30_000)] {
        st.pod(
            Change::Upsert(
                "demo/orion-a".into(),
                pod("orion-a", true, n, None, Some((1, "Error"))),
            ),
            at,
        );
    }
    assert_eq!(
        find(&st, 31_000, &T)[&orion()].items,
        vec![Finding::CrashLoop {
            pod: "orion-a".into()
        }]
    );
    assert!(
        find(&st, 200_000, &T).is_empty(),
        "stable for longer than the settle time"
    );

    let mut st = listed(vec![pod("orion-a", true, 0, None, None)]);
    st.pod(
        Change::Upsert(
            "demo/orion-a".into(),
            pod("orion-a", true, 1, None, Some((137, "OOMKilled"))),
        ),
        1_000,
    );
    let f = &find(&st, 2_000, &T)[&orion()];
    assert_eq!(
        f.items,
        vec![Finding::OomKilled {
            pod: "orion-a".into()
        }]
    );
    let mut incident_summary = super::incident::Incident {
        number: 1,
        cluster: "lab-1".into(),
        subject: orion(),
        severity: super::incident::Severity::Warning,
        room: Room {
            platform: "t".into(),
            room: "lab".into(),
        },
        opened_ms: 2_000,
        quiet_since_ms: None,
        restart_base: BTreeMap::new(),
        summary: String::new(),
        message: None,
        folded: false,
    };
    incident_summary.absorb(f, 2_000);
    assert_eq!(
        incident_summary.summary,
        "1 of 1 pods OOMKilled, 1 restart, last exit 137 OOMKilled"
    );
}

#[test]
fn nodes_not_ready_or_under_pressure_and_evicted_or_unschedulable_pods() {
    let node: Node = serde_json::from_value(json!({
        "metadata": { "name": "n1" },
        "status": { "conditions": [
            { "type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "PLEG is not healthy" },
            { "type": "DiskPressure", "status": "True" },
        ] },
    }))
    .unwrap();
    let mut st = listed(Vec::new());
    st.nodes
        .apply(Change::Upsert("/n1".into(), NodeView::of(&node)));
    let evicted: Pod = serde_json::from_value(json!({
        "metadata": { "name": "orion-e", "namespace": "demo", "labels": { "app.kubernetes.io/instance": "orion" } },
        "status": { "phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory." },
    }))
    .unwrap();
    let unscheduled: Pod = serde_json::from_value(json!({
        "metadata": { "name": "orion-u", "namespace": "demo", "labels": { "app.kubernetes.io/instance": "orion" } },
        "status": { "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available." }] },
    }))
    .unwrap();
    for p in [&evicted, &unscheduled] {
        let seen = PodSeen::of(p);
        st.pod(Change::Upsert(format!("demo/{}", seen.name), seen), 0);
    }
    let found = find(&st, 0, &T);
    assert_eq!(
        found[&Subject::Node { name: "n1".into() }].items,
        vec![
            Finding::NodeNotReady {
                why: "KubeletNotReady: PLEG is not healthy".into()
            },
            Finding::NodePressure {
                kinds: vec!["DiskPressure".into()]
            },
        ]
    );
    let mut tracker = Tracker::restore("lab-1", Vec::new(), 1_000);
    let gate = open_gate();
    let texts: Vec<String> = tracker
        .step(0, &found, &gate)
        .into_iter()
        .map(|a| match a {
            Action::Open(i) => i.summary,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            "1 of 2 pods cannot be scheduled: 0/2 nodes are available: 2 Insufficient cpu.; 1 of 2 pods evicted: The node was low on resource: memory.".to_string(),
            "NotReady (KubeletNotReady: PLEG is not healthy); under DiskPressure".to_string(),
        ]
    );
}

#[test]
fn a_room_rule_holds_warnings_in_quiet_hours_and_below_its_least_severity() {
    use super::RoomRule;
    use crate::config::{QuietHours, Severity};
    let night = RoomRule {
        min: Severity::Warning,
        quiet: QuietHours::parse("22:00-07:00").ok(),
    };
    let at = |h: u64| h * 3_600_000;
    assert!(night.holds(Severity::Warning, at(23)));
    assert!(
        !night.holds(Severity::Critical, at(23)),
        "critical is told at once"
    );
    assert!(!night.holds(Severity::Warning, at(9)));
    let critical_only = RoomRule {
        min: Severity::Critical,
        quiet: None,
    };
    assert!(critical_only.holds(Severity::Warning, at(9)));
    assert!(!critical_only.holds(Severity::Critical, at(9)));
}
