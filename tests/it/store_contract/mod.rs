//! The [`JobStore`] contract. Every test in [`contract`] is one generic function run against
//! [`MemoryStore`], [`SledStore`] and [`EtcdStore`] (on a real 3-member etcd cluster) by
//! [`contract_tests!`]; [`sled_only`] covers what only a durable store on disk can do (reopen,
//! the directory lock, on-disk decode errors), [`etcd_only`] what only a shared one must
//! (sealed secrets, losing members and the quorum, fencing).

// Shared helpers are plain functions, which clippy's `allow-unwrap-in-tests` does not cover; in
// a test a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use labkube::store::{
    AuditEntry, AuditOutcome, ClusterJob, ClusterRecord, Enqueued, EtcdStore, Job, JobId, JobKind,
    JobState, JobStore, NewJob, NodeRecord, Origin, Requester, SledStore, Space, Step, StoreError,
};
use labkube_testkit::etcd::EtcdCluster;
use labkube_testkit::memory_store::MemoryStore;

/// Bulk import of history, an inherent method of both stores (not part of the trait).
pub trait Import: JobStore {
    fn import(&self, jobs: Vec<Job>) -> Result<usize, StoreError>;
}

impl Import for MemoryStore {
    fn import(&self, jobs: Vec<Job>) -> Result<usize, StoreError> {
        self.import_finished(jobs)
    }
}

impl Import for SledStore {
    fn import(&self, jobs: Vec<Job>) -> Result<usize, StoreError> {
        self.import_finished(jobs)
    }
}

impl Import for EtcdStore {
    fn import(&self, jobs: Vec<Job>) -> Result<usize, StoreError> {
        self.import_finished(jobs)
    }
}

/// An etcd store on a fresh 3-member cluster; the cluster is the guard.
pub fn etcd_store() -> (EtcdStore, EtcdCluster) {
    let cluster = EtcdCluster::start(3);
    let store =
        EtcdStore::open(&labkube_testkit::etcd::store_settings(&cluster.endpoints())).unwrap();
    (store, cluster)
}

pub fn who() -> Requester {
    Requester {
        platform: "console".into(),
        user: "alice".into(),
    }
}

pub fn new_job(n: u32) -> NewJob {
    NewJob {
        plan: Vec::new(),
        kind: JobKind::selftest(n, 10),
        requested_by: who(),
        origin: Origin {
            platform: "console".into(),
            room: "lab".into(),
            event_id: format!("ev{n}"),
        },
        command_text: format!("/selftest {n}"),
    }
}

/// Enqueues `new_job(n)` under key `k{n}` and returns the new job's id.
pub fn add<S: JobStore>(s: &S, n: u32) -> JobId {
    match s.enqueue(new_job(n), &format!("k{n}")).unwrap() {
        Enqueued::New(job) => job.id,
        Enqueued::Duplicate(job) => panic!("k{n} was a duplicate of #{}", job.id),
        Enqueued::Unconfirmed(job) => panic!("job #{} was not flushed to disk", job.id),
    }
}

pub fn set_state<S: JobStore>(s: &S, id: JobId, state: JobState) -> Result<Job, StoreError> {
    s.update(id, &mut |job: &mut Job| {
        job.state = state.clone();
        Ok(())
    })
}

pub fn ids(jobs: &[Job]) -> Vec<JobId> {
    jobs.iter().map(|j| j.id).collect()
}

pub fn finished_job(id: JobId) -> Job {
    Job {
        id,
        kind: JobKind::selftest(1, 1),
        requested_by: who(),
        origin: Origin {
            platform: "console".into(),
            room: "lab".into(),
            event_id: format!("old{id}"),
        },
        command_text: "/selftest 1".into(),
        target: None,
        state: JobState::Succeeded,
        plan: vec![Step::Selftest(1)],
        steps: Vec::new(),
        failed_step: None,
        cancel_requested: None,
        resumes: 0,
        hosts: Vec::new(),
        marks: Default::default(),
        rollout: Vec::new(),
        tell_outcome: true,
        summary: None,
        live_message: None,
        created_ms: 1_000,
        started_ms: Some(1_001),
        finished_ms: Some(1_002),
    }
}

pub fn audit_entry(command: &str) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at_ms: 5,
        who: who(),
        room: "lab".into(),
        command: command.into(),
        outcome: AuditOutcome::Done,
        chain: String::new(),
    }
}

pub fn cluster(name: &str, room: &str) -> ClusterRecord {
    ClusterRecord {
        name: name.into(),
        owner_platform: "console".into(),
        owner_room: room.into(),
        created_ms: 7,
        k8s_version: "v1.33.4".into(),
        nodes: vec![NodeRecord {
            addr: "10.0.0.1".parse().unwrap(),
            port: 22,
            user: "root".into(),
            role: "control-plane".into(),
            hostname: "cp1".into(),
            avx: None,
        }],
        creating: None,
        pod_cidr: None,
        endpoint: None,
    }
}

/// Instantiates every contract test for one store; `$make` yields `(store, guard)`, the guard
/// (e.g. a temporary directory) living as long as the test.
macro_rules! contract_tests {
    ($module:ident, $make:expr) => {
        contract_tests!(@tests $module, $make, [
            contract::dense_ids_from_one, contract::dedupe_returns_the_first_job,
            contract::lifecycle_moves_through_indexes, contract::terminal_jobs_are_immutable,
            contract::refused_change_leaves_job_unchanged,
            contract::running_cannot_go_back_to_queue, contract::renumbering_is_refused,
            contract::update_of_missing_job, contract::recent_is_newest_first_and_limited,
            contract::log_tail_order_and_count, contract::audit_is_dense,
            contract::cluster_registry, contract::concurrent_enqueues_are_dense,
            contract::small_records_by_space, contract::import_finished_history,
            claims::a_create_holds_its_name_and_hosts, claims::a_failed_create_lets_go,
            claims::registering_is_a_compare_and_swap, claims::removing_a_cluster_frees_its_claims,
            claims::a_plan_checks_without_holding, claims::reclaim_checks_again,
            audit::a_queued_job_is_audited_with_it,
            audit::the_audit_trail_is_a_hash_chain_kept_by_retention,
        ]);
    };
    (@tests $module:ident, $make:expr, [$($src:ident :: $test:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $test() {
                    let (store, _guard) = $make;
                    super::$src::$test(&store);
                }
            )*
        }
    };
}

contract_tests!(memory, (MemoryStore::new(), ()));
contract_tests!(etcd_store, etcd_store());
contract_tests!(sled_store, {
    let dir = tempfile::tempdir().unwrap();
    (SledStore::open(dir.path()).unwrap(), dir)
});

mod audit;
mod claims;
mod contract;
mod etcd_only;
mod schema;
mod sled_only;
