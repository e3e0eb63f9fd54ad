//! One run of a step at a time: the bot's worker is aborted (its job tasks dropped with their
//! SSH connections, as when the bot is SIGKILLed) while a slow `kubeadm init` or `kubeadm join`
//! runs on a host; the resumed job finds the run's marker there, waits for that run and reads
//! its outcome instead of starting a second one (which the stand-in, as kubeadm, would refuse:
//! "[ERROR Port-6443]: Port 6443 is in use").

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::app::Bot;
use labkube::auth::Policy;
use labkube::store::{ClusterJob, Job, JobKind, JobState, JobStore};
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::support::RecordingChat;
use tokio_util::sync::CancellationToken;

use super::Site;

const LIMIT: Duration = Duration::from_secs(60);

/// Runs the worker until `tool sub` shows in host `i`'s calls, then aborts it at once (no
/// grace: the job's task and its connections are dropped mid-step). The job stays running.
async fn abort_during(site: &Site, id: u64, i: usize, tool: &str, sub: &str) {
    abort_when(site, id, &format!("{tool} {sub} on host {i}"), |site| {
        !calls_of(&site.calls(i), tool, sub).is_empty()
    })
    .await;
}

/// Runs the worker until `seen` holds (`what` names it), then aborts it at once, as
/// [`abort_during`] does.
pub(super) async fn abort_when(site: &Site, id: u64, what: &str, seen: impl Fn(&Site) -> bool) {
    let bot = Bot::build(
        site.config_with(&site.key, "root"),
        site.store.clone(),
        Policy::new(),
        Arc::new(RecordingChat::default()),
        site.sink.clone(),
        labkube::metrics::Metrics::new(),
    )
    .unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(bot.worker.run(stop.clone(), Duration::ZERO));
    let start = Instant::now();
    while !seen(site) {
        assert!(
            start.elapsed() < LIMIT,
            "{what} never happened: {:?}",
            site.store.log_tail(id, 30)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    task.await.unwrap().unwrap();
    let job = site.store.get(id).unwrap().unwrap();
    assert!(
        matches!(job.state, JobState::Running { .. }),
        "the job was cut off mid-step: {:?}",
        job.state
    );
}

/// The run directories of `step` on host `i`.
fn runs(site: &Site, i: usize, step: &str) -> Vec<PathBuf> {
    std::fs::read_dir(site.lab.path(i, "/run/labkube/runs"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir() && p.to_string_lossy().ends_with(&format!("-{step}")))
                .collect()
        })
        .unwrap_or_default()
}

fn succeeded(site: &Site, job: &Job) {
    assert_eq!(
        job.state,
        JobState::Succeeded,
        "{:?}",
        site.store.log_tail(job.id, 40)
    );
}

pub(super) async fn resume(site: &Site, id: u64) -> Job {
    site.work(site.config_with(&site.key, "root"), |_| async {})
        .await;
    site.store.get(id).unwrap().unwrap()
}

/// Queues a create and cuts the worker off while `kubeadm <sub>`, made to take `secs`, runs on
/// host `i`; returns the job.
async fn cut_off(site: &Site, i: usize, sub: &str, secs: u32) -> u64 {
    site.lab
        .write(i, &format!("/.standin/{sub}-seconds"), &secs.to_string());
    let id = site.enqueue(JobKind::Cluster(ClusterJob::Create(site.spec("lab-1"))));
    abort_during(site, id, i, "kubeadm", sub).await;
    id
}

/// Waits (bounded) until a kubeadm_init marker on host 0 satisfies `done`.
async fn until_marker(site: &Site, what: &str, done: impl Fn(&PathBuf) -> bool) {
    let start = Instant::now();
    while !runs(site, 0, "kubeadm_init").iter().any(&done) {
        assert!(start.elapsed() < LIMIT, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Cuts the worker off while `kubeadm <sub>` (made to take 4 s) runs on host `i`, checks the
/// run left its marker, resumes the job and checks it succeeded with that one run.
async fn cut_off_and_resume(site: &Site, i: usize, sub: &str) -> Job {
    let id = cut_off(site, i, sub, 4).await;
    let step = format!("kubeadm_{sub}");
    assert_eq!(runs(site, i, &step).len(), 1, "{step} left its marker");
    let job = resume(site, id).await;
    succeeded(site, &job);
    assert_eq!(job.resumes, 1);
    let calls = site.calls(i);
    assert_eq!(calls_of(&calls, "kubeadm", sub).len(), 1, "{calls:?}");
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_create_waits_for_the_kubeadm_init_still_running() {
    let site = Site::new(&[Flavour::Debian]);
    let id = cut_off_and_resume(&site, 0, "init").await.id;
    let log: Vec<String> = site
        .store
        .log_tail(id, 400)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(
        !log.iter().any(|l| l.contains("Port 6443 is in use")),
        "{log:?}"
    );
    assert_eq!(
        runs(&site, 0, "kubeadm_init").len(),
        1,
        "the marker stays (a day) for a later attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_run_is_read_not_run_again() {
    let site = Site::new(&[Flavour::Debian]);
    let id = cut_off(&site, 0, "init", 2).await;
    // The init finishes while no bot follows it: its outcome waits in the marker.
    until_marker(&site, "the end of the detached init", |d| {
        d.join("rc").exists()
    })
    .await;
    let marker = &runs(&site, 0, "kubeadm_init")[0];
    assert_eq!(std::fs::read_to_string(marker.join("rc")).unwrap(), "0\n");
    assert!(
        std::fs::read_to_string(marker.join("out"))
            .unwrap()
            .contains("Your Kubernetes control-plane has initialized successfully!")
    );

    site.lab.take_calls(0);

    let job = resume(&site, id).await;
    succeeded(&site, &job);
    // Neither init again nor the step's probe (which would find the control plane up and say
    // "already initialised"): the step did not run at all, its outcome was read.
    let calls = site.calls(0);
    assert!(calls_of(&calls, "kubeadm", "init").is_empty(), "{calls:?}");
    assert!(
        !calls.iter().any(|c| c.iter().any(|a| a == "cluster-info")),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_create_waits_for_the_worker_join_still_running() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian]);
    cut_off_and_resume(&site, 1, "join").await;
    assert_eq!(calls_of(&site.calls(0), "kubeadm", "init").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_refuses_a_second_init_while_the_first_runs() {
    // The strictness the markers guard against: kubeadm's own preflight.
    let site = Site::new(&[Flavour::Debian]);
    let id = cut_off(&site, 0, "init", 4).await;
    let ip = site.lab.hosts[0].ip.clone();
    // Until init is in its wait for the control plane (the marker holds its output).
    until_marker(&site, "init's wait-control-plane", |d| {
        std::fs::read_to_string(d.join("out")).is_ok_and(|o| o.contains("[wait-control-plane]"))
    })
    .await;
    let second = site.lab.run_script(
        0,
        &format!(
            "kubeadm init --apiserver-advertise-address={ip} --pod-network-cidr=10.244.0.0/16 \\\n  --kubernetes-version=\"$(kubeadm version -o short)\""
        ),
        &[],
    );
    assert!(!second.ok(), "{second}");
    assert!(
        second
            .stderr
            .contains("[ERROR Port-6443]: Port 6443 is in use"),
        "{second}"
    );
    // And the step's own probe, run again meanwhile, takes the half-done init for a broken one.
    let probe = site.lab.step(0, "kubeadm_init", &[]);
    assert!(
        !probe.ok()
            && probe
                .stderr
                .contains("an earlier kubeadm init stopped half-way"),
        "{probe}"
    );
    let job = resume(&site, id).await;
    succeeded(&site, &job);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_add_cut_off_mid_join_resumes_without_joining_twice() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian, Flavour::Ubuntu]);
    let ips = site.ips();
    let spec = labkube::store::ClusterSpec {
        hosts: ips[..2].to_vec(),
        ..site.spec("lab-1")
    };
    let created = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    succeeded(&site, &created);
    site.take_mutating();

    site.lab.write(2, "/.standin/join-seconds", "4");
    let id = site.enqueue(JobKind::Cluster(ClusterJob::AddNodes(
        labkube::store::NodeAddSpec {
            cluster: "lab-1".into(),
            hosts: vec![ips[2]],
            control_plane: false,
            user: None,
            port: None,
        },
    )));
    abort_during(&site, id, 2, "kubeadm", "join").await;
    assert_eq!(runs(&site, 2, "kubeadm_join").len(), 1);
    let job = resume(&site, id).await;
    succeeded(&site, &job);
    assert_eq!(job.resumes, 1);
    assert_eq!(calls_of(&site.calls(2), "kubeadm", "join").len(), 1);
    // The steps before the join ran once on the new host, and never on the others.
    let changed = site.take_mutating();
    let kube_installs = changed[2]
        .1
        .iter()
        .filter(|c| c.starts_with("apt-get") && c.contains(" install ") && c.contains("kubeadm"))
        .count();
    assert_eq!(kube_installs, 1, "{:?}", changed[2].1);
    for (host, calls) in &changed[..2] {
        assert!(
            !calls.iter().any(|c| c.contains(" install ")),
            "{host} was set up again: {calls:?}"
        );
    }
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    assert_eq!(record.nodes.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_removal_cut_off_mid_reset_resumes_without_resetting_twice() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian, Flavour::Ubuntu]);
    let ips = site.ips();
    let created = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-1"))))
        .await;
    succeeded(&site, &created);
    site.take_mutating();

    // The leaving host's tools take a second each: the reset is cut off while it runs.
    site.lab.write(2, "/.slow", "1");
    let id = site.enqueue(JobKind::Cluster(ClusterJob::RemoveNode {
        cluster: "lab-1".into(),
        host: ips[2],
    }));
    abort_during(&site, id, 2, "kubeadm", "reset").await;
    std::fs::remove_file(site.lab.path(2, "/.slow")).unwrap();
    let job = resume(&site, id).await;
    succeeded(&site, &job);
    assert_eq!(job.resumes, 1);
    assert_eq!(calls_of(&site.calls(2), "kubeadm", "reset").len(), 1);
    // Drained once before the cut, deleted once after; the others were not reset.
    let cp = site.calls(0);
    let drains = cp
        .iter()
        .filter(|c| c.len() > 1 && c[0] == "kubectl" && c.iter().any(|a| a == "drain"))
        .filter(|c| !c.iter().any(|a| a == "--dry-run=server"))
        .count();
    assert_eq!(drains, 1, "{cp:?}");
    for i in [0, 1] {
        assert!(calls_of(&site.calls(i), "kubeadm", "reset").is_empty());
    }
    let record = site.store.cluster("lab-1").unwrap().unwrap();
    assert_eq!(record.nodes.len(), 2);
}
