//! The test world itself: stand-ins serve no network and refuse the real host; scripts run
//! without a network and with a read-only `/`.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::hosts::Flavour;

#[test]
fn stand_ins_never_reach_the_network_or_the_real_host() {
    let lab = Lab::new(&[("h1", Flavour::Debian)]);
    let run = lab.run_script(
        0,
        "curl -fsSL -o /dev/null https://example.com/install.sh\n",
        &[],
    );
    assert_eq!(run.status, Some(7), "{run}");
    assert!(
        run.stderr
            .contains("no fixture for https://example.com/install.sh"),
        "{run}"
    );
    let run = lab.run_script(
        0,
        "wget -q -O - https://get.helm.sh/helm-latest-linux-amd64.tar.gz\n",
        &[],
    );
    assert_eq!(run.status, Some(4), "{run}");
    assert!(run.stderr.contains("no fixture"), "{run}");
    // Without a per-host root a stand-in refuses to act (exit 97), whatever it was asked.
    let out = std::process::Command::new(labkube_testkit::lab::standins().join("kubeadm"))
        .args(["reset", "-f"])
        .env_remove("LABKUBE_ROOT")
        .env("LABKUBE_RECORD", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(97));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to act on the real host"));
    // The sandbox: / is read-only for scripts, the network is gone.
    let run = lab.run_script(0, "touch /labkube-sandbox-probe\n", &[]);
    assert!(
        !run.ok() && run.stderr.contains("Read-only file system"),
        "{run}"
    );
    let run = lab.run_script(0, "awk 'NR > 2 { print $1 }' /proc/net/dev\n", &[]);
    assert_eq!(
        run.stdout, "lo:\n",
        "only loopback in the network namespace: {run}"
    );
}
