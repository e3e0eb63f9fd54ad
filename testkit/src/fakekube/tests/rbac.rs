//! Service-account tokens and RBAC: what a token the TokenRequest API issued may do, in the
//! apiserver's words when it may not; expiry and a deleted account end it.

use super::{namespace, start};
use crate::support::kubectl;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use std::time::Duration;

/// A service account `sa` in `ns`, bound to the ClusterRole `role` in `ns`; a token for it.
async fn account(client: &kube::Client, ns: &str, sa: &str, role: &str, secs: i64) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({ "metadata": { "name": sa } })).unwrap(),
    )
    .await
    .unwrap();
    let bindings: Api<k8s_openapi::api::rbac::v1::RoleBinding> =
        Api::namespaced(client.clone(), ns);
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": { "name": sa },
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
                "subjects": [{ "kind": "ServiceAccount", "name": sa, "namespace": ns }],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    token(client, ns, sa, secs).await.unwrap()
}

async fn token(client: &kube::Client, ns: &str, sa: &str, secs: i64) -> kube::Result<String> {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let req = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(secs),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let issued = sas
        .create_token_request(sa, &PostParams::default(), &req)
        .await?;
    Ok(issued.status.expect("a status").token)
}

fn refusal<T: std::fmt::Debug>(r: kube::Result<T>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.message),
        other => panic!("allowed: {other:?}"),
    }
}

#[tokio::test]
async fn a_view_token_reads_its_namespace_only_and_never_secrets() {
    let (fake, admin) = start().await;
    namespace(&admin, "demo").await;
    namespace(&admin, "other").await;
    let t = account(&admin, "demo", "ada", "view", 3600).await;
    let ada = fake.client_with_token(&t).await.unwrap();

    let pods: Api<Pod> = Api::namespaced(ada.clone(), "demo");
    pods.list(&ListParams::default())
        .await
        .expect("view lists pods");
    let other: Api<Pod> = Api::namespaced(ada.clone(), "other");
    assert_eq!(
        refusal(other.list(&ListParams::default()).await),
        (
            403,
            "pods is forbidden: User \"system:serviceaccount:demo:ada\" cannot list resource \"pods\" in API group \"\" in the namespace \"other\"".into()
        )
    );
    let secrets: Api<Secret> = Api::namespaced(ada.clone(), "demo");
    assert_eq!(
        refusal(secrets.get("db").await),
        (
            403,
            "secrets \"db\" is forbidden: User \"system:serviceaccount:demo:ada\" cannot get resource \"secrets\" in API group \"\" in the namespace \"demo\"".into()
        )
    );
    let cms: Api<ConfigMap> = Api::namespaced(ada.clone(), "demo");
    let cm: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "c" } })).unwrap();
    assert_eq!(
        refusal(cms.create(&PostParams::default(), &cm).await).0,
        403
    );
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(ada.clone());
    assert_eq!(
        refusal(nodes.list(&ListParams::default()).await).1,
        "nodes is forbidden: User \"system:serviceaccount:demo:ada\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
    );
    // Discovery is every authenticated user's.
    ada.apiserver_version().await.expect("/version");
    ada.list_api_groups().await.expect("/apis");
}

#[tokio::test]
async fn an_edit_token_writes_and_ends_when_it_expires_or_its_account_goes() {
    let (fake, admin) = start().await;
    namespace(&admin, "demo").await;
    let t = account(&admin, "demo", "ada", "edit", 600).await;
    let ada = fake.client_with_token(&t).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(ada.clone(), "demo");
    let cm: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": "c" } })).unwrap();
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("edit creates");
    assert_eq!(fake.live_tokens(), 1);

    fake.pass_token_time(Duration::from_secs(601));
    assert_eq!(
        refusal(cms.get("c").await),
        (401, "Unauthorized".into()),
        "expired"
    );
    assert_eq!(fake.live_tokens(), 0);

    // A fresh token works until its account is deleted; recreated, the old token stays dead.
    let t = token(&admin, "demo", "ada", 3600).await.unwrap();
    let ada = fake.client_with_token(&t).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(ada.clone(), "demo");
    cms.get("c").await.expect("a fresh token");
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "demo");
    sas.delete("ada", &DeleteParams::default()).await.unwrap();
    assert_eq!(refusal(cms.get("c").await).0, 401, "account deleted");
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({ "metadata": { "name": "ada" } })).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        refusal(cms.get("c").await).0,
        401,
        "a new account of that name"
    );
}

#[tokio::test]
async fn token_requests_are_refused_as_the_api_refuses_them() {
    let (_fake, admin) = start().await;
    namespace(&admin, "demo").await;
    assert_eq!(
        refusal(token(&admin, "demo", "nobody", 3600).await),
        (404, "serviceaccounts \"nobody\" not found".into())
    );
    account(&admin, "demo", "ada", "view", 3600).await;
    assert_eq!(
        refusal(token(&admin, "demo", "ada", 599).await),
        (
            422,
            "TokenRequest.authentication.k8s.io \"ada\" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_with_a_view_token_gets_pods_in_its_namespace_only() {
    // kubectl sends a bearer token over TLS only, as to any real API server.
    let (fake, admin) = super::start_with(crate::fakekube::FakeOptions {
        tls: true,
        ..crate::fakekube::FakeOptions::default()
    })
    .await;
    namespace(&admin, "demo").await;
    namespace(&admin, "other").await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "demo");
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": { "name": "orion-0" },
            "spec": { "containers": [{ "name": "orion", "image": "fiware/orion:4.1.0" }] },
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let t = account(&admin, "demo", "ada", "view", 3600).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, fake.kubeconfig_for_token(&t)).unwrap();

    let (ok, out, err) = kubectl(&path, &["get", "pods", "-n", "demo"]);
    assert!(ok, "{err}");
    assert!(out.contains("orion-0"), "{out}");
    let (ok, _, err) = kubectl(&path, &["get", "pods", "-n", "other"]);
    assert!(!ok);
    assert!(
        err.contains("Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:demo:ada\" cannot list resource \"pods\" in API group \"\" in the namespace \"other\""),
        "{err}"
    );
    fake.pass_token_time(Duration::from_secs(3601));
    let (ok, _, err) = kubectl(&path, &["get", "pods", "-n", "demo"]);
    assert!(!ok);
    assert!(
        err.contains("error: You must be logged in to the server"),
        "{err}"
    );
}

#[tokio::test]
async fn a_bindings_role_cannot_change() {
    let (_fake, admin) = start().await;
    namespace(&admin, "demo").await;
    let api: Api<k8s_openapi::api::rbac::v1::RoleBinding> = Api::namespaced(admin.clone(), "demo");
    let binding = |role: &str| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": { "name": "ada" },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role },
            "subjects": [{ "kind": "ServiceAccount", "name": "ada", "namespace": "demo" }],
        })
    };
    let apply = kube::api::PatchParams::apply("test").force();
    api.patch("ada", &apply, &kube::api::Patch::Apply(&binding("view")))
        .await
        .unwrap();
    api.patch("ada", &apply, &kube::api::Patch::Apply(&binding("view")))
        .await
        .expect("the same role again");
    assert_eq!(
        refusal(api.patch("ada", &apply, &kube::api::Patch::Apply(&binding("edit"))).await),
        (
            422,
            "RoleBinding.rbac.authorization.k8s.io \"ada\" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef".into()
        )
    );
}
