//! `labkube store migrate` and `labkube store export` through the real binary: a sled store
//! with 10,000 jobs moved to a 3-member etcd, twice (the second run changes nothing), with the
//! counts checked, kubeconfigs sealed on arrival, the audit chain intact and job numbers going
//! on after the last; an export of the etcd store that lists every record and is private; a
//! target that holds another store's records refused.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use labkube::store::audit_chain::Verdict;
use labkube::store::{EtcdStore, JobStore, SledStore, Space};
use labkube_testkit::etcd::{EtcdCluster, TEST_KEY, store_settings};
use labkube_testkit::support::labkube_bin;

use crate::store_contract::{add, audit_entry, cluster, finished_job};

const JOBS: u64 = 10_000;

fn store_cmd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(labkube_bin())
        .arg("store")
        .args(args)
        .env("LABKUBE_STORE_KEY", TEST_KEY)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_sled_store_of_ten_thousand_jobs_moves_to_etcd_once_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let sled = SledStore::open(&data).unwrap();
        sled.import_finished((1..=JOBS).map(finished_job)).unwrap();
        add(&sled, 1);
        sled.append_audit(audit_entry("/cluster use lab")).unwrap();
        sled.put_cluster(cluster("lab", "lab")).unwrap();
        sled.kv_put(Space::Kubeconfigs, "lab", "apiVersion: v1\ntoken: s3cret\n")
            .unwrap();
        sled.append_log(JOBS + 1, "a line").unwrap();
    }
    let etcd = EtcdCluster::start(3);
    let to = format!("etcd:{}", etcd.endpoints().join(","));
    let from = format!("sled:{}", data.display());

    let (ok, out, err) = store_cmd(&["migrate", "--from", &from, "--to", &to]);
    assert!(ok, "{err}");
    assert!(out.contains("jobs 10001"), "{out}");
    // Only the schema version the etcd store stamped when it was first opened.
    assert!(
        out.contains("kubeconfigs 1") && out.contains("already there as they are: 1;"),
        "{out}"
    );
    let (ok, again, err) = store_cmd(&["migrate", "--from", &from, "--to", &to]);
    assert!(ok, "{err}");
    assert!(
        again.contains("migrated 10015 records")
            && again.contains("already there as they are: 10015;"),
        "{again}"
    );

    let store = EtcdStore::open(&store_settings(&etcd.endpoints())).unwrap();
    assert_eq!(store.get(5_000).unwrap(), Some(finished_job(5_000)));
    assert_eq!(store.active().unwrap().len(), 1);
    assert_eq!(store.log_tail(JOBS + 1, 5).unwrap().len(), 1);
    assert!(store.cluster("lab").unwrap().is_some());
    assert!(matches!(
        store.audit_verify().unwrap(),
        Verdict::Intact { entries: 2, .. }
    ));
    assert_eq!(
        store.kv_get(Space::Kubeconfigs, "lab").unwrap().as_deref(),
        Some("apiVersion: v1\ntoken: s3cret\n")
    );
    let raw = etcd.etcdctl(&["get", "/labkube/kubeconfigs/lab", "--print-value-only"]);
    assert!(
        !String::from_utf8_lossy(&raw.stdout).contains("s3cret"),
        "sealed on arrival"
    );
    assert_eq!(add(&store, 2), JOBS + 2, "numbers go on after the last");

    let file = dir.path().join("backup.jsonl");
    let (ok, _, summary) = store_cmd(&["export", "--store", &to, "--out", file.to_str().unwrap()]);
    assert!(ok, "{summary}");
    assert!(summary.contains("jobs 10002"), "{summary}");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let jobs = lines.iter().filter(|l| l["tree"] == "jobs").count();
    assert_eq!(jobs, 10_002);
    assert!(lines.iter().all(|l| l.get("key_hex").is_some()));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (ok, _, err) = store_cmd(&["export", "--store", &to, "--out", file.to_str().unwrap()]);
    assert!(
        !ok && err.contains("File exists"),
        "never over an existing file: {err}"
    );
}

#[test]
fn a_target_holding_another_stores_records_is_refused_and_bad_names_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let sled = SledStore::open(&data).unwrap();
        add(&sled, 1);
    }
    let etcd = EtcdCluster::start(1);
    {
        let other = EtcdStore::open(&store_settings(&etcd.endpoints())).unwrap();
        add(&other, 7);
        add(&other, 8);
    }
    let to = format!("etcd:{}", etcd.endpoints().join(","));
    let (ok, _, err) = store_cmd(&[
        "migrate",
        "--from",
        &format!("sled:{}", data.display()),
        "--to",
        &to,
    ]);
    assert!(!ok);
    assert!(err.contains("holds records of another store"), "{err}");
    let (ok, _, err) = store_cmd(&["export", "--store", "postgres://x"]);
    assert!(!ok && err.contains("sled:DIR or etcd:URL"), "{err}");
    let (ok, _, err) = store_cmd(&["export", "--store", "etcd:127.0.0.1:2379"]);
    assert!(!ok && err.contains("http://HOST:PORT"), "{err}");
}
