//! REST semantics: apply, patches, errors, selectors, allocation, namespaces, auth, pause.

use super::super::{FakeKube, FakeOptions};
use super::{apply, deployment, namespace, start, start_with};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::time::Duration;

fn api_code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn server_side_apply_tracks_generation_and_managers() {
    let (fake, client) = start().await;
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    let d = apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:4.1.0", 1, 600),
    )
    .await;
    assert_eq!(d.metadata.generation, Some(1));
    let mf = d.metadata.managed_fields.clone().unwrap();
    assert!(mf.iter().any(
        |m| m.manager.as_deref() == Some("labkube") && m.operation.as_deref() == Some("Apply")
    ));
    let seen: Vec<super::super::RequestRecord> = fake.requests();
    assert!(seen.iter().any(|r| r.method == "PATCH"
        && r.status == 201
        && r.content_type == "application/apply-patch+yaml"
        && r.path == "/apis/apps/v1/namespaces/default/deployments/orion"
        && r.query.contains("fieldManager=labkube")));
    // Same manifest again: a no-op, same resourceVersion, 200.
    let before = fake.mutations();
    let again = apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:4.1.0", 1, 600),
    )
    .await;
    assert_eq!(again.metadata.resource_version, d.metadata.resource_version);
    assert_eq!(fake.mutations(), before);
    assert_eq!(fake.requests().last().unwrap().status, 200);
    // A changed template bumps the generation; a label does not.
    let d2 = apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:4.2.0", 1, 600),
    )
    .await;
    assert_eq!(d2.metadata.generation, Some(2));
    let mut labelled = deployment("orion", "fiware/orion:4.2.0", 1, 600);
    labelled["metadata"]["labels"]["extra"] = json!("x");
    let d3 = apply(&api, "orion", &labelled).await;
    assert_eq!(d3.metadata.generation, Some(2));
    assert_eq!(d3.metadata.labels.unwrap()["extra"], "x");
    // A field dropped from the manifest is removed (the manager owned it alone).
    let d4 = apply(
        &api,
        "orion",
        &deployment("orion", "fiware/orion:4.2.0", 1, 600),
    )
    .await;
    assert!(!d4.metadata.labels.unwrap().contains_key("extra"));
    // Missing fieldManager: 400, as the real server.
    let body = serde_json::to_vec(&deployment("orion", "x:1", 1, 600)).unwrap();
    let req = axum::http::Request::patch("/apis/apps/v1/namespaces/default/deployments/orion")
        .header("Content-Type", "application/apply-patch+yaml")
        .body(body)
        .unwrap();
    let (code, reason) = api_code(client.request_text(req).await);
    assert_eq!((code, reason.as_str()), (400, "BadRequest"));
    // Another manager changing an owned field conflicts unless forced.
    let other = PatchParams::apply("someone-else");
    let r = api
        .patch(
            "orion",
            &other,
            &Patch::Apply(&deployment("orion", "fiware/orion:9", 1, 600)),
        )
        .await;
    assert_eq!(api_code(r), (409, "Conflict".to_string()));
    let forced = api
        .patch(
            "orion",
            &other.force(),
            &Patch::Apply(&deployment("orion", "fiware/orion:9", 1, 600)),
        )
        .await
        .unwrap();
    assert_eq!(
        forced.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("fiware/orion:9")
    );
}

#[tokio::test]
async fn create_replace_patch_delete_and_errors() {
    let (fake, client) = start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "conf"}, "data": {"a": "1"}})).unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    assert_eq!(
        api_code(cms.create(&PostParams::default(), &cm).await),
        (409, "AlreadyExists".into())
    );
    assert_eq!(api_code(cms.get("absent").await), (404, "NotFound".into()));
    // Merge patch and strategic merge patch.
    let p = cms
        .patch(
            "conf",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"b": "2", "a": null}})),
        )
        .await
        .unwrap();
    assert_eq!(
        p.data.unwrap().into_iter().collect::<Vec<_>>(),
        vec![("b".to_string(), "2".to_string())]
    );
    let p = cms
        .patch(
            "conf",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(p.metadata.labels.unwrap()["x"], "y");
    // Replace with a stale resourceVersion conflicts; with the current one it works.
    let mut stale = created.clone();
    stale.data = Some([("c".to_string(), "3".to_string())].into());
    assert_eq!(
        api_code(cms.replace("conf", &PostParams::default(), &stale).await).0,
        409
    );
    let mut fresh = cms.get("conf").await.unwrap();
    fresh.data = Some([("c".to_string(), "3".to_string())].into());
    cms.replace("conf", &PostParams::default(), &fresh)
        .await
        .unwrap();
    // Namespace in the body must match the path; the namespace must exist.
    let wrong: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "w", "namespace": "other"}})).unwrap();
    assert_eq!(
        api_code(cms.create(&PostParams::default(), &wrong).await).0,
        400
    );
    let missing: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let lost: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "w"}})).unwrap();
    assert_eq!(
        api_code(missing.create(&PostParams::default(), &lost).await),
        (404, "NotFound".into())
    );
    // Secret stringData becomes base64 data.
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "pw"}, "stringData": {"password": "hunter2"}}),
    )
    .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let raw = fake.object("v1", "Secret", Some("default"), "pw").unwrap();
    assert_eq!(raw["data"]["password"], "aHVudGVyMg==");
    assert!(raw.get("stringData").is_none());
    // Delete; then 404.
    cms.delete("conf", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        api_code(cms.delete("conf", &DeleteParams::default()).await).0,
        404
    );
    assert!(
        fake.object("v1", "ConfigMap", Some("default"), "conf")
            .is_none()
    );
}

#[tokio::test]
async fn label_and_field_selectors() {
    let (_fake, client) = start().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for (name, labels) in [
        ("a", json!({"tier": "db", "env": "prod"})),
        ("b", json!({"tier": "web", "env": "dev"})),
        ("c", json!({"tier": "cache"})),
    ] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    let cases = [
        ("tier=db", vec!["a"]),
        ("tier==web", vec!["b"]),
        ("tier!=db", vec!["b", "c"]),
        ("tier in (db,cache)", vec!["a", "c"]),
        ("tier notin (db,cache)", vec!["b"]),
        ("env", vec!["a", "b"]),
        ("!env", vec!["c"]),
        ("env,tier=web", vec!["b"]),
    ];
    for (sel, want) in cases {
        let got = names(cms.list(&ListParams::default().labels(sel)).await.unwrap());
        assert_eq!(got, want, "selector {sel}");
    }
    let got = names(
        cms.list(&ListParams::default().fields("metadata.name=b"))
            .await
            .unwrap(),
    );
    assert_eq!(got, vec!["b"]);
    let got = names(
        cms.list(&ListParams::default().fields("metadata.name!=b"))
            .await
            .unwrap(),
    );
    assert_eq!(got, vec!["a", "c"]);
    assert_eq!(
        api_code(cms.list(&ListParams::default().fields("data.x=1")).await).0,
        400
    );
    // Paging with limit/continue.
    let page = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().unwrap();
    let rest = cms
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(rest), vec!["c"]);
    // Cross-namespace list: these three and kubeadm's kube-public/cluster-info.
    let all: Api<ConfigMap> = Api::all(client.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        4
    );
}

#[tokio::test]
async fn node_ports_are_allocated_and_stable() {
    let (_fake, client) = start().await;
    let svcs: Api<Service> = Api::default_namespaced(client.clone());
    let manifest = |extra: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orion", "labels": {"v": extra}},
            "spec": {"type": "NodePort", "selector": {"app": "orion"}, "ports": [{"name": "http", "port": 1026}, {"name": "m", "port": 9090}]}})
    };
    let s1 = apply(&svcs, "orion", &manifest("1")).await;
    let spec1 = s1.spec.unwrap();
    let ports1: Vec<i32> = spec1
        .ports
        .unwrap()
        .iter()
        .map(|p| p.node_port.unwrap())
        .collect();
    assert!(ports1.iter().all(|p| (30000..=32767).contains(p)));
    assert_ne!(ports1[0], ports1[1]);
    let ip = spec1.cluster_ip.unwrap();
    assert!(
        ip.starts_with("10.9") || ip.starts_with("10.10") || ip.starts_with("10.11"),
        "{ip}"
    );
    let s2 = apply(&svcs, "orion", &manifest("2")).await;
    let spec2 = s2.spec.unwrap();
    let ports2: Vec<i32> = spec2
        .ports
        .unwrap()
        .iter()
        .map(|p| p.node_port.unwrap())
        .collect();
    assert_eq!(ports1, ports2);
    assert_eq!(spec2.cluster_ip.unwrap(), ip);
    // A second service gets different ports; a taken explicit port is refused.
    let mut other = manifest("1");
    other["metadata"]["name"] = json!("other");
    let s3 = apply(&svcs, "other", &other).await;
    assert!(
        s3.spec
            .unwrap()
            .ports
            .unwrap()
            .iter()
            .all(|p| !ports1.contains(&p.node_port.unwrap()))
    );
    let mut clash = manifest("1");
    clash["metadata"]["name"] = json!("clash");
    clash["spec"]["ports"][0]["nodePort"] = json!(ports1[0]);
    let r = svcs
        .patch(
            "clash",
            &PatchParams::apply("labkube"),
            &Patch::Apply(&clash),
        )
        .await;
    assert_eq!(api_code(r).0, 422);
}

#[tokio::test]
async fn namespace_delete_removes_everything_in_it() {
    let (fake, client) = start().await;
    namespace(&client, "gone").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gone");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "gone");
    apply(&deploys, "d", &deployment("d", "img:1", 1, 600)).await;
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns = nss
        .delete("gone", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while nss.get_opt("gone").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "namespace not removed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for kind in ["ConfigMap", "Deployment", "ReplicaSet", "Pod"] {
        assert!(
            fake.objects(kind, Some("gone")).is_empty(),
            "{kind} left behind"
        );
    }
}

#[tokio::test]
async fn wrong_token_is_unauthorized() {
    let fake = FakeKube::start(FakeOptions::default()).await.unwrap();
    let yaml = fake.kubeconfig_yaml().replace("fake-kube-token", "wrong");
    let kc = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    assert_eq!(api_code(api.get("x").await), (401, "Unauthorized".into()));
    // The written kubeconfig is the same document.
    let dir = tempfile::tempdir().unwrap();
    let path = fake.write_kubeconfig(dir.path()).unwrap();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        fake.kubeconfig_yaml()
    );
}

#[tokio::test]
async fn pause_refuses_connections_and_resume_serves_again() {
    let (fake, client) = start_with(FakeOptions::default()).await;
    let api: Api<Namespace> = Api::all(client.clone());
    api.get("default").await.unwrap();
    let addr = fake.addr();
    fake.pause().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener still open"
    );
    let t = tokio::time::Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), api.get("default"))
        .await
        .expect("fails quickly");
    assert!(
        matches!(r, Err(ref e) if !matches!(e, kube::Error::Api(_))),
        "{r:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    fake.resume().await.unwrap();
    assert_eq!(fake.addr(), addr);
    let back: Value = serde_json::to_value(api.get("default").await.unwrap()).unwrap();
    assert_eq!(back["metadata"]["name"], "default");
    fake.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
