//! The host index and name reservations ([`labkube::store::claims`]), on every store: a host
//! belongs to one cluster and a name to one room from the moment a create is queued, in the
//! enqueue's own transaction; a failed create lets go; registering is a compare-and-swap.

use labkube::store::ClusterSpec;
use labkube::store::claims::{Claim, ClaimKey};

use super::*;

fn addr(last: u8) -> std::net::IpAddr {
    std::net::IpAddr::from([10, 0, 0, last])
}

pub fn create(name: &str, hosts: &[u8], room: &str, event: &str) -> NewJob {
    let spec = ClusterSpec {
        name: name.into(),
        hosts: hosts.iter().map(|h| addr(*h)).collect(),
        user: None,
        port: None,
        k8s: None,
        pod_cidr: None,
        control_planes: None,
        endpoint: None,
    };
    NewJob {
        plan: Vec::new(),
        kind: JobKind::Cluster(ClusterJob::Create(spec)),
        requested_by: who(),
        origin: Origin {
            platform: "console".into(),
            room: room.into(),
            event_id: event.into(),
        },
        command_text: format!("/cluster create name={name}"),
    }
}

fn queue<S: JobStore>(s: &S, job: NewJob) -> Result<JobId, StoreError> {
    let key = job.origin.dedupe_key();
    s.enqueue(job, &key).map(|e| e.job().id)
}

fn held<S: JobStore>(s: &S, key: &ClaimKey) -> Option<Claim> {
    s.claims()
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, c)| c)
}

fn conflicts(e: StoreError) -> Vec<(ClaimKey, bool)> {
    match e {
        StoreError::Claimed(c) => c.into_iter().map(|c| (c.key, c.ours)).collect(),
        other => panic!("expected a claims conflict, got {other}"),
    }
}

fn record(name: &str, room: &str, hosts: &[u8]) -> ClusterRecord {
    let mut r = cluster(name, room);
    let node = r.nodes[0].clone();
    r.nodes = hosts
        .iter()
        .map(|h| NodeRecord {
            addr: addr(*h),
            ..node.clone()
        })
        .collect();
    r
}

pub fn a_create_holds_its_name_and_hosts<S: JobStore>(s: &S) {
    let first = queue(s, create("lab", &[1, 2], "r1", "e1")).unwrap();
    let name = held(s, &ClaimKey::Name("lab".into())).unwrap();
    assert_eq!((name.job, name.registered), (Some(first), false));
    assert_eq!(held(s, &ClaimKey::host(addr(2))).unwrap().cluster, "lab");

    // Another room cannot take a host, nor the name; nothing of the refused job is stored.
    let e = queue(s, create("mine", &[2, 3], "r2", "e2")).unwrap_err();
    assert_eq!(conflicts(e), [(ClaimKey::host(addr(2)), false)]);
    let e = queue(s, create("lab", &[4], "r2", "e3")).unwrap_err();
    assert_eq!(conflicts(e), [(ClaimKey::Name("lab".into()), false)]);
    assert_eq!(held(s, &ClaimKey::host(addr(3))), None);
    assert_eq!(s.recent(10).unwrap().len(), 1);

    // The same room cannot run a second create of the name, or of a host, meanwhile.
    let e = queue(s, create("lab", &[1, 2], "r1", "e4")).unwrap_err();
    assert!(conflicts(e).contains(&(ClaimKey::Name("lab".into()), true)));
    // A mapped IPv6 form of a held host is the same host.
    let mut mapped = create("other", &[], "r1", "e5");
    if let JobKind::Cluster(ClusterJob::Create(spec)) = &mut mapped.kind {
        spec.hosts = vec!["::ffff:10.0.0.1".parse().unwrap()];
    }
    let e = queue(s, mapped).unwrap_err();
    assert_eq!(conflicts(e), [(ClaimKey::host(addr(1)), true)]);
}

pub fn a_failed_create_lets_go<S: JobStore>(s: &S) {
    let id = queue(s, create("lab", &[1, 2], "r1", "e1")).unwrap();
    set_state(s, id, JobState::Running { step: 0 }).unwrap();
    set_state(
        s,
        id,
        JobState::Failed {
            reason: "preflight".into(),
        },
    )
    .unwrap();
    assert_eq!(s.claims().unwrap(), []);
    queue(s, create("lab", &[2, 1], "r2", "e2")).unwrap();
}

pub fn registering_is_a_compare_and_swap<S: JobStore>(s: &S) {
    let id = queue(s, create("lab", &[1, 2], "r1", "e1")).unwrap();
    // Not for another job, not for another room.
    let e = s.register_cluster(record("lab", "r1", &[1, 2]), id + 7);
    assert!(matches!(e, Err(StoreError::NotReserved(_))), "{e:?}");
    let e = s.register_cluster(record("lab", "r2", &[1, 2]), id);
    assert!(matches!(e, Err(StoreError::NotReserved(_))), "{e:?}");
    assert_eq!(s.cluster("lab").unwrap(), None);

    s.register_cluster(record("lab", "r1", &[1, 2]), id)
        .unwrap();
    assert_eq!(s.cluster("lab").unwrap().unwrap().owner_room, "r1");
    set_state(s, id, JobState::Succeeded).unwrap();
    // Registered claims outlive the job.
    let name = held(s, &ClaimKey::Name("lab".into())).unwrap();
    assert_eq!((name.job, name.registered), (None, true));
    let e = queue(s, create("mine", &[1], "r2", "e2")).unwrap_err();
    assert_eq!(conflicts(e), [(ClaimKey::host(addr(1)), false)]);

    // The owner may create it again (that converges), one job at a time, with a new host.
    let again = queue(s, create("lab", &[1, 2, 3], "r1", "e3")).unwrap();
    let e = queue(s, create("lab", &[1, 2], "r1", "e4")).unwrap_err();
    assert!(conflicts(e).contains(&(ClaimKey::Name("lab".into()), true)));
    // If the re-create fails, the cluster keeps its nodes; the new host is let go.
    set_state(s, again, JobState::Cancelled).unwrap();
    assert!(held(s, &ClaimKey::host(addr(1))).unwrap().registered);
    assert_eq!(held(s, &ClaimKey::host(addr(3))), None);
    // A registration that drops a node lets that host go.
    let shrink = queue(s, create("lab", &[1], "r1", "e5")).unwrap();
    s.register_cluster(record("lab", "r1", &[1]), shrink)
        .unwrap();
    assert_eq!(held(s, &ClaimKey::host(addr(2))), None);
}

pub fn removing_a_cluster_frees_its_claims<S: JobStore>(s: &S) {
    s.put_cluster(record("lab", "r1", &[1, 2])).unwrap();
    s.put_cluster(record("edge", "r2", &[5])).unwrap();
    assert!(held(s, &ClaimKey::host(addr(2))).unwrap().registered);
    assert!(s.remove_cluster("lab").unwrap());
    let left: Vec<ClaimKey> = s.claims().unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&ClaimKey::host(addr(5))));
    queue(s, create("mine", &[1, 2], "r2", "e1")).unwrap();
}

pub fn a_plan_checks_without_holding<S: JobStore>(s: &S) {
    s.put_cluster(record("lab", "r1", &[1])).unwrap();
    let mut plan = create("probe", &[1], "r2", "e1");
    if let JobKind::Cluster(ClusterJob::Create(spec)) = &plan.kind {
        plan.kind = JobKind::Cluster(ClusterJob::Plan(spec.clone()));
    }
    let e = queue(s, plan.clone()).unwrap_err();
    assert_eq!(conflicts(e), [(ClaimKey::host(addr(1)), false)]);
    if let JobKind::Cluster(ClusterJob::Plan(spec)) = &mut plan.kind {
        spec.hosts = vec![addr(9)];
    }
    queue(s, plan).unwrap();
    assert_eq!(held(s, &ClaimKey::host(addr(9))), None);
}

pub fn reclaim_checks_again<S: JobStore>(s: &S) {
    let id = queue(s, create("lab", &[1, 2], "r1", "e1")).unwrap();
    s.reclaim(id).unwrap();
    // A registry restore gave host 2 to another room's cluster meanwhile.
    s.put_cluster(record("edge", "r2", &[2])).unwrap();
    let e = s.reclaim(id).unwrap_err();
    assert_eq!(conflicts(e), [(ClaimKey::host(addr(2)), false)]);
    assert!(matches!(s.reclaim(99), Err(StoreError::NoSuchJob(99))));
}
