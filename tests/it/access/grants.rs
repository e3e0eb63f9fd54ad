//! The Kubernetes side of `/kubeconfig`, against the fake API server with TLS and RBAC as a
//! kubeadm cluster's, and the real `kubectl` using the kubeconfigs issued: scoped to the
//! namespace granted, refused elsewhere and once expired or revoked, never the bot's own
//! credentials.

use std::sync::Arc;
use std::time::Duration;

use labkube::auth::Principal;
use labkube::config::{Config, ExistingCluster};
use labkube::kube::access::{self, Access};
use labkube::kube::{Catalogue, KubeLayer};
use labkube::store::SledStore;
use labkube_testkit::fakekube::{FakeKube, FakeOptions};

struct Lab {
    fake: FakeKube,
    layer: KubeLayer,
    dir: tempfile::TempDir,
}

async fn lab() -> Lab {
    let fake = FakeKube::start(FakeOptions {
        tls: true,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake.write_kubeconfig(dir.path()).unwrap();
    let mut config = Config::default();
    config.clusters.push(ExistingCluster {
        name: "lab-1".into(),
        kubeconfig,
        owner: None,
    });
    let layer = KubeLayer::new(
        &config,
        Arc::new(Catalogue::builtin().unwrap()),
        Arc::new(SledStore::open(&dir.path().join("data")).unwrap()),
    );
    for ns in ["demo", "other"] {
        fake.put(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns }
        }));
    }
    Lab { fake, layer, dir }
}

fn ada() -> Principal {
    Principal {
        platform: "matrix".into(),
        user: "@ada:lab.example".into(),
    }
}

/// Runs the real `kubectl` with `kubeconfig` (written to a file in `dir`).
fn kubectl(dir: &std::path::Path, kubeconfig: &str, args: &[&str]) -> (bool, String, String) {
    let path = dir.join("user-kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();
    labkube_testkit::support::kubectl(&path, args)
}

/// `ada` granted `access` to `ns` on lab-1 for `secs`.
async fn grant(
    lab: &Lab,
    ns: &str,
    access: Access,
    secs: u64,
) -> Result<access::Issued, labkube::kube::KubeError> {
    access::grant(
        &lab.layer,
        "lab-1",
        &ada(),
        ns,
        access,
        Duration::from_secs(secs),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_kubeconfig_reads_its_namespace_only_until_it_expires() {
    let lab = lab().await;
    lab.fake.put(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "orion-0", "namespace": "demo" },
        "spec": { "containers": [{ "name": "orion", "image": "fiware/orion:4.1.0" }] },
    }));
    let issued = grant(&lab, "demo", Access::View, 3600).await.unwrap();
    let admin_conf = lab.fake.kubeconfig_yaml();
    for secret in ["client-certificate-data", "client-key-data"] {
        assert!(!issued.kubeconfig.contains(secret), "{secret} handed out");
    }
    let ca = admin_conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .unwrap();
    assert!(
        issued.kubeconfig.contains(ca),
        "the cluster's CA: {}",
        issued.kubeconfig
    );
    let sa = format!("system:serviceaccount:labkube-access:{}", issued.account);

    let (ok, out, err) = kubectl(lab.dir.path(), &issued.kubeconfig, &["get", "pods"]);
    assert!(ok, "the context's namespace is the one granted: {err}");
    assert!(out.contains("orion-0"), "{out}");
    let (ok, _, err) = kubectl(
        lab.dir.path(),
        &issued.kubeconfig,
        &["get", "pods", "-n", "other"],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "pods is forbidden: User \"{sa}\" cannot list resource \"pods\" in API group \"\" in the namespace \"other\""
        )),
        "{err}"
    );
    let (ok, _, err) = kubectl(lab.dir.path(), &issued.kubeconfig, &["get", "secrets"]);
    assert!(
        !ok && err.contains("forbidden"),
        "view reads no Secrets: {err}"
    );

    lab.fake.pass_token_time(Duration::from_secs(3601));
    let (ok, _, err) = kubectl(lab.dir.path(), &issued.kubeconfig, &["get", "pods"]);
    assert!(!ok);
    assert!(err.contains("You must be logged in to the server"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_replaces_view_and_revoking_ends_every_token() {
    let lab = lab().await;
    let view = grant(&lab, "demo", Access::View, 3600).await.unwrap();
    let edit = grant(&lab, "demo", Access::Edit, 3600).await.unwrap();
    assert_eq!(
        view.account, edit.account,
        "one account per user and cluster"
    );
    // From a file: kubectl sends it as JSON (`create configmap NAME` would send protobuf,
    // which the fake does not read; the fake serves no OpenAPI schema to validate against).
    let manifest = lab.dir.path().join("notes.json");
    std::fs::write(
        &manifest,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"notes"},"data":{"a":"b"}}"#,
    )
    .unwrap();
    let (ok, _, err) = kubectl(
        lab.dir.path(),
        &edit.kubeconfig,
        &[
            "create",
            "--validate=false",
            "-f",
            manifest.to_str().unwrap(),
        ],
    );
    assert!(ok, "edit writes: {err}");
    let holders = access::holders(&lab.layer, "lab-1").await.unwrap();
    assert_eq!(holders.len(), 1, "view was replaced: {holders:?}");
    assert_eq!(holders[0].access, Access::Edit);
    assert_eq!(holders[0].namespace.as_deref(), Some("demo"));
    assert_eq!(holders[0].principal, "matrix:@ada:lab.example");

    let removed = access::revoke(&lab.layer, "lab-1", &ada()).await.unwrap();
    assert_eq!(removed, 2, "the binding and the account");
    for k in [&view.kubeconfig, &edit.kubeconfig] {
        let (ok, _, err) = kubectl(lab.dir.path(), k, &["get", "pods"]);
        assert!(!ok && err.contains("You must be logged in"), "{err}");
    }
    assert!(
        access::holders(&lab.layer, "lab-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        access::revoke(&lab.layer, "lab-1", &ada()).await.unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_namespace_and_a_too_short_lifetime_are_refused_naming_the_problem() {
    let lab = lab().await;
    let e = grant(&lab, "nowhere", Access::View, 3600)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "namespace nowhere does not exist on cluster lab-1; access is given to a namespace that exists"
    );
    let e = grant(&lab, "demo", Access::View, 60).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("may not specify a duration less than 10 minutes"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_access_is_removed_and_the_account_with_its_last_grant() {
    let lab = lab().await;
    let store: Arc<dyn labkube::store::JobStore> =
        Arc::new(SledStore::open(&lab.dir.path().join("sweep")).unwrap());
    let mut expiries = Vec::new();
    for ns in ["demo", "other"] {
        let issued = grant(&lab, ns, Access::View, 3600).await.unwrap();
        let record = access::GrantRecord {
            principal: "matrix:@ada:lab.example".into(),
            access: Access::View,
            expires: issued.expires.clone(),
            expires_ms: issued.expires_ms,
        };
        store
            .put_grant(
                "lab-1",
                &issued.account,
                ns,
                &serde_json::to_string(&record).unwrap(),
            )
            .unwrap();
        expiries.push(issued.expires_ms);
    }
    let sweeper = access::Expiry::new(lab.layer.clone(), store.clone(), Duration::from_secs(60));
    assert_eq!(
        sweeper.sweep(expiries[0] - 1).await.unwrap(),
        0,
        "nothing expired yet"
    );
    assert_eq!(access::holders(&lab.layer, "lab-1").await.unwrap().len(), 2);

    // One grant expired: its binding goes, the account stays for the other.
    let mut other = access::records(&*store);
    other.retain(|(_, _, ns, _)| ns == "other");
    let (_, account, _, _) = other[0].clone();
    store
        .put_grant(
            "lab-1",
            &account,
            "other",
            &serde_json::to_string(&access::GrantRecord {
                expires_ms: 1,
                ..other[0].3.clone()
            })
            .unwrap(),
        )
        .unwrap();
    assert_eq!(sweeper.sweep(expiries[0] - 1).await.unwrap(), 1);
    let left = access::holders(&lab.layer, "lab-1").await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].namespace.as_deref(), Some("demo"));
    assert!(
        lab.fake
            .objects("ServiceAccount", Some("labkube-access"))
            .len()
            == 1,
        "the account stays while a grant lives"
    );

    // The last one expired: binding and account go; the records too.
    assert_eq!(sweeper.sweep(expiries[1] + 1).await.unwrap(), 1);
    assert!(
        access::holders(&lab.layer, "lab-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        lab.fake
            .objects("ServiceAccount", Some("labkube-access"))
            .is_empty()
    );
    assert!(access::records(&*store).is_empty());
}
