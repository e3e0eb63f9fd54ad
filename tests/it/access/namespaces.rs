//! `/ns` in the console (the real binary): a namespace of the room's with default requests and
//! a quota the fake API server enforces as a real one; an install over the quota fails naming
//! it; `/ns list` shows what is used of it; `/ns delete` refuses while a GE is installed, then
//! asks for a code and deletes.

use std::time::Duration;

use labkube_testkit::console_lab::ConsoleLab;
use labkube_testkit::support::Bot;

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn a_namespace_with_a_quota_holds_what_fits_and_goes_only_when_empty() {
    let lab = ConsoleLab::start(Duration::from_millis(200), "");
    let mut bot = Bot::console(&lab.config, &lab.data);

    for (line, refusal) in [
        (
            "/ns create kube-system",
            "namespace kube-system belongs to Kubernetes itself",
        ),
        (
            "/ns create default",
            "namespace default is Kubernetes' own and always there",
        ),
        (
            "/ns create labkube-access",
            "namespace labkube-access belongs to Kubernetes itself, to the cluster's network or storage, or to labkube",
        ),
        (
            "/ns delete demo",
            "namespace demo on lab-1 was not made with /ns create",
        ),
    ] {
        bot.say(line);
        bot.expect(refusal, LIMIT);
    }

    // MongoDB requests 100m and 512Mi, Orion 100m and 128Mi: a quota of 100m admits MongoDB's pod
    // and refuses Orion's.
    bot.say("/ns create team-a cpu=100m memory=1Gi pods=4");
    bot.expect(
        "namespace team-a on lab-1 is created: this room's, with cpu 100m, memory 1Gi, 4 pods; a container that requests nothing gets 100m CPU and 128Mi memory",
        LIMIT,
    );
    let ns = lab
        .fake
        .object("v1", "Namespace", None, "team-a")
        .expect("the namespace");
    assert_eq!(
        ns["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "labkube"
    );
    let quota = lab
        .fake
        .object("v1", "ResourceQuota", Some("team-a"), "labkube-quota")
        .expect("the quota");
    assert_eq!(
        quota["spec"]["hard"],
        serde_json::json!({ "requests.cpu": "100m", "requests.memory": "1Gi", "pods": "4" })
    );
    let limits = lab
        .fake
        .object("v1", "LimitRange", Some("team-a"), "labkube-defaults")
        .expect("the limit range");
    assert_eq!(
        limits["spec"]["limits"][0]["defaultRequest"],
        serde_json::json!({ "cpu": "100m", "memory": "128Mi" })
    );

    bot.say("/ge install orion ns=team-a");
    let failed = bot.expect("job #1 ge install orion in lab-1/team-a", LIMIT);
    let failed = if failed.contains("failed") {
        failed
    } else {
        bot.expect("job #1 ge install orion in lab-1/team-a failed", LIMIT)
    };
    assert!(
        failed.contains("orion: new pods cannot be created: pods \"orion-")
            && failed.contains("is forbidden: exceeded quota: labkube-quota, requested: requests.cpu=100m, used: requests.cpu=100m, limited: requests.cpu=100m"),
        "{failed}"
    );

    bot.say("/ns list");
    bot.expect("namespaces on lab-1 (1):", LIMIT);
    bot.expect(
        "team-a: GEs mongodb, orion; cpu 100m, memory 1Gi, 4 pods; using pods 1 of 4, requests.cpu 100m of 100m, requests.memory 512Mi of 1Gi",
        LIMIT,
    );

    bot.say("/ns delete team-a");
    bot.expect(
        "namespace team-a on lab-1 still holds GE(s) mongodb, orion; uninstall them first (/ge uninstall GE ns=team-a); nothing was changed",
        LIMIT,
    );
    bot.say("/ge uninstall orion ns=team-a");
    bot.expect("job #2 ge uninstall orion in lab-1/team-a succeeded", LIMIT);
    bot.say("/ge uninstall mongodb ns=team-a");
    bot.expect(
        "job #3 ge uninstall mongodb in lab-1/team-a succeeded",
        LIMIT,
    );
    bot.say("/ns delete team-a");
    let asked = bot.expect(
        "To go ahead, type within 10 minutes: /ns delete team-a cluster=lab-1 confirm=",
        LIMIT,
    );
    let code = asked
        .rsplit("confirm=")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    bot.say("/ns delete team-a cluster=lab-1 confirm=zzzz");
    bot.expect("that confirmation code is wrong or has expired", LIMIT);
    assert!(lab.fake.object("v1", "Namespace", None, "team-a").is_some());
    bot.say(&format!("/ns delete team-a cluster=lab-1 confirm={code}"));
    bot.expect(
        "namespace team-a on lab-1 is being deleted with everything in it",
        LIMIT,
    );
    bot.say("/ns list");
    bot.expect("no room has namespaces of its own on lab-1", LIMIT);
    let all = bot.finish(LIMIT).join("\n");
    // The ReplicaSet's FailedCreate events say what the failure already says: not listed again.
    assert!(!all.contains("FailedCreate: Error creating"), "{all}");
    lab.rt.block_on(lab.fake.stop());
}
