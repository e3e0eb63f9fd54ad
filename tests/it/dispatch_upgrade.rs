//! `/cluster upgrade` through the dispatcher: the plan changes nothing, a skip or a downgrade
//! is refused naming the way to take, another room gets nothing, and the job is queued only
//! with the code the bot handed out for that cluster and minor; once that job stopped
//! part-way, the plan says so and how to go on.

use labkube::store::{ClusterJob, JobKind, JobState, JobStore};

use super::dispatch_claims::{registered, rig, say};

#[tokio::test]
async fn an_upgrade_is_planned_confirmed_and_one_minor_at_a_time() {
    let r = rig();
    registered(&r, None);
    let plan = say(&r, "a", "ann", "p1", "/cluster upgrade lab-1").await;
    assert!(
        plan.starts_with("cluster lab-1 runs Kubernetes v1.35.5 (upstream support for 1.35 ends 2027-02-28). It can move to 1.36")
            && plan.contains("cp1 (10.0.0.1)")
            && plan.contains("w1 (10.0.0.2)")
            && plan.contains("Nothing was changed; to start: /cluster upgrade lab-1 k8s=1.36"),
        "{plan}"
    );
    let refusals = [
        (
            "b",
            "/cluster upgrade lab-1 k8s=1.36",
            "cluster lab-1 belongs to another room",
        ),
        (
            "a",
            "/cluster upgrade lab-1 k8s=1.37",
            "cluster lab-1 cannot move to Kubernetes 1.37: it runs Kubernetes 1.35, and kubeadm moves one minor at a time (skipping one is unsupported): take 1.35 → 1.36 → 1.37, starting with k8s=1.36",
        ),
        (
            "a",
            "/cluster upgrade lab-1 k8s=1.35",
            "cluster lab-1 cannot move to Kubernetes 1.35: it already runs Kubernetes 1.35",
        ),
        (
            "a",
            "/cluster upgrade lab-1 k8s=1.34",
            "1.34 is past its end of life upstream",
        ),
        (
            "a",
            "/cluster upgrade lab-9 k8s=1.36",
            "there is no cluster named lab-9",
        ),
    ];
    for (i, (room, text, want)) in refusals.iter().enumerate() {
        let reply = say(&r, room, "ann", &format!("r{i}"), text).await;
        assert!(reply.contains(want), "{text}: {reply}");
    }
    assert!(r.store.recent(10).unwrap().is_empty(), "nothing queued");

    let asked = say(&r, "a", "ann", "c1", "/cluster upgrade lab-1 k8s=1.36").await;
    assert!(
        asked.starts_with(
            "upgrading cluster lab-1 from Kubernetes v1.35.5 to 1.36 drains every node in turn"
        ),
        "{asked}"
    );
    let code = asked.rsplit("confirm=").next().unwrap().trim().to_string();
    // A code is for one cluster and one change: a delete does not take it.
    let other = say(
        &r,
        "a",
        "ann",
        "c2",
        &format!("/cluster delete lab-1 confirm={code}"),
    )
    .await;
    assert!(other.contains("wrong or has expired"), "{other}");
    assert!(r.store.recent(10).unwrap().is_empty());
    let queued = say(
        &r,
        "a",
        "ann",
        "c3",
        &format!("/cluster upgrade lab-1 k8s=1.36 confirm={code}"),
    )
    .await;
    assert!(
        queued.starts_with("queued job #1: cluster upgrade lab-1 to 1.36"),
        "{queued}"
    );
    let jobs = r.store.recent(10).unwrap();
    assert!(matches!(
        &jobs[0].kind,
        JobKind::Cluster(ClusterJob::Upgrade { cluster, to }) if cluster == "lab-1" && to == "1.36"
    ));
    let audit = r.store.recent_audit(20).unwrap();
    assert!(audit.iter().all(|e| !e.command.contains(&code)));

    r.store
        .update(1, &mut |j| {
            j.state = JobState::Failed {
                reason: "w1 is not Ready".into(),
            };
            Ok(())
        })
        .unwrap();
    let plan = say(&r, "a", "ann", "p2", "/cluster upgrade lab-1").await;
    assert!(
        plan.contains("Its upgrade to 1.36 (job #1) failed part-way")
            && plan.contains(
                "/cluster upgrade lab-1 k8s=1.36 goes on from there. Nothing was changed."
            ),
        "{plan}"
    );
}
