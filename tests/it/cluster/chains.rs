//! Hosts that never wait for each other needlessly: each host's chain runs as far as its own
//! dependencies allow. A worker behind a slow package mirror delays nobody; the others join as
//! soon as the first control plane's API server is up; a failure on one host stops only what
//! depends on it; a cancel lets every host finish the script it runs and starts no other; a
//! create queued by an earlier release still runs its step-per-script plan.

use labkube::store::{ClusterJob, HostState, JobKind, JobState, JobStore, LogLine};

use super::{Site, cancel_when, failure};
use labkube_testkit::lab::calls::{Call, calls_of};
use labkube_testkit::lab::hosts::Flavour;

/// Seconds the slow worker's Kubernetes packages take to fetch.
const SLOW_MIRROR: &str = "8";

/// Where in `log` the first line starting with `text` is.
fn at(log: &[LogLine], text: &str) -> Option<usize> {
    log.iter().position(|l| l.text.starts_with(text))
}

/// The package manager calls in `calls` that install kubeadm.
fn kube_installs(calls: &[Call]) -> usize {
    calls
        .iter()
        .filter(|c| {
            (c[0] == "apt-get" || c[0] == "dnf")
                && c.iter().any(|a| a == "install")
                && c.iter().any(|a| a == "kubeadm")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_worker_delays_nobody_and_joins_when_it_is_ready() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    site.lab.write(2, "/.standin/install-seconds", SLOW_MIRROR);
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("chain-1"))))
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
    let log = site.store.log_tail(job.id, 500).unwrap();
    let host = |i: usize| format!("{}:{}", site.sshd[i].ip, site.sshd[i].port);
    let slow = at(&log, &format!("{}: install_kube done in ", host(2))).expect("slow install");
    for (i, script) in [
        (0, "kubeadm_init"),
        (0, "install_flannel"),
        (0, "install_helm"),
        (1, "kubeadm_join"),
    ] {
        let line = at(&log, &format!("{}: {script} done in ", host(i)));
        assert!(
            line.is_some_and(|l| l < slow),
            "{} {script} waited for the slow worker: {:?}",
            host(i),
            log.iter().map(|l| &l.text).collect::<Vec<_>>()
        );
    }
    // The slow worker joined after its own chain, once.
    let joined = at(&log, &format!("{}: kubeadm_join done in ", host(2))).expect("joined");
    assert!(joined > slow);
    assert_eq!(calls_of(&site.calls(2), "kubeadm", "join").len(), 1);
    assert_eq!(job.hosts[2].note.as_deref(), Some("joined"));
    assert_eq!(job.hosts[0].note.as_deref(), Some("control plane up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_control_plane_stops_only_the_joins_then_a_second_create_converges() {
    let site = Site::new(&[Flavour::Debian, Flavour::Ubuntu, Flavour::Rocky]);
    site.lab.inject(0, "kubeadm init");
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("chain-2"))))
        .await;
    let reason = failure(&job);
    let host = |i: usize| format!("{}:{}", site.sshd[i].ip, site.sshd[i].port);
    assert!(
        reason.contains(&format!("{}: kubeadm_init exited with", host(0))),
        "{reason}"
    );
    for w in [1, 2] {
        assert!(
            !reason.contains(&host(w)),
            "{} did not fail: {reason}",
            host(w)
        );
        // The workers went as far as they could: packages in, no join.
        assert_eq!(calls_of(&site.calls(w), "kubeadm", "join").len(), 0);
        assert_eq!(kube_installs(&site.calls(w)), 1, "{}", host(w));
        assert_eq!(job.hosts[w].state, HostState::Waiting);
        assert_eq!(
            job.hosts[w].note.as_deref(),
            Some("stopped: the first control plane failed")
        );
    }
    assert_eq!(job.hosts[0].state, HostState::Failed);

    // A second create converges: the workers' packages are not installed again (their
    // install scripts probe first), and each joins once.
    site.lab.heal(0);
    let before: Vec<usize> = (1..3).map(|w| site.calls(w).len()).collect();
    let again = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("chain-2"))))
        .await;
    assert_eq!(again.state, JobState::Succeeded, "{:?}", again.state);
    for (k, w) in [1, 2].into_iter().enumerate() {
        let calls = site.calls(w);
        assert_eq!(calls_of(&calls, "kubeadm", "join").len(), 1);
        assert_eq!(
            kube_installs(&calls[before[k]..]),
            0,
            "{} installed again",
            host(w)
        );
    }
    assert_eq!(
        calls_of(&site.calls(0), "kubeadm", "init")
            .iter()
            .filter(|c| c.get(2).is_none_or(|a| a != "phase"))
            .count(),
        2,
        "the failed init and the one that worked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_lets_each_host_finish_its_script_and_starts_no_other() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    site.lab.write(2, "/.standin/install-seconds", SLOW_MIRROR);
    let id = site.enqueue(JobKind::Cluster(ClusterJob::Create(site.spec("chain-3"))));
    let store = site.store.clone();
    let slow = format!("{}:{}", site.sshd[2].ip, site.sshd[2].port);
    site.work(site.config_with(&site.key, "root"), |handle| {
        // Cancel while the slow worker fetches its Kubernetes packages.
        cancel_when(store, handle, id, |job| {
            job.hosts
                .get(2)
                .is_some_and(|h| h.note.as_deref() == Some("install kube"))
        })
    })
    .await;
    let job = site.store.get(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled, "{:?}", job.state);
    let log = site.store.log_tail(id, 500).unwrap();
    // The slow worker's install was let finish (the host is never left mid-script), and
    // nothing was started after it.
    assert!(at(&log, &format!("{slow}: install_kube done in ")).is_some());
    assert_eq!(calls_of(&site.calls(2), "kubeadm", "join").len(), 0);
    assert_eq!(job.hosts[2].note.as_deref(), Some("stopped: cancelled"));
    // Its hosts stay claimed by the half-made cluster (a create again converges).
    let record = site.store.cluster("chain-3").unwrap().unwrap();
    assert_eq!(record.creating, Some(id));
    let text = labkube::chat::render_finished(&job, 0);
    assert!(text.contains("cancelled by bob"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_queued_by_an_earlier_release_runs_its_own_step_per_script_plan() {
    use labkube::store::{ClusterStep as S, Step};
    let site = Site::new(&[Flavour::Debian, Flavour::Rocky, Flavour::Ubuntu]);
    // The create plan of a single control plane before per-host chains.
    let plan = [
        S::Connect,
        S::DetectOs,
        S::GatherFacts,
        S::Preflight,
        S::PrepareHosts,
        S::InstallContainerd,
        S::InstallKube,
        S::InitControlPlane,
        S::InstallFlannel,
        S::InstallHelm,
        S::JoinWorkers,
        S::WaitNodesReady,
        S::InstallStorage,
        S::ApproveCsrs,
        S::InstallMetricsServer,
        S::FetchKubeconfig,
        S::Register,
    ]
    .map(Step::Cluster)
    .to_vec();
    let kind = JobKind::Cluster(ClusterJob::Create(site.spec("chain-4")));
    let id = site.enqueue_planned(kind, plan, "lab").unwrap();
    site.work(site.config_with(&site.key, "root"), |_| async {})
        .await;
    let job = site.store.get(id).unwrap().unwrap();
    site.assert_succeeded(&job);
    assert_eq!(job.steps.len(), 17);
    assert_eq!(calls_of(&site.calls(0), "kubeadm", "init").len(), 1);
    for w in [1, 2] {
        assert_eq!(calls_of(&site.calls(w), "kubeadm", "join").len(), 1);
    }
    assert!(site.store.cluster("chain-4").unwrap().is_some());
}
