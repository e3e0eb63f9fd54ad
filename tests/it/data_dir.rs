//! The data directory holds every cluster's admin kubeconfig: it is 0700 and its files 0600
//! whatever umask the bot is started with, files created later included, and an existing
//! directory left readable by an earlier version is repaired on open.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use labkube_testkit::support::{Bot, fast_config};

const LIMIT: Duration = Duration::from_secs(30);

/// Every path under `dir` (itself included) with its mode, depth-first.
fn modes(dir: &Path, out: &mut Vec<(String, u32)>) {
    let meta = std::fs::symlink_metadata(dir).unwrap();
    out.push((
        dir.display().to_string(),
        meta.permissions().mode() & 0o7777,
    ));
    if meta.is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            modes(&e.unwrap().path(), out);
        }
    }
}

fn assert_private(data: &Path) {
    let mut all = Vec::new();
    modes(data, &mut all);
    assert!(all.len() > 3, "sled's files should be there: {all:?}");
    for (path, mode) in &all {
        let want = if Path::new(path).is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(
            *mode, want,
            "{path} is {mode:o}, want {want:o}; all: {all:?}"
        );
    }
}

#[test]
fn the_data_dir_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    let mut bot = Bot::console_with_umask(&config, &data, "000");
    // The selftest writes its log into the data dir after start-up: created later, still 0600.
    bot.say("/selftest steps=2 ms=10");
    bot.expect("job #1 selftest (2 steps) succeeded in", LIMIT);
    bot.finish(LIMIT);
    assert!(
        data.join("selftest.log").is_file(),
        "the selftest log is made after start-up"
    );
    assert_private(&data);
}

#[test]
fn a_readable_data_dir_from_before_is_made_private_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = fast_config(dir.path());
    let data = dir.path().join("data");
    Bot::console_with_umask(&config, &data, "000").finish(LIMIT);
    let mut all = Vec::new();
    modes(&data, &mut all);
    for (path, _) in &all {
        let mode = if Path::new(path).is_dir() {
            0o777
        } else {
            0o666
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    Bot::console_with_umask(&config, &data, "022").finish(LIMIT);
    assert_private(&data);
}
