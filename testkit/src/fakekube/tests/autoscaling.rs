//! The HorizontalPodAutoscaler controller and the APIService of metrics-server, and force
//! applies that share the fields whose values they do not change.

use super::{deployment, start, start_with};
use crate::fakekube::FakeOptions;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::time::{Duration, Instant};

fn hpa(min: i32, max: i32, cpu: i32) -> serde_json::Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": { "name": "orion" },
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "orion" },
            "minReplicas": min, "maxReplicas": max,
            "metrics": [{ "type": "Resource", "resource": { "name": "cpu",
                "target": { "type": "Utilization", "averageUtilization": cpu } } }],
        },
    })
}

/// Applies deployment orion with `replicas` and an HPA on it (bounds, 50 % CPU target).
async fn orion_with_hpa(
    client: &kube::Client,
    replicas: i32,
    (min, max): (i32, i32),
) -> (Api<Deployment>, Api<HorizontalPodAutoscaler>) {
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let hpas: Api<HorizontalPodAutoscaler> = Api::default_namespaced(client.clone());
    let apply = PatchParams::apply("labkube");
    let manifest = deployment("orion", "fiware/orion:4", replicas, 600);
    deployments
        .patch("orion", &apply, &Patch::Apply(manifest))
        .await
        .unwrap();
    hpas.patch("orion", &apply, &Patch::Apply(hpa(min, max, 50)))
        .await
        .unwrap();
    (deployments, hpas)
}

/// Waits until `f` holds for the HPA named orion; returns it.
async fn hpa_until(
    api: &Api<HorizontalPodAutoscaler>,
    f: impl Fn(&HorizontalPodAutoscaler) -> bool,
) -> HorizontalPodAutoscaler {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = api.get("orion").await.unwrap();
        if f(&h) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "HPA never got there: {:?}",
            h.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn condition(h: &HorizontalPodAutoscaler, kind: &str) -> (String, String) {
    let c = h
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == kind))
        .unwrap_or_else(|| panic!("no {kind} condition: {:?}", h.status));
    (c.status.clone(), c.reason.clone().unwrap_or_default())
}

#[tokio::test]
async fn an_hpa_keeps_its_bounds_and_follows_the_load_through_the_metrics_api() {
    let (fake, client) = start().await;
    let (deployments, hpas) = orion_with_hpa(&client, 1, (2, 5)).await;
    // No load reported: the bounds still hold (1 → 2), and it says why it cannot do more.
    let h = hpa_until(&hpas, |h| {
        h.status.as_ref().is_some_and(|s| s.desired_replicas == 2)
    })
    .await;
    assert_eq!(
        condition(&h, "ScalingActive"),
        ("False".into(), "FailedGetResourceMetric".into())
    );
    let d = deployments.get("orion").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(2));
    let managers: Vec<String> = d
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"kube-controller-manager".to_string()),
        "{managers:?}"
    );
    // Four pods' worth of load on a 50 % target: as many pods as the maximum allows.
    fake.set_cpu_load(Some(400));
    let h = hpa_until(&hpas, |h| {
        h.status.as_ref().is_some_and(|s| s.desired_replicas == 5)
    })
    .await;
    assert_eq!(
        condition(&h, "ScalingLimited"),
        ("True".into(), "TooManyReplicas".into())
    );
    assert_eq!(
        condition(&h, "ScalingActive"),
        ("True".into(), "ValidMetricFound".into())
    );
    // Within 10 % of the target nothing moves: 400 % over 8 pods would be 50 %.
    fake.set_cpu_load(Some(260));
    let h = hpa_until(&hpas, |h| {
        h.status.as_ref().is_some_and(|s| {
            s.current_metrics.as_ref().is_some_and(|m| {
                m[0].resource
                    .as_ref()
                    .and_then(|r| r.current.average_utilization)
                    == Some(52)
            })
        })
    })
    .await;
    assert_eq!(h.status.unwrap().desired_replicas, 5);
}

#[tokio::test]
async fn without_metrics_server_there_is_no_metrics_api_and_no_scaling_on_load() {
    let (fake, client) = start_with(FakeOptions {
        metrics_server: false,
        ..FakeOptions::default()
    })
    .await;
    let services: Api<APIService> = Api::all(client.clone());
    assert!(
        services
            .get_opt("v1beta1.metrics.k8s.io")
            .await
            .unwrap()
            .is_none()
    );
    let (deployments, hpas) = orion_with_hpa(&client, 2, (1, 5)).await;
    fake.set_cpu_load(Some(900));
    let h = hpa_until(&hpas, |h| {
        h.status.as_ref().is_some_and(|s| s.conditions.is_some())
    })
    .await;
    assert_eq!(
        condition(&h, "ScalingActive"),
        ("False".into(), "FailedGetResourceMetric".into())
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        deployments
            .get("orion")
            .await
            .unwrap()
            .spec
            .unwrap()
            .replicas,
        Some(2)
    );
}

#[tokio::test]
async fn a_forced_apply_shares_the_fields_it_sets_to_their_value() {
    let (_fake, client) = start().await;
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    deployments
        .patch(
            "orion",
            &PatchParams::apply("labkube"),
            &Patch::Apply(deployment("orion", "fiware/orion:4", 3, 600)),
        )
        .await
        .unwrap();
    // Same replicas, another image: only the image changes hands.
    let d = deployments
        .patch(
            "orion",
            &PatchParams::apply("other").force(),
            &Patch::Apply(deployment("orion", "fiware/orion:5", 3, 600)),
        )
        .await
        .unwrap();
    let owns = |manager: &str, field: &str| {
        d.metadata.managed_fields.iter().flatten().any(|m| {
            m.manager.as_deref() == Some(manager)
                && m.fields_v1
                    .as_ref()
                    .is_some_and(|f| f.0.to_string().contains(field))
        })
    };
    assert!(owns("labkube", "f:replicas") && owns("other", "f:replicas"));
    // (The fake keeps lists atomic: the containers list is one field.)
    assert!(!owns("labkube", "f:containers") && owns("other", "f:containers"));
}

#[tokio::test]
async fn an_hpa_with_bounds_the_apiserver_refuses_is_refused_in_its_words() {
    let (_fake, client) = start().await;
    let hpas: Api<HorizontalPodAutoscaler> = Api::default_namespaced(client.clone());
    let apply = PatchParams::apply("labkube");
    for (min, max, why) in [
        (
            3,
            2,
            "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
        ),
        (
            0,
            2,
            "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        ),
    ] {
        let err = hpas
            .patch("orion", &apply, &Patch::Apply(hpa(min, max, 50)))
            .await
            .unwrap_err();
        let kube::Error::Api(e) = err else {
            panic!("{err}")
        };
        assert_eq!(e.code, 422);
        assert!(e.message.ends_with(why), "{}", e.message);
    }
}
