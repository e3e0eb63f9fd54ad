use super::*;
use crate::store::SledStore;

fn revision(action: Action, version: &str) -> Revision {
    Revision {
        number: 0,
        job: 7,
        by: "console:ada".into(),
        at_ms: 1,
        action,
        params: Params {
            version: version.into(),
            replicas: 2,
            expose_nodeport: false,
            ge: Default::default(),
            autoscale: None,
        },
        image: format!("quay.io/fiware/orion:{version}"),
        manifests: vec![serde_json::json!({"kind": "Deployment", "v": version})],
        status: Status::Deployed,
        finished_ms: None,
        summary: None,
    }
}

#[test]
fn revisions_are_numbered_and_settled_like_helm() {
    let mut r = Release::new("lab-1", "demo", "orion");
    let a = r.push(revision(Action::Install, "4.0.0"));
    assert_eq!(
        r.revision(a).unwrap().status,
        Status::Pending,
        "push makes it pending"
    );
    r.mark_deployed(a, "1/1 pods ready".into(), 5);
    let b = r.push(revision(Action::Upgrade, "4.1.0"));
    r.mark_deployed(b, "1/1".into(), 6);
    assert_eq!((a, b), (1, 2));
    assert_eq!(r.revision(1).unwrap().status, Status::Superseded);
    assert_eq!(r.deployed().unwrap().number, 2);
    assert_eq!(r.previous_good().unwrap().number, 1);
    let c = r.push(revision(Action::Upgrade, "broken"));
    r.mark_failed(c, "ImagePullBackOff".into(), 7);
    assert_eq!(
        r.deployed().unwrap().number,
        2,
        "a failed revision does not replace"
    );
    assert_eq!(r.live().unwrap().number, 3, "but the cluster was given it");
    assert_eq!(
        r.previous_good().unwrap().number,
        2,
        "so rolling back returns to the deployed one"
    );
}

#[test]
fn the_ledger_round_trips_through_the_store_and_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut r = Release::new("lab-1", "demo", "orion");
    for i in 0..6 {
        let n = r.push(revision(Action::Upgrade, &format!("4.{i}.0")));
        r.mark_deployed(n, "ok".into(), i);
    }
    r.save(&store, 3).unwrap();
    let back = Release::load(&store, "lab-1", "demo", "orion")
        .unwrap()
        .unwrap();
    assert_eq!(back.revisions.len(), 3);
    assert_eq!(
        back.deployed().unwrap().number,
        6,
        "the deployed revision is never dropped"
    );
    assert_eq!(back.next, 7, "numbers are never reused");
    assert_eq!(Release::all_on(&store, "lab-1").unwrap().len(), 1);
    assert!(Release::all_on(&store, "lab-2").unwrap().is_empty());
    Release::remove(&store, "lab-1", "demo", "orion").unwrap();
    assert!(
        Release::load(&store, "lab-1", "demo", "orion")
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_resumed_job_finds_its_pending_revision() {
    let mut r = Release::new("lab-1", "demo", "orion");
    let n = r.push(revision(Action::Install, "4.1.0"));
    assert_eq!(r.pending_of(7).unwrap().number, n);
    assert!(r.pending_of(8).is_none());
}
