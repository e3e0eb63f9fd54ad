//! What only the shared store must do, on a real 3-member etcd cluster: keep secrets sealed
//! from whoever reads etcd, carry on with a member lost, refuse with the reason (and change
//! nothing) without a quorum and recover after it, keep job numbers dense across two replicas
//! writing at once, and refuse a deposed leader's write as a whole.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use labkube::store::{EtcdStore, Fence, JobStore, Leadership, Space, StoreError};
use labkube_testkit::etcd::{EtcdCluster, store_settings, store_settings_with_key};

use super::{add, etcd_store, set_state};
use labkube::store::JobState;

fn etcdctl_text(cluster: &EtcdCluster, args: &[&str]) -> String {
    let out = cluster.etcdctl(args);
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `work(t)` on `n` threads at once (t = 0..n) and gathers what they return.
fn in_threads<T: Send>(n: u32, work: impl Fn(u32) -> Vec<T> + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = (0..n).map(|t| scope.spawn(move || work(t))).collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Retries `f` until it succeeds, for at most 30 s (a client reconnecting after the cluster
/// came back).
fn eventually<T>(what: &str, mut f: impl FnMut() -> Result<T, StoreError>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() < deadline => {
                eprintln!("{what}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{what} still fails after 30 s: {e}"),
        }
    }
}

#[test]
fn kubeconfigs_are_sealed_in_etcd_and_open_only_with_the_key() {
    let (store, cluster) = etcd_store();
    let yaml = "apiVersion: v1\nusers:\n- user:\n    token: s3cret-admin-token\n";
    store.kv_put(Space::Kubeconfigs, "demo", yaml).unwrap();
    store
        .kv_put(Space::HostKeys, "10.0.0.1:22", "ssh-ed25519 AAAA")
        .unwrap();
    assert_eq!(
        store.kv_get(Space::Kubeconfigs, "demo").unwrap().as_deref(),
        Some(yaml)
    );
    let raw = etcdctl_text(&cluster, &["get", "--prefix", "/"]);
    assert!(
        raw.contains("ssh-ed25519 AAAA"),
        "host keys are not secret: {raw}"
    );
    assert!(
        raw.contains("kubeconfigs/demo"),
        "the record is there: {raw}"
    );
    assert!(
        !raw.contains("s3cret") && !raw.contains("apiVersion"),
        "a kubeconfig reached etcd in the clear: {raw}"
    );
    let other_key = "ff".repeat(32);
    let intruder =
        EtcdStore::open(&store_settings_with_key(&cluster.endpoints(), &other_key)).unwrap();
    let refused = intruder.kv_get(Space::Kubeconfigs, "demo").unwrap_err();
    assert!(matches!(refused, StoreError::Seal(_)), "{refused}");
    assert!(!refused.to_string().contains("s3cret"), "{refused}");
}

#[test]
fn with_one_member_of_three_lost_the_store_carries_on() {
    let (store, mut cluster) = etcd_store();
    let first = add(&store, 1);
    cluster.kill(0);
    let second = eventually("enqueue with member 0 dead", || {
        store.enqueue(super::new_job(2), "k2").map(|e| e.job().id)
    });
    assert_eq!((first, second), (1, 2));
    set_state(&store, second, JobState::Running { step: 0 }).unwrap();
    assert_eq!(store.active().unwrap().len(), 2);
    assert_eq!(store.queued().unwrap().len(), 1);
}

#[test]
fn without_a_quorum_changes_are_refused_with_the_reason_and_made_after_recovery() {
    let (store, mut cluster) = etcd_store();
    add(&store, 1);
    cluster.stop_all();
    let refused = store.enqueue(super::new_job(2), "k2").unwrap_err();
    assert!(
        matches!(refused, StoreError::Unavailable { .. }),
        "{refused:?}"
    );
    let text = refused.to_string();
    assert!(
        text.contains("etcd store at http://127.0.0.1:") && text.contains("unavailable"),
        "{text}"
    );
    assert!(store.kv_put(Space::Told, "1", "1").is_err());
    cluster.start_all();
    let id = eventually("enqueue after recovery", || {
        store.enqueue(super::new_job(2), "k2").map(|e| e.job().id)
    });
    assert_eq!(
        id, 2,
        "the refused enqueue stored nothing, not even a number"
    );
    assert_eq!(store.recent(10).unwrap().len(), 2);
}

#[test]
fn two_replicas_writing_at_once_keep_job_numbers_dense() {
    let (a, cluster) = etcd_store();
    let b = EtcdStore::open(&store_settings(&cluster.endpoints())).unwrap();
    // Two threads on each replica.
    let ids: Vec<u64> = in_threads(4, |t| {
        let (r, store) = if t < 2 { (0, &a) } else { (1, &b) };
        (0..25u32)
            .map(|i| add(store, r * 10_000 + (t % 2) * 1000 + i))
            .collect()
    });
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a number was handed out twice");
    assert_eq!(unique, (1..=100).collect::<BTreeSet<_>>());
    assert!(matches!(
        a.audit_verify().unwrap(),
        labkube::store::audit_chain::Verdict::Intact { entries: 100, .. }
    ));
}

#[test]
fn a_deposed_leaders_late_write_is_refused_as_a_whole() {
    let (store, cluster) = etcd_store();
    etcdctl_text(&cluster, &["put", "/election/labkube/a", "replica-a"]);
    let revision = create_revision(&cluster, "/election/labkube/a");
    store.set_fence(Some(Fence {
        key: b"/election/labkube/a".to_vec(),
        revision,
    }));
    add(&store, 1);
    // Another replica wins: the old key went with its lease, a new one was made.
    etcdctl_text(&cluster, &["del", "/election/labkube/a"]);
    etcdctl_text(&cluster, &["put", "/election/labkube/b", "replica-b"]);
    let late = store.enqueue(super::new_job(2), "k2").unwrap_err();
    assert!(matches!(late, StoreError::Deposed), "{late:?}");
    assert!(set_state(&store, 1, JobState::Running { step: 0 }).is_err());
    assert!(matches!(
        store.append_log(1, "late line"),
        Err(StoreError::Deposed)
    ));
    store.set_fence(None);
    assert_eq!(
        store.recent(10).unwrap().len(),
        1,
        "nothing of the late writes"
    );
    assert_eq!(store.get(1).unwrap().unwrap().state, JobState::Queued);
    assert!(store.log_tail(1, 10).unwrap().is_empty());
}

#[test]
fn a_log_line_for_a_missing_job_is_refused() {
    let (store, _cluster) = etcd_store();
    assert!(matches!(
        store.append_log(7, "x"),
        Err(StoreError::NoSuchJob(7))
    ));
}

/// The key's `create_revision`, from `etcdctl get -w json`.
fn create_revision(cluster: &EtcdCluster, key: &str) -> i64 {
    let json = etcdctl_text(cluster, &["get", key, "-w", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["kvs"][0]["create_revision"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_replica_leads_a_standby_waits_and_takes_over_when_it_steps_down() {
    let (a, cluster) = etcd_store();
    let b = EtcdStore::open(&store_settings(&cluster.endpoints())).unwrap();
    let lease = Duration::from_secs(2);
    let mut ea = a.campaign("replica-a", lease);
    tokio::time::timeout(Duration::from_secs(10), ea.leading())
        .await
        .unwrap()
        .unwrap();
    let mut eb = b.campaign("replica-b", lease);
    // Longer than the lease: the leader renews it, the standby keeps waiting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(eb.current(), Leadership::Standby);
    add(&a, 1);
    let stepped = Instant::now();
    ea.step_down(Duration::from_secs(5)).await;
    tokio::time::timeout(Duration::from_secs(10), eb.leading())
        .await
        .unwrap()
        .unwrap();
    eprintln!("standby led {:?} after the step-down", stepped.elapsed());
    // The old leader's store is still fenced by its (now deleted) key.
    assert!(matches!(
        a.enqueue(super::new_job(2), "k2"),
        Err(StoreError::Deposed)
    ));
    add(&b, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_whose_election_key_is_gone_knows_it_lost() {
    let (a, cluster) = etcd_store();
    let mut ea = a.campaign("replica-a", Duration::from_secs(2));
    let fence = tokio::time::timeout(Duration::from_secs(10), ea.leading())
        .await
        .unwrap()
        .unwrap();
    let key = String::from_utf8(fence.key.clone()).unwrap();
    etcdctl_text(&cluster, &["del", &key]);
    let why = tokio::time::timeout(Duration::from_secs(5), ea.lost())
        .await
        .unwrap();
    assert!(why.contains("election key is gone"), "{why}");
    assert!(matches!(
        a.kv_put(Space::Told, "1", "1"),
        Err(StoreError::Deposed)
    ));
}

/// Eight writers of one process enqueue at once, so enqueues commit together in batches
/// (`store/etcd/batch.rs`): half of them creates of clusters another writer is creating too.
/// Every create but one per cluster is refused with the conflict and leaves nothing behind
/// (no number, no dedupe entry, no claim, no audit entry); the rest get dense numbers and one
/// unbroken audit chain.
#[test]
fn enqueues_committed_together_keep_numbers_dense_and_refuse_conflicts_alone() {
    use super::claims::create;
    let (store, _cluster) = etcd_store();
    let answers: Vec<(String, Result<u64, StoreError>)> = in_threads(8, |t| {
        (0..10u32)
            .map(|i| {
                let event = format!("e{t}-{i}");
                let job = if i % 2 == 0 {
                    create(
                        &format!("c{i}"),
                        &[u8::try_from(i + 1).unwrap()],
                        &format!("r{t}"),
                        &event,
                    )
                } else {
                    super::new_job(t * 100 + i)
                };
                let key = job.origin.dedupe_key();
                (event, store.enqueue(job, &key).map(|e| e.job().id))
            })
            .collect()
    });
    let ids: BTreeSet<u64> = answers
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().copied())
        .collect();
    let refused: Vec<&String> = answers
        .iter()
        .filter(|(_, r)| matches!(r, Err(StoreError::Claimed(_))))
        .map(|(e, _)| e)
        .collect();
    // 40 selftests and one create per cluster name (5) taken; 35 creates refused.
    assert_eq!(ids.len(), 45, "{answers:?}");
    assert_eq!(ids, (1..=45).collect::<BTreeSet<_>>(), "numbers stay dense");
    assert_eq!(refused.len(), 35);
    assert!(matches!(
        store.audit_verify().unwrap(),
        labkube::store::audit_chain::Verdict::Intact { entries: 45, .. }
    ));
    // The refused ones left no dedupe entry: the same message, for a free cluster, is new.
    let again = refused[0];
    let (t, i) = again[1..].split_once('-').unwrap();
    let retry = create("free", &[200], &format!("r{t}"), &format!("e{t}-{i}"));
    let key = retry.origin.dedupe_key();
    match store.enqueue(retry, &key).unwrap() {
        labkube::store::Enqueued::New(job) => assert_eq!(job.id, 46),
        other => panic!("a refused enqueue left its dedupe entry: {other:?}"),
    }
}
