//! `/kubeconfig` in the console (the real binary): the kubeconfig is a file only the bot's user
//! can read, which kubectl uses; `/kubeconfig list` shows who holds access until when, and
//! `/kubeconfig revoke` ends it at once. The audit trail has each, and never the token.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use labkube_testkit::console_lab::ConsoleLab;
use labkube_testkit::fakekube::FakeOptions;
use labkube_testkit::support::{Bot, kubectl};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_console_gets_a_private_file_lists_it_and_revokes_it() {
    let lab = ConsoleLab::start_with(
        FakeOptions {
            tls: true,
            ..FakeOptions::default()
        },
        "",
    );
    lab.fake.put(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "demo" }
    }));
    let mut bot = Bot::console(&lab.config, &lab.data);
    bot.say("/kubeconfig cluster=lab-1 ttl=1h");
    let line = bot.expect(
        "sent a kubeconfig for lab-1 (namespace demo, edit), valid until ",
        LIMIT,
    );
    let path = line
        .split(" to the file ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" (readable by you only)"))
        .unwrap_or_else(|| panic!("no path in {line:?}"))
        .to_string();
    let path = std::path::PathBuf::from(path);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600, "the kubeconfig");
    assert_eq!(mode(path.parent().unwrap()), 0o700, "its folder");
    let (ok, _, err) = kubectl(&path, &["get", "pods"]);
    assert!(ok, "{err}");
    let token = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("\"token\": \"")
                .map(|t| t.trim_end_matches(['"', ',']).to_string())
        })
        .expect("a token");

    bot.say("/kubeconfig list");
    bot.expect("access to lab-1 (1):", LIMIT);
    bot.expect(
        "console:tester: edit in namespace demo, last token valid until ",
        LIMIT,
    );

    bot.say("/kubeconfig revoke");
    bot.expect(
        "access of console:tester to lab-1 revoked: their account and bindings are deleted, and every kubeconfig issued to them stopped working",
        LIMIT,
    );
    let (ok, _, err) = kubectl(&path, &["get", "pods"]);
    assert!(!ok && err.contains("You must be logged in"), "{err}");
    bot.say("/kubeconfig list");
    bot.expect("nobody holds a kubeconfig labkube issued for lab-1", LIMIT);

    bot.say("/audit 5");
    bot.expect("/kubeconfig revoke", LIMIT);
    // Everything printed, the audit trail's lines with the issue among them.
    let all = bot.finish(LIMIT).join("\n");
    assert!(all.contains("/kubeconfig cluster=lab-1 ttl=1h"), "{all}");
    assert!(!all.contains(&token), "the token reached the console");
    lab.rt.block_on(lab.fake.stop());
}
