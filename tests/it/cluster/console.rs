//! Through the real binary: the main path (`/cluster create`, then `/ge install orion ns=demo`
//! on the cluster just created, ending Ready), `/cluster create` with the bot SIGKILLed in the
//! middle of a phase and restarted (the job resumes and converges, kubeadm init and join ran
//! once), and hostile input refused before any connection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use labkube::store::{JobState, JobStore, SledStore};

use super::Site;
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::support::Bot;

const LIMIT: Duration = Duration::from_secs(90);

/// A config that reaches the site's hosts with the site's key, loopback only.
fn config_for(site: &Site, dir: &Path) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[limits]\nprogress_interval_ms = 250\nshutdown_grace_secs = 5\n\
         [ssh]\nkey_path = \"{}\"\nport = {}\nconnect_timeout_secs = 5\nallowed_networks = [\"127.0.0.0/8\"]\n\
         [cluster]\nretry_backoff_ms = 20\nnodes_poll_ms = 200\nnodes_ready_timeout_secs = 30\n",
        site.key.path.display(),
        site.sshd[0].port
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn ips(site: &Site) -> String {
    site.ips()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_new_cluster_then_orion_on_it_ready() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Debian]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&site, dir.path());
    let data = dir.path().join("data");

    let mut bot = Bot::console(&config, &data);
    bot.say(&format!("/cluster create {}", ips(&site)));
    bot.expect("job #1 cluster create lab-1 (3 hosts) succeeded", LIMIT);
    bot.expect("cluster lab-1 is ready", LIMIT);
    // Asked live, it says its nodes go through the endpoint that lets it grow control planes.
    bot.say("/cluster status");
    bot.expect(
        &format!(
            "cluster lab-1: owned by this room; API server https://{}:6443 answers",
            site.ips()[0]
        ),
        LIMIT,
    );
    bot.expect(
        "the nodes reach the API through its control-plane endpoint api.labkube.internal:6443, so control planes can be added",
        LIMIT,
    );
    // The cluster the bot just made is the room's current one: no cluster= needed.
    bot.say("/ge install orion ns=demo");
    bot.expect("queued job #2: ge install orion in lab-1/demo", LIMIT);
    bot.expect("job #2 ge install orion in lab-1/demo succeeded", LIMIT);
    bot.expect("orion 4.1.0 is running in demo on lab-1 (revision 1", LIMIT);
    bot.finish(LIMIT);

    // Through the kubeconfig the control plane gave: the API server on its address answered.
    let api = site.api.as_ref().unwrap();
    assert!(
        api.fake
            .object("apps/v1", "Deployment", Some("demo"), "orion")
            .is_some()
    );
    assert!(
        api.fake
            .object("apps/v1", "StatefulSet", Some("demo"), "mongodb")
            .is_some()
    );
}

#[test]
fn sigkill_mid_phase_then_the_resumed_job_converges() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    for h in &site.lab.hosts {
        // Every stand-in call takes a moment, so the kill lands inside a phase.
        std::fs::write(h.root.join(".slow"), "0.1\n").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&site, dir.path());
    let data = dir.path().join("data");

    let mut bot = Bot::console(&config, &data);
    bot.say(&format!("/cluster create {} name=lab-k", ips(&site)));
    bot.expect("queued job #1: cluster create lab-k (3 hosts)", LIMIT);
    bot.expect("first contact; its SSH host key SHA256:", LIMIT);
    // A host row of the set-up step's live table.
    bot.expect("- install containerd", LIMIT);
    bot.kill();

    let mut bot = Bot::console(&config, &data);
    bot.expect(
        "job #1 cluster create lab-k (3 hosts) resumed after a restart at step",
        LIMIT,
    );
    bot.expect("job #1 cluster create lab-k (3 hosts) succeeded", LIMIT);
    bot.expect("cluster lab-k is ready", LIMIT);
    bot.finish(LIMIT);

    assert_eq!(
        calls_of(&site.calls(0), "kubeadm", "init").len(),
        1,
        "init ran once"
    );
    for w in [1, 2] {
        assert_eq!(
            calls_of(&site.calls(w), "kubeadm", "join").len(),
            1,
            "worker {w} joined once"
        );
    }
    let store = SledStore::open(&data).unwrap();
    let job = store.get(1).unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    assert!(job.resumes >= 1);
    assert_eq!(job.steps.len(), 11);
    assert!(store.cluster("lab-k").unwrap().is_some());
}

#[test]
fn hostile_input_is_refused_before_any_connection() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian, Flavour::Debian]);
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(&site, dir.path());
    let mut bot = Bot::console(&config, &dir.path().join("data"));
    let [a, b, c] = [0, 1, 2].map(|i| site.ips()[i].to_string());
    bot.say(&format!("/cluster create {a};id {b} {c}"));
    bot.expect(&format!("bad address \"{a};id\""), LIMIT);
    bot.say(&format!("/cluster create {a} {b} {c} name=$(reboot)"));
    bot.expect("bad cluster name \"name=$(reboot)\"", LIMIT);
    bot.say(&format!("/cluster plan {a} {b} {c} user=root;reboot"));
    bot.expect("user=root;reboot", LIMIT);
    bot.say(&format!("/cluster create {a} `id` {c}"));
    bot.expect("`id`", LIMIT);
    bot.say("/jobs all");
    bot.expect("no jobs are queued or running", LIMIT);
    bot.finish(LIMIT);
    for i in 0..3 {
        assert!(
            site.calls(i).is_empty(),
            "host {i} was contacted: {:?}",
            site.calls(i)
        );
        assert!(!site.lab.hosts[i].root.join(".standin").exists() || site.calls(i).is_empty());
    }
}
