//! `/cluster upgrade` over real SSH on stand-in hosts: 1.35 → 1.36 of a 1+2 and of a 3+2
//! cluster in kubeadm's order (one `kubeadm upgrade apply`, on the first control plane; the
//! others `kubeadm upgrade node`; every node drained before its kubelet moves), and a worker
//! that does not come back Ready stopping the upgrade with the workers after it untouched,
//! then the same upgrade going on once the worker is mended; and the bot cut off (as by
//! SIGKILL) in the middle of `kubeadm upgrade apply`, the resumed job following that one run;
//! and `/cancel` stopping at a node boundary.

use labkube::store::{ClusterJob, ClusterSpec, Job, JobKind, JobState, JobStore};

use super::run_markers::{abort_when, resume};
use super::{Site, cancel_when, failure};
use labkube_testkit::lab::hosts::Flavour;

const LINKS: [&str; 6] = [
    "mark_upgrade",
    "upgrade_kubeadm",
    "kubeadm_upgrade",
    "drain_node",
    "upgrade_kubelet",
    "finish_upgrade",
];

fn upgrade(to: &str) -> JobKind {
    JobKind::Cluster(ClusterJob::Upgrade {
        cluster: "lab-1".into(),
        to: to.into(),
    })
}

async fn created(site: &Site, control_planes: Option<u8>) {
    let spec = ClusterSpec {
        control_planes,
        ..site.spec("lab-1")
    };
    let job = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    site.assert_succeeded(&job);
    site.take_mutating();
}

/// The job log's "<host>: <script>[ (on cp)] done" lines, in order, as (host index, script).
fn done_links(site: &Site, job: &Job) -> Vec<(usize, String)> {
    let targets: Vec<String> = site
        .ips()
        .iter()
        .map(|a| format!("{a}:{}", site.sshd[0].port))
        .collect();
    site.store
        .log_tail(job.id, 1000)
        .unwrap()
        .iter()
        .filter_map(|l| {
            let (host, rest) = l.text.split_once(": ")?;
            let i = targets.iter().position(|t| t == host)?;
            let script = rest.split_whitespace().next()?;
            (LINKS.contains(&script) && rest.contains(" done in ")).then(|| (i, script.to_string()))
        })
        .collect()
}

/// The node's line in the stand-in cluster: `key=value`, last one wins.
fn node_field(site: &Site, node: &str, key: &str) -> String {
    let text = std::fs::read_to_string(site.lab.cluster.join("nodes").join(node)).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .next_back()
        .unwrap_or_default()
        .to_string()
}

/// Every node on `version`, schedulable and unmarked.
fn assert_all_on(site: &Site, version: &str) {
    for h in &site.lab.hosts {
        assert_eq!(node_field(site, &h.name, "version"), version, "{}", h.name);
        assert_ne!(node_field(site, &h.name, "cordoned"), "yes", "{}", h.name);
        assert_eq!(
            node_field(site, &h.name, "label.labkube.io/upgrade-to"),
            "",
            "{}",
            h.name
        );
    }
}

/// Each node ran its links in order, nodes one after another in `order`.
fn assert_node_by_node(links: &[(usize, String)], order: &[usize]) {
    let expected: Vec<(usize, String)> = order
        .iter()
        .flat_map(|&i| LINKS.iter().map(move |s| (i, (*s).to_string())))
        .collect();
    assert_eq!(links, expected.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_control_plane_and_two_workers_move_one_minor_in_kubeadms_order() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    created(&site, None).await;
    let job = site.run(upgrade("1.36")).await;
    site.assert_succeeded(&job);

    // The control plane first, then each worker alone (10 % of two workers is one).
    assert_node_by_node(&done_links(&site, &job), &[0, 1, 2]);
    let changed = site.take_mutating();
    let applies: Vec<&String> = changed
        .iter()
        .flat_map(|(_, calls)| calls)
        .filter(|c| c.starts_with("kubeadm upgrade apply"))
        .collect();
    assert_eq!(applies.len(), 1, "{changed:?}");
    assert!(
        changed[0]
            .1
            .iter()
            .any(|c| c == "kubeadm upgrade apply v1.36.5 --yes --patches=/etc/kubernetes/patches"),
        "{:?}",
        changed[0].1
    );
    for (name, calls) in &changed[1..] {
        let upgrades: Vec<&String> = calls
            .iter()
            .filter(|c| c.starts_with("kubeadm upgrade"))
            .collect();
        assert_eq!(
            upgrades,
            ["kubeadm upgrade node --patches=/etc/kubernetes/patches"],
            "{name}: {calls:?}"
        );
    }
    assert_all_on(&site, "v1.36.5");
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    assert_eq!(record.k8s_version, "v1.36.5");
    let summary = job.summary.clone().unwrap();
    assert!(
        summary.starts_with(
            "cluster lab-1 runs Kubernetes v1.36.5 now (was 1.35): 3 node(s) upgraded"
        ) && summary.contains("kubeadm renewed the control planes' certificates"),
        "{summary}"
    );
    // Every host's packages are held again on the new minor.
    for (i, h) in site.lab.hosts.iter().enumerate() {
        for pkg in ["kubeadm", "kubelet", "kubectl"] {
            let v = std::fs::read_to_string(h.root.join(".standin/pkgs").join(pkg)).unwrap();
            assert!(v.starts_with("1.36.5"), "{} {pkg} {v}", h.name);
        }
        if i < 2 {
            assert!(h.root.join(".standin/held/kubelet").exists(), "{}", h.name);
        }
    }

    // The same upgrade again finds nothing to do on any host.
    let again = site.run(upgrade("1.36")).await;
    site.assert_succeeded(&again);
    assert!(done_links(&site, &again).is_empty());
    let changed = site.take_mutating();
    assert!(
        changed.iter().all(|(_, calls)| calls
            .iter()
            .all(|c| !c.starts_with("kubeadm upgrade") && !c.contains(" drain "))),
        "{changed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_control_planes_go_one_at_a_time_before_the_workers() {
    let site = Site::ha(
        &[
            Flavour::Ubuntu,
            Flavour::Debian,
            Flavour::Rocky,
            Flavour::Debian,
            Flavour::Ubuntu,
        ],
        3,
    );
    created(&site, Some(3)).await;
    let job = site.run(upgrade("1.36")).await;
    site.assert_succeeded(&job);
    assert_node_by_node(&done_links(&site, &job), &[0, 1, 2, 3, 4]);
    let changed = site.take_mutating();
    let upgrades: Vec<Vec<&String>> = changed
        .iter()
        .map(|(_, calls)| {
            calls
                .iter()
                .filter(|c| c.starts_with("kubeadm upgrade "))
                .collect()
        })
        .collect();
    assert_eq!(
        upgrades[0],
        ["kubeadm upgrade apply v1.36.5 --yes --patches=/etc/kubernetes/patches"]
    );
    for u in &upgrades[1..] {
        assert_eq!(
            u,
            &["kubeadm upgrade node --patches=/etc/kubernetes/patches"]
        );
    }
    assert_all_on(&site, "v1.36.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_does_not_come_back_stops_the_upgrade_then_it_goes_on() {
    let site = Site::new(&[
        Flavour::Ubuntu,
        Flavour::Debian,
        Flavour::Ubuntu,
        Flavour::Debian,
    ]);
    created(&site, None).await;
    // w1's kubelet crash-loops once restarted on the new minor.
    let crash = site.lab.hosts[1].root.join(".standin/kubelet-crashloop");
    std::fs::write(&crash, "").unwrap();
    let mut config = site.config_with(&site.key, "root");
    config.cluster.nodes_ready_timeout_secs = 10;
    let id = site.enqueue(upgrade("1.36"));
    site.work(config, |_| async {}).await;
    let job = site.store.get(id).unwrap().unwrap();
    let why = failure(&job);
    assert!(
        why.contains("w1 is not Ready on Kubernetes 1.36 after 10 s")
            && why.contains("it stays cordoned and marked labkube.io/upgrade-to=1.36"),
        "{why}"
    );
    let changed = site.take_mutating();
    for (name, calls) in &changed[2..] {
        assert!(calls.is_empty(), "{name} is untouched: {calls:?}");
    }
    assert_eq!(node_field(&site, "cp1", "version"), "v1.36.5");
    assert_eq!(node_field(&site, "w1", "cordoned"), "yes");
    assert_eq!(
        node_field(&site, "w1", "label.labkube.io/upgrade-to"),
        "1.36"
    );
    for w in ["w2", "w3"] {
        assert_eq!(node_field(&site, w, "version"), "v1.35.5", "{w}");
    }

    // Mended, the same upgrade resumes w1 (marked for 1.36) and finishes the others.
    std::fs::remove_file(&crash).unwrap();
    let again = site.run(upgrade("1.36")).await;
    site.assert_succeeded(&again);
    let links = done_links(&site, &again);
    assert!(links.iter().all(|(i, _)| *i != 0), "cp1 is done: {links:?}");
    assert_all_on(&site, "v1.36.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_cut_off_during_kubeadm_upgrade_apply_resumes_that_run() {
    let site = Site::new(&[Flavour::Debian, Flavour::Ubuntu, Flavour::Rocky]);
    created(&site, None).await;
    // The new API server takes 4 s to come up: the bot is cut off meanwhile.
    site.lab.write(0, "/.standin/upgrade-seconds", "4");
    let id = site.enqueue(upgrade("1.36"));
    let applying = |site: &Site| {
        site.calls(0)
            .iter()
            .any(|c| c.len() > 2 && c[0] == "kubeadm" && c[1] == "upgrade" && c[2] == "apply")
    };
    abort_when(&site, id, "kubeadm upgrade apply on cp1", applying).await;
    assert_eq!(
        node_field(&site, "cp1", "label.labkube.io/upgrade-to"),
        "1.36"
    );

    let job = resume(&site, id).await;
    site.assert_succeeded(&job);
    assert_eq!(job.resumes, 1);
    let applies = site
        .calls(0)
        .iter()
        .filter(|c| c.len() > 2 && c[0] == "kubeadm" && c[1] == "upgrade" && c[2] == "apply")
        .count();
    assert_eq!(applies, 1, "the resumed job followed the run it started");
    assert_all_on(&site, "v1.36.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_finishes_the_node_being_upgraded_and_starts_no_other() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    created(&site, None).await;
    site.lab.write(0, "/.standin/upgrade-seconds", "3");
    let id = site.enqueue(upgrade("1.36"));
    let store = site.store.clone();
    site.work(site.config_with(&site.key, "root"), |handle| {
        cancel_when(store, handle, id, |job| {
            job.hosts
                .first()
                .is_some_and(|h| h.note.as_deref() == Some("kubeadm upgrade"))
        })
    })
    .await;
    let job = site.store.get(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled, "{:?}", job.state);
    // The control plane was not left mid-way: upgraded, Ready, uncordoned and unmarked.
    assert_eq!(node_field(&site, "cp1", "version"), "v1.36.5");
    assert_ne!(node_field(&site, "cp1", "cordoned"), "yes");
    assert_eq!(node_field(&site, "cp1", "label.labkube.io/upgrade-to"), "");
    let changed = site.take_mutating();
    for (name, calls) in &changed[1..] {
        assert!(calls.is_empty(), "{name} is untouched: {calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_names_every_unfit_node_and_changes_nothing() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    // w1 gets containerd 1.7.28, enough for 1.35 but not for 1.36 (2.2.0+).
    site.lab
        .write(1, "/.standin/docker-containerd-version", "1.7.28");
    created(&site, None).await;
    // Someone cordoned w2 by hand.
    let w2 = site.lab.cluster.join("nodes/w2");
    let mut text = std::fs::read_to_string(&w2).unwrap();
    text.push_str("cordoned=yes\n");
    std::fs::write(&w2, text).unwrap();

    let job = site.run(upgrade("1.36")).await;
    let why = failure(&job);
    assert!(
        why.contains("(check the upgrade) failed: preflight found problems; nothing was changed:")
            && why.contains("containerd 1.7.28 is too old for Kubernetes 1.36")
            && why.contains("w2 is cordoned (SchedulingDisabled), and not by labkube"),
        "{why}"
    );
    let changed = site.take_mutating();
    assert!(
        changed.iter().all(|(_, calls)| calls.is_empty()),
        "{changed:?}"
    );
    assert_eq!(node_field(&site, "cp1", "version"), "v1.35.5");
}
