//! A VM owner has root on the control plane and can rewrite `/etc/kubernetes/admin.conf`
//! before a create is run again. Whatever they put there, nothing in it runs on the bot's
//! machine, reads its files or sends its secrets: the bot keeps the CA, client certificate and
//! key, talks to the address the user typed over TLS, and refuses the rest naming the field.
//! A store written by an earlier release (the host's YAML) gets the same treatment on read.

use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use labkube::kube::kubeconfig::ClusterCredentials;
use labkube::kube::{Catalogue, KubeLayer};
use labkube::store::{ClusterJob, Job, JobKind, JobState, JobStore};

use super::{Site, failure};
use labkube_testkit::lab::hosts::Flavour;

/// The control plane's admin.conf.
fn admin_conf(site: &Site) -> PathBuf {
    site.lab.hosts[0].root.join("etc/kubernetes/admin.conf")
}

async fn create(site: &Site) -> Job {
    site.run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-1"))))
        .await
}

async fn create_ok(site: &Site) {
    let job = create(site).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
}

/// What the store holds for lab-1.
fn stored(site: &Site) -> String {
    (&*site.store as &dyn JobStore)
        .kubeconfig("lab-1")
        .unwrap()
        .unwrap()
}

/// A user's `exec` that would leave `marker` on the machine that builds the client.
fn exec_lines(marker: &std::path::Path) -> String {
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      \
         args: [\"-c\", \"touch {}\"]\n      interactiveMode: Never\n",
        marker.display()
    )
}

fn layer(site: &Site) -> KubeLayer {
    let store: Arc<dyn JobStore> = site.store.clone();
    KubeLayer::new(
        &site.config_with(&site.key, "root"),
        Arc::new(Catalogue::builtin().unwrap()),
        store,
    )
}

/// The bot's client for lab-1 reads the cluster over TLS with the stored credentials.
async fn reads_the_cluster(site: &Site) {
    let client = layer(site).client("lab-1").await.unwrap();
    let api: Api<Namespace> = Api::all(client);
    api.get("default").await.unwrap();
}

/// `good` with `user` lines added to the user and `cluster` lines to the cluster.
fn tampered(good: &str, cluster: &str, user: &str) -> String {
    good.replacen("    server: ", &format!("{cluster}    server: "), 1)
        .replacen("  user:\n", &format!("  user:\n{user}"), 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_owner_s_admin_conf_never_runs_reads_or_sends_anything_on_the_bot_host() {
    let site = Site::new(&[Flavour::Ubuntu]);
    create_ok(&site).await;
    let stored = stored(&site);
    reads_the_cluster(&site).await;

    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran-on-the-bot");
    let secret = dir.path().join("bot-secret");
    std::fs::write(&secret, "the-bot-s-own-secret").unwrap();
    let good = std::fs::read_to_string(admin_conf(&site)).unwrap();
    let m = marker.display();
    let cases = [
        (
            tampered(&good, "", &exec_lines(&marker)),
            "users[0].user.exec",
        ),
        (
            tampered(
                &good,
                "",
                &format!(
                    "    auth-provider:\n      name: gcp\n      config:\n        cmd-path: /bin/sh\n        \
                     cmd-args: \"-c 'touch {m}'\"\n"
                ),
            ),
            "users[0].user.auth-provider",
        ),
        (
            tampered(&good, "", &format!("    tokenFile: {}\n", secret.display())),
            "users[0].user.tokenFile",
        ),
        (
            tampered(&good, "    insecure-skip-tls-verify: true\n", ""),
            "clusters[0].cluster.insecure-skip-tls-verify",
        ),
    ];
    for (conf, field) in cases {
        std::fs::write(admin_conf(&site), &conf).unwrap();
        let job = create(&site).await;
        let reason = failure(&job);
        assert!(
            reason.contains(&format!(
                "the kubeconfig {} gave (/etc/kubernetes/admin.conf) is refused",
                site.ips()[0]
            )) && reason.contains(field)
                && reason.contains("Nothing in it was used or run"),
            "{reason}"
        );
        for leak in ["touch", "bot-secret", "/bin/sh", "BEGIN"] {
            assert!(!reason.contains(leak), "{reason} quotes the file");
        }
        assert!(!marker.exists(), "{field}: a command ran on the bot host");
        // The credentials stored by the first create are kept, and still work.
        assert_eq!(
            self::stored(&site),
            stored,
            "{field}: the stored credentials changed"
        );
        reads_the_cluster(&site).await;
        assert!(!marker.exists(), "{field}: a command ran on the bot host");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_server_in_admin_conf_is_replaced_by_the_typed_address() {
    let site = Site::new(&[Flavour::Ubuntu]);
    let cp = site.ips()[0];
    create_ok(&site).await;
    // The owner points the current context at a server of theirs (a proxy forwarding to the
    // real one, so the host's own kubectl keeps working).
    let good = std::fs::read_to_string(admin_conf(&site)).unwrap();
    let ca_line = good
        .lines()
        .find(|l| l.contains("certificate-authority-data:"))
        .unwrap();
    let foreign = good
        .replacen(
            "contexts:\n",
            &format!(
                "- cluster:\n{ca_line}\n    server: https://192.0.2.66:443\n  name: theirs\ncontexts:\n\
                 - context:\n    cluster: theirs\n    user: kubernetes-admin\n  name: theirs\n"
            ),
            1,
        )
        .replace(
            "current-context: kubernetes-admin@kubernetes",
            "current-context: theirs",
        );
    std::fs::write(admin_conf(&site), foreign).unwrap();
    create_ok(&site).await;
    let stored = stored(&site);
    assert!(!stored.contains("192.0.2.66"));
    let creds = ClusterCredentials::from_store(&stored, None).unwrap();
    assert_eq!(creds.server_url(), format!("https://{cp}:6443"));
    reads_the_cluster(&site).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_store_s_raw_kubeconfig_is_sanitised_on_read_and_an_exec_one_refused_unrun() {
    let site = Site::new(&[Flavour::Ubuntu]);
    create_ok(&site).await;
    let store: &dyn JobStore = &*site.store;
    let good = std::fs::read_to_string(admin_conf(&site)).unwrap();

    // An earlier release stored the host's YAML as it was: still usable, as data.
    store.put_kubeconfig("lab-1", &good).unwrap();
    reads_the_cluster(&site).await;

    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran-on-the-bot");
    let exec = tampered(&good, "", &exec_lines(&marker));
    store.put_kubeconfig("lab-1", &exec).unwrap();
    let Err(err) = layer(&site).client("lab-1").await else {
        panic!("a client was built from a kubeconfig with an exec command");
    };
    let err = err.to_string();
    assert!(
        err.contains("cannot use the kubeconfig of cluster lab-1: its stored kubeconfig is refused: it carries an exec command (users[0].user.exec)")
            && err.contains("run /cluster create for it again"),
        "{err}"
    );
    assert!(!err.contains("touch") && !err.contains("BEGIN"), "{err}");
    assert!(!marker.exists(), "the stored exec command ran");
}
