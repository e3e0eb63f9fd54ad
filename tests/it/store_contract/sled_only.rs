//! What only the durable store does: survive a reopen, refuse a second opener, report
//! unreadable records by tree and key.

use super::*;

#[test]
fn everything_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (jobs_before, audit_before, logs_before) = {
        let s = SledStore::open(dir.path()).unwrap();
        for n in 1..=4 {
            add(&s, n);
        }
        set_state(&s, 1, JobState::Running { step: 0 }).unwrap();
        set_state(&s, 2, JobState::Succeeded).unwrap();
        s.append_log(1, "first line").unwrap();
        s.append_log(1, "second line").unwrap();
        s.append_audit(audit_entry("/selftest 1")).unwrap();
        s.put_cluster(cluster("lab", "r1")).unwrap();
        s.flush().unwrap();
        let jobs: Vec<Job> = (1..=4).map(|id| s.get(id).unwrap().unwrap()).collect();
        (
            jobs,
            s.recent_audit(10).unwrap(),
            s.log_tail(1, 10).unwrap(),
        )
    };

    let s = SledStore::open(dir.path()).unwrap();
    let jobs_after: Vec<Job> = (1..=4).map(|id| s.get(id).unwrap().unwrap()).collect();
    assert_eq!(jobs_after, jobs_before);
    assert_eq!(ids(&s.queued().unwrap()), [3, 4]);
    assert_eq!(ids(&s.active().unwrap()), [1, 3, 4]);
    assert_eq!(s.recent_audit(10).unwrap(), audit_before);
    assert_eq!(s.log_tail(1, 10).unwrap(), logs_before);
    assert_eq!(s.clusters().unwrap(), [cluster("lab", "r1")]);

    // Dedupe still dedupes, and the counters continue densely.
    let dup = s.enqueue(new_job(9), "k2").unwrap();
    assert_eq!(dup, Enqueued::Duplicate(jobs_before[1].clone()));
    assert_eq!(add(&s, 5), 5);
    // Four jobs and one entry before the reopen, job 5 now: each job is audited with it.
    assert_eq!(s.append_audit(audit_entry("/x")).unwrap(), 7);
    // Log lines written after the reopen come after the old ones.
    s.append_log(1, "third line").unwrap();
    let texts: Vec<String> = s
        .log_tail(1, 10)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(texts, ["first line", "second line", "third line"]);
    // Terminal jobs stay immutable across restarts.
    assert!(matches!(
        set_state(&s, 2, JobState::Cancelled),
        Err(StoreError::Conflict { .. })
    ));
}

#[test]
fn second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = SledStore::open(dir.path()).unwrap();
    add(&first, 1);
    let err = SledStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let msg = format!(
        "{err}: {}",
        std::error::Error::source(&err)
            .map(|e| e.to_string())
            .unwrap_or_default()
    );
    assert!(msg.contains("another labkube"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    // The first store is unaffected, and once it is gone the directory opens again.
    assert_eq!(add(&first, 2), 2);
    drop(first);
    let again = SledStore::open(dir.path()).unwrap();
    assert_eq!(add(&again, 3), 3);
}

#[test]
fn import_then_reopen_resumes_only_active_jobs() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            s.import_finished((1..=5000).map(finished_job)).unwrap(),
            5000
        );
        assert!(s.active().unwrap().is_empty());
        add(&s, 1);
        add(&s, 2);
        set_state(&s, 5001, JobState::Running { step: 0 }).unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(ids(&s.active().unwrap()), [5001, 5002]);
    assert_eq!(ids(&s.queued().unwrap()), [5002]);
    assert_eq!(ids(&s.recent(3).unwrap()), [5002, 5001, 5000]);
    assert_eq!(add(&s, 3), 5003);
}

#[test]
fn an_unreadable_record_is_set_aside_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        add(&s, 1);
        add(&s, 2);
        add(&s, 3);
        s.put_cluster(cluster("lab", "r1")).unwrap();
        s.put_cluster(cluster("edge", "r2")).unwrap();
    }
    {
        // Damage job 2 and cluster edge behind the store's back (its lock is released once
        // it is dropped).
        let db = ::sled::open(dir.path()).unwrap();
        db.open_tree("jobs")
            .unwrap()
            .insert(2u64.to_be_bytes(), &b"{not json"[..])
            .unwrap();
        db.open_tree("clusters")
            .unwrap()
            .insert("edge", &b"[]"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    // Listings and the worker's queue go on without it.
    assert_eq!(ids(&s.active().unwrap()), [1, 3]);
    assert_eq!(ids(&s.queued().unwrap()), [1, 3]);
    assert_eq!(ids(&s.recent(10).unwrap()), [3, 1]);
    assert_eq!(s.get(2).unwrap(), None);
    assert_eq!(s.clusters().unwrap(), [cluster("lab", "r1")]);
    // It is kept, with why, and reported.
    let set_aside = s.quarantined().unwrap();
    let names: Vec<String> = set_aside
        .iter()
        .map(|q| format!("{}/{}", q.tree, q.key))
        .collect();
    assert_eq!(names, ["clusters/edge", "jobs/2"]);
    assert_eq!(set_aside[1].raw_hex, "7b6e6f74206a736f6e");
    assert!(
        set_aside[1].to_string().contains("jobs/2 is unreadable"),
        "{}",
        set_aside[1]
    );
    // New jobs still get new numbers.
    assert_eq!(add(&s, 4), 4);
}
