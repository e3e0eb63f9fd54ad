//! Tests of the builtin catalogue, the loader's refusals and the renderer's output.

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;
use crate::kube::catalogue::render::{RenderError, RenderInput, render};

const ALL: [&str; 17] = [
    "cratedb",
    "cygnus",
    "iotagent-json",
    "iotagent-ul",
    "keyrock",
    "mintaka",
    "mongodb",
    "mysql",
    "orion",
    "orion-ld",
    "perseo",
    "postgis",
    "quantumleap",
    "scorpio",
    "sth-comet",
    "timescaledb",
    "wilma",
];
const DATABASES: [&str; 5] = ["cratedb", "mongodb", "mysql", "postgis", "timescaledb"];

fn cat() -> Catalogue {
    Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"))
}

/// Input with a sample value for each required parameter (Wilma's Keyrock ids).
fn input(ge: &GeDef, replicas: u32, expose: bool) -> RenderInput<'_> {
    with_params(ge, replicas, expose, ge.sample_params())
}

/// Input with exactly these parameters (leaked: tests only, a few bytes each).
fn with_params(
    ge: &GeDef,
    replicas: u32,
    expose: bool,
    params: BTreeMap<String, String>,
) -> RenderInput<'_> {
    RenderInput {
        namespace: "lab",
        version: &ge.default_version,
        replicas,
        expose_nodeport: expose,
        params: Box::leak(Box::new(params)),
    }
}

/// Every rendered object of every GE with defaults, with NodePort, and at max replicas.
fn all_renders(cat: &Catalogue) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    for ge in cat.all() {
        for (r, e) in [
            (ge.replicas.default, false),
            (ge.replicas.default, true),
            (ge.replicas.max, false),
        ] {
            let objs = render(ge, &input(ge, r, e)).unwrap_or_else(|e| panic!("{e}"));
            out.push((ge.name.clone(), objs));
        }
    }
    out
}

fn containers(o: &Value) -> Vec<&Value> {
    let spec = &o["spec"]["template"]["spec"];
    ["initContainers", "containers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
        .collect()
}

fn is_workload(o: &Value) -> bool {
    matches!(
        o["kind"].as_str(),
        Some("Deployment" | "StatefulSet" | "DaemonSet")
    )
}

#[test]
fn builtin_has_all_ges_sorted() {
    let cat = cat();
    let names: Vec<&str> = cat.all().map(|g| g.name.as_str()).collect();
    for n in ALL {
        assert!(names.contains(&n), "missing {n}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn every_ge_renders_defaults_nodeport_and_max() {
    let cat = cat();
    for ge in cat.all() {
        let plain = render(ge, &input(ge, ge.replicas.default, false)).unwrap();
        let main = |objs: &[Value]| {
            objs.iter()
                .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == ge.name.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("{}: no main Service", ge.name))
        };
        assert_eq!(main(&plain)["spec"]["type"], "ClusterIP", "{}", ge.name);
        let exposed = render(ge, &input(ge, ge.replicas.default, true)).unwrap();
        assert_eq!(main(&exposed)["spec"]["type"], "NodePort", "{}", ge.name);
        let max = render(ge, &input(ge, ge.replicas.max, false)).unwrap();
        assert!(
            max.iter()
                .any(|o| is_workload(o) && o["spec"]["replicas"] == ge.replicas.max),
            "{}: replicas max not rendered",
            ge.name
        );
        for o in plain.iter().chain(&exposed).chain(&max) {
            let m = &o["metadata"];
            assert_eq!(m["namespace"], "lab");
            assert_eq!(m["labels"]["app.kubernetes.io/managed-by"], "labkube");
            assert_eq!(m["labels"]["app.kubernetes.io/instance"], ge.name.as_str());
            assert_eq!(m["labels"]["app.kubernetes.io/name"], ge.name.as_str());
            assert_eq!(
                m["labels"]["app.kubernetes.io/version"],
                ge.default_version.as_str()
            );
            if is_workload(o) {
                let pod = &o["spec"]["template"]["metadata"]["labels"];
                assert_eq!(
                    pod["app.kubernetes.io/version"],
                    ge.default_version.as_str()
                );
                for (k, v) in o["spec"]["selector"]["matchLabels"].as_object().unwrap() {
                    assert_eq!(&pod[k], v, "{}: selector {k}", ge.name);
                }
            }
        }
    }
}

#[test]
fn no_secret_objects_and_no_literal_passwords() {
    for (ge, objs) in all_renders(&cat()) {
        for o in &objs {
            assert_ne!(o["kind"], "Secret", "{ge}");
            for c in containers(o) {
                for e in c["env"].as_array().into_iter().flatten() {
                    let name = e["name"].as_str().unwrap().to_ascii_uppercase();
                    if ["PASS", "SECRET", "TOKEN"].iter().any(|s| name.contains(s)) {
                        assert!(
                            e["valueFrom"]["secretKeyRef"]["name"].is_string()
                                && e.get("value").is_none(),
                            "{ge}: env {name} is not from a secretKeyRef"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn deployments_roll_one_up_none_down() {
    for (ge, objs) in all_renders(&cat()) {
        for o in objs.iter().filter(|o| o["kind"] == "Deployment") {
            let s = &o["spec"];
            assert_eq!(s["strategy"]["type"], "RollingUpdate", "{ge}");
            assert_eq!(s["strategy"]["rollingUpdate"]["maxSurge"], 1, "{ge}");
            assert_eq!(s["strategy"]["rollingUpdate"]["maxUnavailable"], 0, "{ge}");
            assert!(s["progressDeadlineSeconds"].as_u64().unwrap() > 0, "{ge}");
        }
        for o in objs.iter().filter(|o| o["kind"] == "StatefulSet") {
            assert_eq!(o["spec"]["updateStrategy"]["type"], "RollingUpdate", "{ge}");
        }
    }
}

#[test]
fn containers_have_probes_and_resources() {
    for (ge, objs) in all_renders(&cat()) {
        for o in objs.iter().filter(|o| is_workload(o)) {
            for c in o["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
            {
                let n = c["name"].as_str().unwrap();
                assert!(c["readinessProbe"].is_object(), "{ge}/{n} readiness");
                assert!(c["livenessProbe"].is_object(), "{ge}/{n} liveness");
                for part in ["requests", "limits"] {
                    for r in ["cpu", "memory"] {
                        assert!(c["resources"][part][r].is_string(), "{ge}/{n} {part}.{r}");
                    }
                }
                let image = c["image"].as_str().unwrap();
                assert!(
                    !image.ends_with(":latest") && image.contains(':'),
                    "{ge}: {image}"
                );
            }
        }
    }
}

#[test]
fn databases_keep_data_in_volumes() {
    let cat = cat();
    for db in DATABASES {
        let ge = cat.get(db).unwrap();
        assert!(ge.has_data(), "{db}");
        assert_eq!(ge.replicas.max, 1, "{db}");
        let objs = render(ge, &input(ge, 1, false)).unwrap();
        let sts = objs.iter().find(|o| o["kind"] == "StatefulSet").unwrap();
        let vct = &sts["spec"]["volumeClaimTemplates"][0];
        assert!(
            vct["spec"]["resources"]["requests"]["storage"].is_string(),
            "{db}"
        );
        // volumeClaimTemplates are immutable: no version label, or every upgrade would fail.
        assert!(vct["metadata"]["labels"]["app.kubernetes.io/version"].is_null());
        assert_eq!(vct["metadata"]["labels"]["app.kubernetes.io/instance"], db);
    }
    for stateless in ["orion", "wilma", "quantumleap"] {
        assert!(!cat.get(stateless).unwrap().has_data(), "{stateless}");
    }
}

#[test]
fn orion_uses_db_uri_and_the_version_lands_in_the_image() {
    let cat = cat();
    let ge = cat.get("orion").unwrap();
    assert_eq!(ge.image_ref("4.1.0"), "quay.io/fiware/orion:4.1.0");
    assert_eq!(ge.default_version, "4.1.0");
    let objs = render(
        ge,
        &RenderInput {
            namespace: "fiware",
            version: "4.0.0",
            replicas: 2,
            expose_nodeport: false,
            params: &BTreeMap::new(),
        },
    )
    .unwrap();
    let dep = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "quay.io/fiware/orion:4.0.0");
    assert_eq!(dep["spec"]["replicas"], 2);
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let i = args.iter().position(|a| *a == "-dbURI").unwrap();
    assert!(
        args[i + 1].starts_with("mongodb://$(MONGO_USERNAME):$(MONGO_PASSWORD)@mongodb:27017/")
    );
    assert!(!args.iter().any(|a| *a == "-dbhost" || *a == "-dbpwd"));
    assert_eq!(dep["metadata"]["namespace"], "fiware");
}

#[test]
fn install_order_puts_dependencies_first() {
    let cat = cat();
    let names = |n: &str| -> Vec<String> {
        cat.install_order(n)
            .iter()
            .map(|g| g.name.clone())
            .collect()
    };
    assert_eq!(names("orion"), ["mongodb", "orion"]);
    assert_eq!(names("wilma"), ["mysql", "keyrock", "wilma"]);
    assert_eq!(names("perseo"), ["mongodb", "orion", "perseo"]);
    assert_eq!(names("iotagent-ul"), ["mongodb", "orion", "iotagent-ul"]);
    assert_eq!(names("quantumleap"), ["cratedb", "quantumleap"]);
    assert_eq!(names("mongodb"), ["mongodb"]);
    assert!(names("nope").is_empty());
}

#[test]
fn closest_suggests_near_names() {
    let cat = cat();
    let c = cat.closest("orio");
    assert_eq!(c.first().map(String::as_str), Some("orion"));
    assert!(c.len() <= 3);
    assert_eq!(
        cat.closest("keyrok").first().map(String::as_str),
        Some("keyrock")
    );
    assert_eq!(
        cat.closest("sth").first().map(String::as_str),
        Some("sth-comet")
    );
    assert!(cat.closest("zzzzzzzzzzzz").is_empty());
}

#[test]
fn markdown_table_lists_every_ge() {
    let cat = cat();
    let t = cat.markdown_table();
    assert!(t.starts_with("| GE |"));
    assert_eq!(t.lines().count(), 2 + cat.all().count());
    for ge in cat.all() {
        assert!(t.contains(&format!("| {} |", ge.name)), "{}", ge.name);
        assert!(t.contains(&ge.image_ref(&ge.default_version)));
    }
    assert!(t.contains("GET /version :1026"));
    assert!(t.contains("tcp :1027"));
}

#[test]
fn render_refuses_bad_inputs() {
    let cat = cat();
    let ge = cat.get("mongodb").unwrap();
    let err = render(ge, &input(ge, 2, false)).unwrap_err();
    assert!(matches!(err, RenderError::ReplicasOutOfBounds { .. }));
    assert_eq!(
        err.to_string(),
        "mongodb accepts replicas from 1 to 1 (got 2)"
    );
    let orion = cat.get("orion").unwrap();
    let bad_version = RenderInput {
        version: "4.1.0;rm",
        ..input(orion, 1, false)
    };
    assert!(matches!(
        render(orion, &bad_version),
        Err(RenderError::InvalidVersion(_))
    ));
    let bad_ns = RenderInput {
        namespace: "Lab_1",
        ..input(orion, 1, false)
    };
    assert!(matches!(
        render(orion, &bad_ns),
        Err(RenderError::InvalidNamespace(_))
    ));
}

#[test]
fn parameters_override_and_are_checked() {
    let cat = cat();
    let orion = cat.get("orion").unwrap();
    let set = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
    let objs = render(
        orion,
        &with_params(orion, 1, false, set("log_level", "DEBUG")),
    )
    .unwrap();
    let dep = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert!(
        dep["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .contains(&Value::from("DEBUG"))
    );
    let err = render(
        orion,
        &with_params(orion, 1, false, set("log_level", "LOUD")),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("log_level must be one of"), "{err}");
    let err = render(orion, &with_params(orion, 1, false, set("colour", "x")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no parameter `colour`"), "{err}");
    let mongo = cat.get("mongodb").unwrap();
    let objs = render(
        mongo,
        &with_params(mongo, 1, false, set("storage_size", "20Gi")),
    )
    .unwrap();
    let sts = objs.iter().find(|o| o["kind"] == "StatefulSet").unwrap();
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "20Gi"
    );
    for bad in ["900Gi", "10", "ten"] {
        assert!(
            render(
                mongo,
                &with_params(mongo, 1, false, set("storage_size", bad))
            )
            .is_err()
        );
    }
    let perseo = cat.get("perseo").unwrap();
    let objs = render(
        perseo,
        &with_params(perseo, 1, false, set("core_version", "1.12.0")),
    )
    .unwrap();
    assert!(
        objs.iter()
            .flat_map(containers)
            .any(|c| c["image"] == "telefonicaiot/perseo-core:1.12.0")
    );
}

#[test]
fn output_order_is_configs_volumes_services_then_workloads() {
    for (ge, objs) in all_renders(&cat()) {
        let first_workload = objs.iter().position(is_workload).unwrap();
        assert!(
            objs[first_workload..].iter().all(is_workload),
            "{ge}: a non-workload after the workloads"
        );
    }
}

#[test]
fn every_parameter_can_be_given_to_ge_install() {
    for ge in cat().all() {
        for p in &ge.params {
            let line = format!("/ge install {} {}=x", ge.name, p.name);
            match crate::command::parse(&line, None) {
                Ok(Some(crate::command::Command::GeInstall { params, .. })) => {
                    assert_eq!(params.get(&p.name).map(String::as_str), Some("x"), "{line}");
                }
                other => {
                    panic!("{line}: {other:?} (a name too close to an option of /ge install?)")
                }
            }
        }
    }
}

#[test]
fn keyrock_tells_browsers_the_address_it_is_given() {
    let cat = cat();
    let keyrock = cat.get("keyrock").unwrap();
    let idm_host = |objs: &[Value]| {
        let dep = objs.iter().find(|o| o["kind"] == "Deployment").unwrap();
        dep["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "IDM_HOST")
            .unwrap()["value"]
            .clone()
    };
    let inside = render(keyrock, &input(keyrock, 1, false)).unwrap();
    assert_eq!(idm_host(&inside), "http://keyrock:3000");
    let url = BTreeMap::from([("url".to_string(), "http://10.0.0.5:30300".to_string())]);
    let exposed = render(keyrock, &with_params(keyrock, 1, true, url)).unwrap();
    assert_eq!(idm_host(&exposed), "http://10.0.0.5:30300");
}
