//! `labkube audit verify` on a real data directory: the trail the console bot wrote verifies,
//! and an entry edited on disk afterwards is found and fails the command.

use std::path::Path;
use std::time::Duration;

use labkube_testkit::support::{Bot, fast_config};

const LIMIT: Duration = Duration::from_secs(30);

fn verify(data: &Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labkube"))
        .args(["audit", "verify", "--data"])
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn audit_verify_passes_an_intact_trail_and_fails_an_edited_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console(&config, &data);
    bot.say("/selftest steps=1 ms=10");
    bot.expect("queued job #1", LIMIT);
    bot.say("/cancel 1");
    bot.finish(LIMIT);

    let (ok, text) = verify(&data);
    assert!(
        ok && text.starts_with("audit trail intact: 2 entries (#1 to #2); head "),
        "{text}"
    );

    // Someone with the data directory rewrites what the first entry says was done.
    {
        let db = sled::Config::new().path(&data).open().unwrap();
        let audit = db.open_tree("audit").unwrap();
        let raw = audit.get(1u64.to_be_bytes()).unwrap().unwrap();
        let mut entry: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        entry["command"] = "/selftest steps=2".into();
        audit
            .insert(1u64.to_be_bytes(), serde_json::to_vec(&entry).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let (ok, text) = verify(&data);
    assert!(
        !ok && text.contains("audit trail BROKEN at entry #1"),
        "{text}"
    );
}
