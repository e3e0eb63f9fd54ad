//! The contract itself: generic over the store, instantiated per store by `contract_tests!`.

use super::*;

pub fn dense_ids_from_one<S: JobStore>(s: &S) {
    for n in 1..=5 {
        assert_eq!(add(s, n), JobId::from(n));
    }
    let job = s.get(3).unwrap().unwrap();
    assert_eq!(job.kind, new_job(3).kind);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.command_text, "/selftest 3");
    assert_eq!(job.target, None);
    assert!(job.created_ms > 0);
    assert_eq!((job.started_ms, job.finished_ms), (None, None));
    assert_eq!(s.get(6).unwrap(), None);
    // The lock key is derived from the kind.
    let mut locked = new_job(6);
    locked.kind = JobKind::Cluster(ClusterJob::Delete {
        cluster: "lab-1".into(),
    });
    let job = s.enqueue(locked, "k6").unwrap();
    assert_eq!(job.job().target.as_deref(), Some("cluster/lab-1"));
}

pub fn dedupe_returns_the_first_job<S: JobStore>(s: &S) {
    let first = s.enqueue(new_job(1), "console/lab/ev1").unwrap();
    assert!(matches!(first, Enqueued::New(_)));
    let again = s.enqueue(new_job(2), "console/lab/ev1").unwrap();
    assert_eq!(again, Enqueued::Duplicate(first.job().clone()));
    assert_eq!(ids(&s.recent(10).unwrap()), [1]);
    assert_eq!(ids(&s.queued().unwrap()), [1]);
    // A duplicate consumes no number.
    assert_eq!(add(s, 3), 2);
    // Still a duplicate after the job moved on.
    set_state(s, 1, JobState::Succeeded).unwrap();
    let late = s.enqueue(new_job(4), "console/lab/ev1").unwrap();
    assert!(matches!(&late, Enqueued::Duplicate(j) if j.id == 1 && j.state == JobState::Succeeded));
}

pub fn lifecycle_moves_through_indexes<S: JobStore>(s: &S) {
    for n in 1..=4 {
        add(s, n);
    }
    assert_eq!(ids(&s.queued().unwrap()), [1, 2, 3, 4]);
    assert_eq!(ids(&s.active().unwrap()), [1, 2, 3, 4]);

    let running = set_state(s, 1, JobState::Running { step: 0 }).unwrap();
    assert!(running.started_ms.is_some());
    set_state(s, 2, JobState::Running { step: 0 }).unwrap();
    set_state(s, 3, JobState::Running { step: 0 }).unwrap();
    assert_eq!(ids(&s.queued().unwrap()), [4]);
    assert_eq!(ids(&s.active().unwrap()), [1, 2, 3, 4]);

    // Progress within Running keeps the job active and its first start time.
    let step1 = set_state(s, 1, JobState::Running { step: 1 }).unwrap();
    assert_eq!(step1.started_ms, running.started_ms);
    assert_eq!(step1.state, JobState::Running { step: 1 });

    let done = set_state(s, 1, JobState::Succeeded).unwrap();
    assert!(done.finished_ms.is_some());
    let failed = set_state(
        s,
        2,
        JobState::Failed {
            reason: "boom".into(),
        },
    )
    .unwrap();
    assert!(failed.finished_ms.is_some());
    set_state(s, 3, JobState::Cancelled).unwrap();
    assert_eq!(ids(&s.active().unwrap()), [4]);

    // A queued job can be cancelled directly: it leaves both indexes.
    let cancelled = set_state(s, 4, JobState::Cancelled).unwrap();
    assert_eq!(cancelled.started_ms, None);
    assert!(s.queued().unwrap().is_empty());
    assert!(s.active().unwrap().is_empty());
    assert_eq!(
        s.get(2).unwrap().unwrap().state,
        JobState::Failed {
            reason: "boom".into()
        }
    );
}

pub fn terminal_jobs_are_immutable<S: JobStore>(s: &S) {
    for (n, end) in [
        (1, JobState::Succeeded),
        (2, JobState::Failed { reason: "x".into() }),
        (3, JobState::Cancelled),
    ] {
        add(s, n);
        let word = end.word();
        let finished = set_state(s, n.into(), end).unwrap();
        let mut called = false;
        let err = s
            .update(n.into(), &mut |job: &mut Job| {
                called = true;
                job.resumes += 1;
                Ok(())
            })
            .unwrap_err();
        assert!(!called, "the change must not even run on a finished job");
        assert!(
            matches!(&err, StoreError::Conflict { id, state, .. } if *id == JobId::from(n) && *state == word),
            "{err:?}"
        );
        assert_eq!(s.get(n.into()).unwrap().unwrap(), finished);
        assert!(matches!(
            set_state(s, n.into(), JobState::Queued),
            Err(StoreError::Conflict { .. })
        ));
    }
}

pub fn refused_change_leaves_job_unchanged<S: JobStore>(s: &S) {
    add(s, 1);
    let before = s.get(1).unwrap().unwrap();
    let err = s
        .update(1, &mut |job: &mut Job| {
            job.state = JobState::Running { step: 3 };
            job.plan = vec![Step::Selftest(9)];
            Err("not now".into())
        })
        .unwrap_err();
    match err {
        StoreError::Conflict { id, state, what } => {
            assert_eq!((id, state, what.as_str()), (1, "queued", "not now"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.get(1).unwrap().unwrap(), before);
    assert_eq!(ids(&s.queued().unwrap()), [1]);
}

pub fn running_cannot_go_back_to_queue<S: JobStore>(s: &S) {
    add(s, 1);
    let running = set_state(s, 1, JobState::Running { step: 2 }).unwrap();
    let err = set_state(s, 1, JobState::Queued).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                id: 1,
                state: "running",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.get(1).unwrap().unwrap(), running);
    assert!(s.queued().unwrap().is_empty());
    assert_eq!(ids(&s.active().unwrap()), [1]);
}

pub fn renumbering_is_refused<S: JobStore>(s: &S) {
    add(s, 1);
    let err = s
        .update(1, &mut |job: &mut Job| {
            job.id = 9;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                id: 1,
                state: "queued",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.get(9).unwrap(), None);
    // An accepted no-op change returns the job as stored.
    let same = s.update(1, &mut |_: &mut Job| Ok(())).unwrap();
    assert_eq!(same, s.get(1).unwrap().unwrap());
}

pub fn update_of_missing_job<S: JobStore>(s: &S) {
    let err = set_state(s, 42, JobState::Cancelled).unwrap_err();
    assert!(matches!(err, StoreError::NoSuchJob(42)), "{err:?}");
    add(s, 1);
    assert!(matches!(
        set_state(s, 2, JobState::Cancelled),
        Err(StoreError::NoSuchJob(2))
    ));
    assert!(matches!(
        s.append_log(2, "x"),
        Err(StoreError::NoSuchJob(2))
    ));
}

pub fn recent_is_newest_first_and_limited<S: JobStore>(s: &S) {
    assert!(s.recent(10).unwrap().is_empty());
    for n in 1..=5 {
        add(s, n);
    }
    set_state(s, 2, JobState::Cancelled).unwrap();
    assert_eq!(ids(&s.recent(3).unwrap()), [5, 4, 3]);
    assert_eq!(ids(&s.recent(100).unwrap()), [5, 4, 3, 2, 1]);
    assert!(s.recent(0).unwrap().is_empty());
    assert_eq!(s.recent(4).unwrap()[3].state, JobState::Cancelled);
}

pub fn log_tail_order_and_count<S: JobStore>(s: &S) {
    add(s, 1);
    add(s, 2);
    for i in 1..=5 {
        s.append_log(1, &format!("one {i}")).unwrap();
        if i <= 2 {
            s.append_log(2, &format!("two {i}")).unwrap();
        }
    }
    let text =
        |lines: Vec<labkube::store::LogLine>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
    assert_eq!(text(s.log_tail(1, 3).unwrap()), ["one 3", "one 4", "one 5"]);
    assert_eq!(text(s.log_tail(1, 100).unwrap()).len(), 5);
    assert_eq!(text(s.log_tail(2, 10).unwrap()), ["two 1", "two 2"]);
    assert!(s.log_tail(1, 0).unwrap().is_empty());
    assert!(s.log_tail(77, 5).unwrap().is_empty());
    assert!(s.log_tail(1, 1).unwrap()[0].at_ms > 0);
    // Lines may be added to a finished job (its last words).
    set_state(s, 2, JobState::Succeeded).unwrap();
    s.append_log(2, "two 3").unwrap();
    assert_eq!(text(s.log_tail(2, 1).unwrap()), ["two 3"]);
}

pub fn audit_is_dense<S: JobStore>(s: &S) {
    assert!(s.recent_audit(5).unwrap().is_empty());
    for (i, cmd) in ["/a", "/b", "/c"].into_iter().enumerate() {
        assert_eq!(s.append_audit(audit_entry(cmd)).unwrap(), i as u64 + 1);
    }
    let recent = s.recent_audit(2).unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|e| (e.seq, e.command.as_str()))
            .collect::<Vec<_>>(),
        [(3, "/c"), (2, "/b")]
    );
    assert_eq!(
        recent[0],
        AuditEntry {
            seq: 3,
            chain: recent[0].chain.clone(),
            ..audit_entry("/c")
        }
    );
    assert_eq!(recent[0].chain.len(), 64, "a SHA-256 link, in hex");
    assert_eq!(s.recent_audit(10).unwrap().len(), 3);
}

pub fn cluster_registry<S: JobStore>(s: &S) {
    assert_eq!(s.cluster("lab").unwrap(), None);
    s.put_cluster(cluster("lab", "r1")).unwrap();
    s.put_cluster(cluster("edge", "r2")).unwrap();
    assert_eq!(s.cluster("lab").unwrap(), Some(cluster("lab", "r1")));
    let names = |s: &S| {
        s.clusters()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(s), ["edge", "lab"]);
    s.put_cluster(cluster("lab", "r3")).unwrap();
    assert_eq!(s.cluster("lab").unwrap().unwrap().owner_room, "r3");
    assert_eq!(s.clusters().unwrap().len(), 2);
    assert!(s.remove_cluster("lab").unwrap());
    assert!(!s.remove_cluster("lab").unwrap());
    assert_eq!(s.cluster("lab").unwrap(), None);
    assert_eq!(names(s), ["edge"]);
}

pub fn small_records_by_space<S: JobStore>(s: &S) {
    assert_eq!(s.kv_get(Space::HostKeys, "127.0.0.2:22").unwrap(), None);
    s.kv_put(Space::HostKeys, "127.0.0.2:22", "ssh-ed25519 AAAA")
        .unwrap();
    s.kv_put(Space::RoomClusters, "127.0.0.2:22", "other space")
        .unwrap();
    assert_eq!(
        s.kv_get(Space::HostKeys, "127.0.0.2:22")
            .unwrap()
            .as_deref(),
        Some("ssh-ed25519 AAAA")
    );
    assert_eq!(
        s.kv_get(Space::RoomClusters, "127.0.0.2:22")
            .unwrap()
            .as_deref(),
        Some("other space"),
        "spaces are separate"
    );
    s.kv_put(Space::HostKeys, "127.0.0.2:22", "ssh-ed25519 BBBB")
        .unwrap();
    assert_eq!(
        s.kv_get(Space::HostKeys, "127.0.0.2:22")
            .unwrap()
            .as_deref(),
        Some("ssh-ed25519 BBBB")
    );
    s.kv_put(Space::HostKeys, "127.0.0.1:22", "ssh-ed25519 CCCC")
        .unwrap();
    assert_eq!(
        s.kv_list(Space::HostKeys).unwrap(),
        vec![
            ("127.0.0.1:22".to_string(), "ssh-ed25519 CCCC".to_string()),
            ("127.0.0.2:22".to_string(), "ssh-ed25519 BBBB".to_string()),
        ],
        "listed by key, one space only"
    );
    assert!(s.kv_remove(Space::HostKeys, "127.0.0.2:22").unwrap());
    assert!(!s.kv_remove(Space::HostKeys, "127.0.0.2:22").unwrap());
    assert_eq!(s.kv_get(Space::Kubeconfigs, "lab").unwrap(), None);
}

pub fn concurrent_enqueues_are_dense<S: JobStore>(s: &S) {
    let per_thread: Vec<Vec<JobId>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u32)
            .map(|t| {
                scope.spawn(move || {
                    (0..100u32)
                        .map(|i| add(s, t * 1000 + i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ids in &per_thread {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "one submitter's ids increase"
        );
    }
    let all: BTreeSet<JobId> = per_thread.into_iter().flatten().collect();
    assert_eq!(all, (1..=800).collect::<BTreeSet<_>>());
    assert_eq!(s.recent(10_000).unwrap().len(), 800);
    assert_eq!(s.queued().unwrap().len(), 800);
}

pub fn import_finished_history<S: Import>(s: &S) {
    assert_eq!(
        s.import((1..=1000).map(finished_job).collect()).unwrap(),
        1000
    );
    assert!(s.active().unwrap().is_empty());
    assert!(s.queued().unwrap().is_empty());
    assert_eq!(add(s, 1), 1001);
    assert_eq!(ids(&s.active().unwrap()), [1001]);
    assert_eq!(ids(&s.recent(3).unwrap()), [1001, 1000, 999]);
    assert_eq!(s.get(500).unwrap(), Some(finished_job(500)));
    // Repeating an import is harmless; a different job under a taken number is not.
    assert_eq!(s.import(vec![finished_job(7)]).unwrap(), 0);
    let mut other = finished_job(7);
    other.command_text = "/other".into();
    assert!(matches!(
        s.import(vec![other]),
        Err(StoreError::Conflict { id: 7, .. })
    ));
    let mut live = finished_job(2000);
    live.state = JobState::Running { step: 0 };
    assert!(matches!(
        s.import(vec![live]),
        Err(StoreError::Conflict {
            id: 2000,
            state: "running",
            ..
        })
    ));
    assert_eq!(s.get(2000).unwrap(), None);
    let twice = vec![finished_job(3000), finished_job(3000)];
    assert!(matches!(
        s.import(twice),
        Err(StoreError::Conflict { id: 3000, .. })
    ));
    assert_eq!(s.get(3000).unwrap(), None);
    assert_eq!(add(s, 2), 1002);
}
