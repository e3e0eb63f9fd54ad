//! The wait's failure texts. Its behaviour against an API server is tested through the public
//! API in `tests/it/kube_watch.rs`, against the test kit's fake API server.

use super::*;

#[test]
fn fail_reason_texts() {
    let w = WorkloadRef {
        kind: WorkloadKind::Deployment,
        name: "orion".into(),
    };
    let problem = PodProblem {
        pod: "orion-1".into(),
        container: "orion".into(),
        reason: "CrashLoopBackOff".into(),
        message: String::new(),
        restarts: 3,
    };
    assert_eq!(
        FailReason::Pod {
            workload: w.clone(),
            problem
        }
        .to_string(),
        "orion: new pod orion-1 is stuck in CrashLoopBackOff after 3 restarts"
    );
    let unscheduled = PodProblem {
        pod: "mongodb-0".into(),
        container: String::new(),
        reason: UNSCHEDULABLE.into(),
        message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
            .into(),
        restarts: 0,
    };
    assert_eq!(
        FailReason::Pod {
            workload: WorkloadRef {
                kind: WorkloadKind::StatefulSet,
                name: "mongodb".into(),
            },
            problem: unscheduled
        }
        .to_string(),
        "mongodb: new pod mongodb-0 cannot be scheduled (0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.)"
    );
    let pending = vec![
        RolloutState::missing(w.clone()),
        RolloutState::missing(WorkloadRef {
            kind: WorkloadKind::StatefulSet,
            name: "db".into(),
        }),
    ];
    assert_eq!(
        FailReason::Timeout {
            after: Duration::from_secs(300),
            pending
        }
        .to_string(),
        "timed out after 300 s: deployment/orion waiting for deployment \"orion\" to appear; statefulset/db waiting for statefulset \"db\" to appear"
    );
}
