//! Ownership of hosts and names through the dispatcher: two rooms on one bot. A host belongs
//! to one cluster and a name to one room from the moment a create is queued, so another
//! room's create over them is refused naming nothing of the other room, and creates queued
//! at once never share a name.

use std::sync::Arc;

use labkube::app::Bot;
use labkube::auth::{Principal, Role, RoomRef, RoomSettings};
use labkube::chat::Incoming;
use labkube::config::Config;
use labkube::dispatch::Dispatcher;
use labkube::store::{ClusterJob, JobKind, JobState, JobStore};
use labkube_testkit::memory_store::MemoryStore;
use labkube_testkit::recording_sink::RecordingSink;
use labkube_testkit::support::{RecordingChat, Sent, room_policy};

pub(crate) struct Rig {
    pub(crate) store: Arc<MemoryStore>,
    chat: Arc<RecordingChat>,
    dispatcher: Dispatcher,
    _dir: tempfile::TempDir,
}

/// Rooms `a` and `b` on platform `t`; `ann` operates in both.
pub(crate) fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::new());
    let chat = Arc::new(RecordingChat::default());
    let mut policy = room_policy("t", "a", "demo", &[("ann", Role::Operator)]);
    policy.allow_room(
        RoomRef {
            platform: "t".into(),
            room: "b".into(),
        },
        RoomSettings {
            namespace: "demo".into(),
            ..Default::default()
        },
    );
    policy.allow_user(
        Principal {
            platform: "t".into(),
            user: "bob".into(),
        },
        Role::Operator,
    );
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    // The worker is never run: jobs stay queued or are finished by hand.
    let Bot { dispatcher, .. } = Bot::build(
        config,
        store.clone(),
        policy,
        chat.clone(),
        Arc::new(RecordingSink::new()),
        labkube::metrics::Metrics::new(),
    )
    .unwrap();
    Rig {
        store,
        chat,
        dispatcher,
        _dir: dir,
    }
}

fn msg(room: &str, sender: &str, event: &str, text: &str) -> Incoming {
    Incoming {
        platform: "t".into(),
        room: room.into(),
        sender: sender.into(),
        event_id: event.into(),
        text: text.into(),
        ..Incoming::default()
    }
}

fn last(chat: &RecordingChat) -> String {
    match chat.log.lock().unwrap().last().unwrap() {
        Sent::Send { text, .. } | Sent::Edit { text, .. } => text.clone(),
    }
}

pub(crate) async fn say(r: &Rig, room: &str, sender: &str, event: &str, text: &str) -> String {
    r.dispatcher.handle(&msg(room, sender, event, text)).await;
    last(&r.chat)
}

#[tokio::test]
async fn another_room_cannot_queue_a_create_over_held_hosts_or_names() {
    let r = rig();
    let t = say(
        &r,
        "a",
        "ann",
        "e1",
        "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 name=alpha",
    )
    .await;
    assert!(t.starts_with("queued job #1"), "{t}");

    let t = say(
        &r,
        "b",
        "bob",
        "e2",
        "/cluster create 10.0.0.3 10.0.0.4 10.0.0.5 name=mine",
    )
    .await;
    assert!(
        t.contains("10.0.0.3 belongs to a cluster of another room")
            && t.contains("nothing was queued"),
        "{t}"
    );
    assert!(
        !t.contains("alpha") && !t.contains("10.0.0.1"),
        "nothing of room a is named: {t}"
    );
    let t = say(
        &r,
        "b",
        "bob",
        "e3",
        "/cluster create 10.0.0.7 10.0.0.8 10.0.0.9 name=alpha",
    )
    .await;
    assert!(
        t.contains("the name alpha belongs to another room's cluster"),
        "{t}"
    );
    // A plan reads facts: another room's hosts are not planned either.
    let t = say(
        &r,
        "b",
        "bob",
        "e4",
        "/cluster plan 10.0.0.2 10.0.0.8 10.0.0.9",
    )
    .await;
    assert!(
        t.contains("10.0.0.2 belongs to a cluster of another room"),
        "{t}"
    );
    assert_eq!(
        r.store.recent(10).unwrap().len(),
        1,
        "nothing else was queued"
    );

    // The owning room is told what holds its own hosts.
    let t = say(
        &r,
        "a",
        "ann",
        "e5",
        "/cluster create 10.0.0.1 10.0.0.7 10.0.0.8",
    )
    .await;
    assert!(
        t.contains("10.0.0.1 is being set up for cluster alpha by job #1"),
        "{t}"
    );

    // Once job #1 fails before registering, the hosts and the name are free again.
    r.store
        .update(1, &mut |j| {
            j.state = JobState::Failed {
                reason: "preflight".into(),
            };
            Ok(())
        })
        .unwrap();
    let t = say(
        &r,
        "b",
        "bob",
        "e6",
        "/cluster create 10.0.0.3 10.0.0.4 10.0.0.5 name=alpha",
    )
    .await;
    assert!(t.starts_with("queued job #2"), "{t}");
}

#[tokio::test]
async fn creates_queued_at_once_get_different_names() {
    let r = rig();
    let first = msg(
        "a",
        "ann",
        "e1",
        "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3",
    );
    let second = msg(
        "b",
        "bob",
        "e2",
        "/cluster create 10.0.1.1 10.0.1.2 10.0.1.3",
    );
    tokio::join!(r.dispatcher.handle(&first), r.dispatcher.handle(&second));
    let mut names: Vec<String> = r
        .store
        .recent(10)
        .unwrap()
        .into_iter()
        .map(|j| match j.kind {
            JobKind::Cluster(ClusterJob::Create(s)) => s.name,
            other => panic!("{other:?}"),
        })
        .collect();
    names.sort();
    assert_eq!(names, ["lab-1", "lab-2"]);
}

#[tokio::test]
async fn another_rooms_releases_are_not_shown() {
    let r = rig();
    let mut record = labkube::store::ClusterRecord {
        name: "alpha".into(),
        owner_platform: "t".into(),
        owner_room: "a".into(),
        created_ms: 1,
        k8s_version: "v1.35.0".into(),
        nodes: Vec::new(),
        creating: None,
        pod_cidr: None,
        endpoint: None,
    };
    r.store.put_cluster(record.clone()).unwrap();
    for (i, q) in [
        "/ge list cluster=alpha",
        "/ge history orion cluster=alpha",
        "/ge status orion cluster=alpha",
    ]
    .into_iter()
    .enumerate()
    {
        let t = say(&r, "b", "bob", &format!("q{i}"), q).await;
        assert!(
            t.contains("cluster alpha belongs to another room; its GEs are shown only to that room and admins"),
            "{q}: {t}"
        );
        let t = say(&r, "a", "ann", &format!("o{i}"), q).await;
        assert!(!t.contains("belongs to another room"), "{q}: {t}");
    }
    // Given to room b, it is room b's to read.
    record.owner_room = "b".into();
    r.store.put_cluster(record).unwrap();
    let t = say(&r, "b", "bob", "q9", "/ge list cluster=alpha").await;
    assert!(!t.contains("belongs to another room"), "{t}");
}

/// Room `a`'s registered cluster `lab-1`: a control plane and a worker.
pub(crate) fn registered(r: &Rig, creating: Option<u64>) {
    let node = |addr: &str, role: &str, name: &str| labkube::store::NodeRecord {
        addr: addr.parse().unwrap(),
        port: 22,
        user: "root".into(),
        role: role.into(),
        hostname: name.into(),
        avx: None,
    };
    r.store
        .put_cluster(labkube::store::ClusterRecord {
            name: "lab-1".into(),
            owner_platform: "t".into(),
            owner_room: "a".into(),
            created_ms: 1,
            k8s_version: "v1.35.5".into(),
            nodes: vec![
                node("10.0.0.1", "control-plane", "cp1"),
                node("10.0.0.2", "worker", "w1"),
            ],
            creating,
            pod_cidr: None,
            endpoint: None,
        })
        .unwrap();
}

#[tokio::test]
async fn a_node_add_is_the_owning_rooms_keeps_roles_and_an_odd_count_of_control_planes() {
    let r = rig();
    registered(&r, None);
    let refusals = [
        (
            "b",
            "/node add lab-1 10.0.0.3",
            "cluster lab-1 belongs to another room",
        ),
        (
            "a",
            "/node add lab-9 10.0.0.3",
            "there is no cluster named lab-9",
        ),
        (
            "a",
            "/node add lab-1 10.0.0.2 role=control-plane",
            "10.0.0.2 is a worker of lab-1; a node keeps its role",
        ),
        (
            "a",
            "/node add lab-1 10.0.0.3 role=control-plane",
            "lab-1 has 1 control plane(s); adding 1 makes 2: 2 control planes run 2 etcd members",
        ),
        (
            "a",
            "/node add lab-1 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 role=control-plane",
            "adding 5 makes 6: 6 is more than 5",
        ),
        ("a", "/node add lab-1 127.0.0.9", "127.0.0.9"),
        (
            "a",
            "/node add lab-1 10.0.0.3 role=master",
            "role= expects one of: worker, control-plane",
        ),
    ];
    for (i, (room, text, want)) in refusals.iter().enumerate() {
        let reply = say(&r, room, "ann", &format!("r{i}"), text).await;
        assert!(reply.contains(want), "{text}: {reply}");
    }
    assert!(r.store.recent(10).unwrap().is_empty(), "nothing queued");

    // Two control planes make three; the job holds the cluster and its new hosts.
    let ok = say(
        &r,
        "a",
        "ann",
        "ok1",
        "/node add lab-1 10.0.0.3 10.0.0.4 role=control-plane",
    )
    .await;
    assert!(
        ok.starts_with("queued job #1: node add lab-1 (2 control planes)"),
        "{ok}"
    );
    // Meanwhile another room cannot take the new hosts, nor this room change the cluster twice.
    let theirs = say(
        &r,
        "b",
        "bob",
        "b1",
        "/cluster create 10.0.0.3 10.0.0.8 10.0.0.9",
    )
    .await;
    assert!(theirs.contains("10.0.0.3"), "{theirs}");
    let twice = say(&r, "a", "ann", "ok2", "/node add lab-1 10.0.0.5").await;
    assert!(twice.contains("job #1"), "{twice}");
    let jobs = r.store.recent(10).unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(matches!(
        &jobs[0].kind,
        JobKind::Cluster(ClusterJob::AddNodes(s)) if s.control_plane && s.hosts.len() == 2
    ));
}

#[tokio::test]
async fn no_node_is_added_to_a_cluster_still_being_created() {
    let r = rig();
    registered(&r, Some(7));
    let reply = say(&r, "a", "ann", "c1", "/node add lab-1 10.0.0.3").await;
    assert!(
        reply.contains("cluster lab-1 is not ready: its create (job #7) has not finished"),
        "{reply}"
    );
}

#[tokio::test]
async fn a_node_removal_is_confirmed_first_and_never_takes_the_last_control_plane_or_worker() {
    let r = rig();
    registered(&r, None);
    let refusals = [
        (
            "/node remove lab-1 10.0.0.1",
            "cp1 (10.0.0.1) is the only control plane of lab-1: without it there is no cluster; /cluster delete lab-1",
        ),
        (
            "/node remove lab-1 10.0.0.2",
            "w1 (10.0.0.2) is the only worker of lab-1: its pods would have nowhere to go",
        ),
        (
            "/node remove lab-1 10.0.0.9",
            "10.0.0.9 is not a node of lab-1; its nodes: 10.0.0.1, 10.0.0.2",
        ),
    ];
    for (i, (text, want)) in refusals.iter().enumerate() {
        let reply = say(&r, "a", "ann", &format!("x{i}"), text).await;
        assert!(reply.contains(want), "{text}: {reply}");
    }
    // Another room is refused before anything is said about the node.
    let theirs = say(&r, "b", "bob", "y1", "/node remove lab-1 10.0.0.2").await;
    assert!(theirs.contains("belongs to another room"), "{theirs}");

    // With a second worker, the first may go, once confirmed.
    let mut record = r.store.cluster("lab-1").unwrap().unwrap();
    let mut w2 = record.nodes[1].clone();
    w2.addr = "10.0.0.3".parse().unwrap();
    w2.hostname = "w2".into();
    record.nodes.push(w2);
    r.store.put_cluster(record).unwrap();
    let asked = say(&r, "a", "ann", "z1", "/node remove lab-1 10.0.0.2").await;
    assert!(
        asked.starts_with(
            "removing w1 (10.0.0.2, worker) from lab-1 checks that every pod on it may be evicted"
        ) && asked.contains("1 worker(s) stay"),
        "{asked}"
    );
    let code = asked.rsplit("confirm=").next().unwrap().trim().to_string();
    let wrong = say(
        &r,
        "a",
        "ann",
        "z2",
        "/node remove lab-1 10.0.0.2 confirm=zzzzzz",
    )
    .await;
    assert!(wrong.contains("wrong or has expired"), "{wrong}");
    // A code is for its node: it does not remove another.
    let other = say(
        &r,
        "a",
        "ann",
        "z3",
        &format!("/node remove lab-1 10.0.0.3 confirm={code}"),
    )
    .await;
    assert!(other.contains("wrong or has expired"), "{other}");
    assert!(r.store.recent(10).unwrap().is_empty());
    let queued = say(
        &r,
        "a",
        "ann",
        "z4",
        &format!("/node remove lab-1 10.0.0.2 confirm={code}"),
    )
    .await;
    assert!(
        queued.starts_with("queued job #1: node remove lab-1 10.0.0.2"),
        "{queued}"
    );
    let audit = r.store.recent_audit(20).unwrap();
    assert!(
        audit.iter().all(|e| !e.command.contains(&code)),
        "the code is masked in the audit"
    );
}
