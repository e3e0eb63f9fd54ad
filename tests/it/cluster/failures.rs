//! What goes wrong, and how it is reported: a failing worker, an unreachable host, a refused
//! key, a changed host key, sudo wanting a password, and a cancel at a phase boundary.

use labkube::store::{ClusterJob, HostState, JobKind, JobState, JobStore};

use super::{Site, cancel_when, failure};
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::sshd::{ClientKey, PASSWORD_SUDO_USER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_worker_is_named_then_a_second_create_converges() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Ubuntu, Flavour::Ubuntu]);
    site.lab.inject(2, "kubeadm join");
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-2"))))
        .await;
    let reason = failure(&job);
    let w2 = format!("{}:{}", site.sshd[2].ip, site.sshd[2].port);
    assert!(reason.contains("(set up hosts) failed"), "{reason}");
    assert!(
        reason.contains(&format!("{w2}: kubeadm_join exited with")),
        "names host, step, exit: {reason}"
    );
    assert!(
        reason.contains("last output:"),
        "shows the output's tail: {reason}"
    );
    assert!(
        !reason.contains(&format!("{}:{}", site.sshd[1].ip, site.sshd[1].port)),
        "w1 joined fine: {reason}"
    );
    assert_eq!(job.hosts[2].state, HostState::Failed);
    assert_eq!(job.hosts[1].state, HostState::Done);

    site.lab.heal(2);
    let again = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-2"))))
        .await;
    assert_eq!(again.state, JobState::Succeeded, "{:?}", again.state);
    assert_eq!(
        calls_of(&site.calls(1), "kubeadm", "join").len(),
        1,
        "w1 is not joined twice"
    );
    assert_eq!(
        calls_of(&site.calls(0), "kubeadm", "init").len(),
        1,
        "init ran once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_host_fails_the_connect_step_and_names_it() {
    let site = Site::new(&[Flavour::Debian, Flavour::Debian]);
    let mut spec = site.spec("lab-3");
    // A fresh loopback address where nothing listens.
    let nobody = labkube_testkit::sshd::reserve_loopbacks(1)[0];
    spec.hosts.push(std::net::IpAddr::V4(nobody));
    let job = site.run(JobKind::Cluster(ClusterJob::Create(spec))).await;
    let reason = failure(&job);
    assert!(reason.starts_with("step 1/11 (connect) failed"), "{reason}");
    assert!(
        reason.contains(&format!("{nobody}:{}: cannot connect", site.sshd[0].port)),
        "{reason}"
    );
    for (host, calls) in site.take_mutating() {
        assert!(
            calls.is_empty(),
            "{host} was changed although the job could not start: {calls:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_and_a_changed_host_key_are_reported() {
    let mut site = Site::new(&[Flavour::Ubuntu, Flavour::Ubuntu]);
    let stranger = ClientKey::ed25519();
    let job = site
        .run_with(
            JobKind::Cluster(ClusterJob::Plan(site.spec("lab-4"))),
            site.config_with(&stranger, "root"),
        )
        .await;
    let reason = failure(&job);
    assert!(
        reason.contains("the SSH key was refused for user root"),
        "{reason}"
    );
    assert!(
        site.store
            .kv_list(labkube::store::Space::HostKeys)
            .unwrap()
            .is_empty(),
        "nothing pinned on refusal"
    );

    let ok = site
        .run(JobKind::Cluster(ClusterJob::Plan(site.spec("lab-4"))))
        .await;
    assert_eq!(ok.state, JobState::Succeeded, "{:?}", ok.state);
    let old = site.sshd[1].host_key_fingerprint();
    site.sshd[1].restart_with_new_key();
    let new = site.sshd[1].host_key_fingerprint();
    let job = site
        .run(JobKind::Cluster(ClusterJob::Plan(site.spec("lab-4"))))
        .await;
    let reason = failure(&job);
    assert!(reason.contains("the host key changed"), "{reason}");
    assert!(
        reason.contains(&old) && reason.contains(&new),
        "both fingerprints: {reason}"
    );
    assert!(
        reason.contains(&format!("/host forget {}", site.sshd[1].ip)),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_wanting_a_password_is_reported_as_such() {
    labkube_testkit::sshd::require_users();
    let site = Site::new(&[Flavour::Debian, Flavour::Debian]);
    let job = site
        .run_with(
            JobKind::Cluster(ClusterJob::Plan(site.spec("lab-5"))),
            site.config_with(&site.key, PASSWORD_SUDO_USER),
        )
        .await;
    let reason = failure(&job);
    assert!(
        reason.contains(&format!(
            "sudo asks user {PASSWORD_SUDO_USER} for a password"
        )),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_at_a_phase_boundary_and_says_where_hosts_are() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Ubuntu, Flavour::Ubuntu]);
    let id = site.enqueue(JobKind::Cluster(ClusterJob::Create(site.spec("lab-6"))));
    let store = site.store.clone();
    site.work(site.config_with(&site.key, "root"), |handle| {
        // Cancel once the job is past its first step.
        cancel_when(store, handle, id, |job| !job.steps.is_empty())
    })
    .await;
    let job = site.store.get(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert!(job.steps.len() < 14, "stopped before the end");
    let text = labkube::chat::render_finished(&job, 0);
    let table = labkube::chat::host_table(&job);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        text.contains("cancelled by bob") && text.contains("hosts:"),
        "{text}"
    );
    assert!(site.store.cluster("lab-6").unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_the_bot_cannot_reach_is_said_before_the_cluster_is_ready() {
    // Only SSH gets through: nothing answers on the control plane's port 6443.
    let site = Site::with_api(&[Flavour::Ubuntu], false);
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-3"))))
        .await;
    let reason = failure(&job);
    let api = format!("{}:6443", site.sshd[0].ip);
    assert!(
        reason.contains(&format!(
            "cluster lab-3: the cluster is up, but this bot cannot reach its API server at {api}"
        )),
        "{reason}"
    );
    assert!(
        reason.contains("Allow 6443/tcp from the bot's machine to the control plane"),
        "{reason}"
    );
    // Registered only as being created (its hosts stay this room's): not ready, no kubeconfig.
    assert_eq!(
        site.store.cluster("lab-3").unwrap().unwrap().creating,
        Some(job.id),
        "not registered as ready"
    );
    let store: &dyn JobStore = &*site.store;
    assert!(store.kubeconfig("lab-3").unwrap().is_none(), "not stored");
}
