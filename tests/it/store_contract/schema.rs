//! The store's schema version: a store from before the host index opens and gets one built
//! from its registry and active creates; a store from a newer release is refused unchanged.

use labkube::store::ClusterSpec;
use labkube::store::claims::ClaimKey;

use super::*;

/// The store's sled database, opened directly. A `Db` just dropped can hold its file lock a
/// moment longer (sled's flusher thread ends after it), so a busy lock is retried, bounded.
fn raw(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::Config::new().path(dir).open() {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open the store's database: {e}"),
        }
    }
}

fn create(name: &str, host: std::net::IpAddr, room: &str) -> NewJob {
    let mut job = new_job(1);
    job.kind = JobKind::Cluster(ClusterJob::Create(ClusterSpec {
        name: name.into(),
        hosts: vec![host],
        user: None,
        port: None,
        k8s: None,
        pod_cidr: None,
        control_planes: None,
        endpoint: None,
    }));
    job.origin.room = room.into();
    job
}

#[test]
fn a_store_from_before_the_host_index_gets_one_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let edge_host: std::net::IpAddr = "10.0.0.5".parse().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.put_cluster(cluster("lab", "r1")).unwrap();
        s.enqueue(create("edge", edge_host, "r2"), "e1").unwrap();
    }
    // What a release before schema 2 left: no claims, no version.
    {
        let db = raw(dir.path());
        db.drop_tree("claims").unwrap();
        db.open_tree("meta")
            .unwrap()
            .remove("schema_version")
            .unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    let claims = s.claims().unwrap();
    let lab_host = ClaimKey::host("10.0.0.1".parse().unwrap());
    let find = |k: &ClaimKey| {
        claims
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, c)| c.clone())
    };
    let lab = find(&lab_host).unwrap();
    assert_eq!((lab.cluster.as_str(), lab.registered), ("lab", true));
    let edge = find(&ClaimKey::host(edge_host)).unwrap();
    assert_eq!((edge.cluster.as_str(), edge.job), ("edge", Some(1)));
    // The index is enforced from then on.
    let e = s
        .enqueue(create("mine", "10.0.0.1".parse().unwrap(), "r3"), "e2")
        .unwrap_err();
    assert!(matches!(e, StoreError::Claimed(_)), "{e}");
    drop(s);
    let version = raw(dir.path())
        .open_tree("meta")
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap();
    assert_eq!(
        version.as_ref(),
        labkube::store::SCHEMA_VERSION.to_be_bytes()
    );
}

#[test]
fn a_store_from_a_newer_release_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    let newer = (labkube::store::SCHEMA_VERSION + 1).to_be_bytes();
    {
        let db = raw(dir.path());
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &newer)
            .unwrap();
        db.flush().unwrap();
    }
    let e = SledStore::open(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("written by a newer labkube") && e.contains("run that release"),
        "{e}"
    );
    let kept = raw(dir.path())
        .open_tree("meta")
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap();
    assert_eq!(kept.as_ref(), newer);
}

/// Rewrites audit entry `seq` in place with `edit`, as someone with the data directory could.
fn tamper(dir: &std::path::Path, seq: u64, edit: impl Fn(&mut serde_json::Value)) {
    let db = raw(dir);
    let audit = db.open_tree("audit").unwrap();
    let raw_entry = audit.get(seq.to_be_bytes()).unwrap().unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&raw_entry).unwrap();
    edit(&mut v);
    audit
        .insert(seq.to_be_bytes(), serde_json::to_vec(&v).unwrap())
        .unwrap();
    db.flush().unwrap();
}

#[test]
fn an_edited_or_removed_audit_entry_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        for cmd in ["/a", "/b", "/c"] {
            s.append_audit(audit_entry(cmd)).unwrap();
        }
        assert!(
            s.audit_verify()
                .unwrap()
                .to_string()
                .starts_with("audit trail intact: 3 entries")
        );
    }
    tamper(dir.path(), 2, |v| {
        v["command"] = "/cluster use nothing".into()
    });
    let verdict = SledStore::open(dir.path()).unwrap().audit_verify().unwrap();
    assert!(
        verdict.to_string().contains("BROKEN at entry #2"),
        "{verdict}"
    );

    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        for cmd in ["/a", "/b", "/c"] {
            s.append_audit(audit_entry(cmd)).unwrap();
        }
    }
    {
        let db = raw(dir.path());
        let audit = db.open_tree("audit").unwrap();
        // Removing the last entry is found through the recorded head.
        audit.remove(3u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let verdict = SledStore::open(dir.path()).unwrap().audit_verify().unwrap();
    assert!(
        verdict.to_string().contains("BROKEN at entry #3")
            && verdict.to_string().contains("removed"),
        "{verdict}"
    );
}

#[test]
fn entries_from_before_the_chain_are_linked_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.append_audit(audit_entry("/a")).unwrap();
        s.append_audit(audit_entry("/b")).unwrap();
    }
    // Schema 2 wrote no links and no head.
    for seq in [1, 2] {
        tamper(dir.path(), seq, |v| {
            v.as_object_mut().unwrap().remove("chain");
        });
    }
    {
        let db = raw(dir.path());
        let meta = db.open_tree("meta").unwrap();
        meta.remove("audit_head").unwrap();
        meta.insert("schema_version", &2u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    let verdict = s.audit_verify().unwrap().to_string();
    assert!(
        verdict.starts_with("audit trail intact: 2 entries"),
        "{verdict}"
    );
}
