//! TLS like kubeadm's API server: the CA in admin.conf verifies the server, the client
//! certificate authenticates, and a request without a certificate this CA issued is 401.

use super::super::pki::{ADMIN_GROUP, ADMIN_USER, Pki};
use super::super::{FakeKube, FakeOptions};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

async fn tls_fake() -> FakeKube {
    FakeKube::start(FakeOptions {
        tls: true,
        ..FakeOptions::default()
    })
    .await
    .unwrap()
}

fn status_of<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> (u16, String, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn admin_conf_is_kubeadm_shaped_and_its_client_certificate_authenticates() {
    let fake = tls_fake().await;
    let yaml = fake.kubeconfig_yaml();
    for field in [
        "certificate-authority-data:",
        "client-certificate-data:",
        "client-key-data:",
        &format!("server: https://{}", fake.addr()),
        "current-context: kubernetes-admin@kubernetes",
    ] {
        assert!(yaml.contains(field), "{field} missing");
    }
    assert!(!yaml.contains("token"), "no bearer token in admin.conf");
    let client = fake.client().await.unwrap();
    let api: Api<Namespace> = Api::all(client);
    api.get("default").await.unwrap();
    assert!(fake.requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn a_certificate_of_another_ca_or_none_at_all_is_401_unauthorized() {
    let fake = tls_fake().await;
    let foreign = Pki::foreign(ADMIN_USER, &[ADMIN_GROUP]);
    let client = FakeKube::client_from(&fake.kubeconfig_with(&foreign))
        .await
        .unwrap();
    let api: Api<Namespace> = Api::all(client);
    assert_eq!(
        status_of(api.get("default").await),
        (401, "Unauthorized".into(), "Unauthorized".into())
    );
    // The CA alone: TLS works, no credential at all.
    let yaml = fake.kubeconfig_yaml();
    let bare = yaml[..yaml.find("    client-certificate-data").unwrap()]
        .replace("  user:\n", "  user: {}\n");
    let client = FakeKube::client_from(&bare).await.unwrap();
    let api: Api<Namespace> = Api::all(client);
    assert_eq!(status_of(api.get("default").await).0, 401);
    // A bearer token is no credential for it.
    let plain = fake.pki().unwrap().issue("someone", &[]);
    let with_token = fake
        .kubeconfig_with(&plain)
        .replace(
            "    client-certificate-data",
            "    token: fake-kube-token\n    x-cert",
        )
        .replace("    client-key-data", "    x-key");
    let client = FakeKube::client_from(&with_token).await.unwrap();
    let api: Api<Namespace> = Api::all(client);
    assert_eq!(status_of(api.get("default").await).0, 401);
}

#[tokio::test]
async fn a_client_trusting_another_ca_does_not_talk_to_it() {
    let fake = tls_fake().await;
    let other = Pki::new("127.0.0.1".parse().unwrap());
    let admin = other.issue(ADMIN_USER, &[ADMIN_GROUP]);
    let yaml = other.admin_conf(fake.addr(), &admin);
    let client = FakeKube::client_from(&yaml).await.unwrap();
    let api: Api<Namespace> = Api::all(client);
    let r = api.get("default").await;
    assert!(
        matches!(r, Err(ref e) if !matches!(e, kube::Error::Api(_))),
        "{r:?}"
    );
    assert!(fake.requests().is_empty(), "no request got through");
}
