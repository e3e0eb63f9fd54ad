//! The loader refuses broken catalogues (copies of the builtin one, edited) with a message naming
//! the GE and the problem.

use std::path::Path;

use super::*;
use crate::kube::catalogue::render::{RenderInput, render};

// ---------------------------------------------------------------- broken catalogues

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A copy of the builtin catalogue in a temporary directory.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/ges"),
        dir.path(),
    );
    dir
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "{file} lacks {from:?}");
    std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
}

fn refused(dir: &Path) -> String {
    Catalogue::from_dir(dir).unwrap_err().to_string()
}

#[test]
fn from_dir_accepts_an_intact_copy() {
    let dir = copy();
    let cat = Catalogue::from_dir(dir.path()).unwrap();
    assert_eq!(
        cat.all().count(),
        super::Catalogue::builtin().unwrap().all().count()
    );
}

#[test]
fn from_dir_refuses_a_template_syntax_error() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/manifests/deployment.yaml.j2",
        "{{ replicas }}",
        "{{ replicas ",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE orion") && e.contains("deployment.yaml.j2"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_an_undefined_variable() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/manifests/deployment.yaml.j2",
        "{{ replicas }}",
        "{{ replica }}",
    );
    let e = refused(dir.path());
    assert!(e.contains("GE orion") && e.contains("undefined"), "{e}");
}

#[test]
fn from_dir_refuses_a_missing_dependency() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/ge.toml",
        "dependencies = [\"mongodb\"]",
        "dependencies = [\"mongo\"]",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE orion") && e.contains("unknown GE mongo") && e.contains("mongodb"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_a_cycle() {
    let dir = copy();
    edit(
        dir.path(),
        "mongodb/ge.toml",
        "dependencies = []",
        "dependencies = [\"orion\"]",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("cycle") && e.contains("mongodb") && e.contains("orion"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_a_workload_not_rendered() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/ge.toml",
        "[[workloads]]",
        "[[workloads]]\nkind = \"Deployment\"\nname = \"orion-extra\"\n\n[[workloads]]",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE orion") && e.contains("Deployment/orion-extra"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_a_secret_in_a_template() {
    let dir = copy();
    std::fs::write(
        dir.path().join("orion/manifests/secret.yaml.j2"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: b\n",
    )
    .unwrap();
    let e = refused(dir.path());
    assert!(
        e.contains("GE orion") && e.contains("secret.yaml.j2 defines a Secret"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_a_literal_password() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/manifests/deployment.yaml.j2",
        "          env:\n",
        "          env:\n            - name: \"DB_PASSWORD\"\n              value: \"hunter2\"\n",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE orion") && e.contains("DB_PASSWORD must come from valueFrom.secretKeyRef"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_an_undeclared_secret() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/manifests/deployment.yaml.j2",
        "key: \"password\"",
        "key: \"pasword\"",
    );
    let e = refused(dir.path());
    assert!(e.contains("GE orion") && e.contains("pasword"), "{e}");
}

#[test]
fn from_dir_refuses_a_misspelt_field() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/manifests/deployment.yaml.j2",
        "readinessProbe:",
        "readinesProbe:",
    );
    let e = refused(dir.path());
    assert!(e.contains("GE orion") && e.contains("readinesProbe"), "{e}");
}

#[test]
fn from_dir_refuses_a_recreate_strategy() {
    let dir = copy();
    edit(
        dir.path(),
        "sth-comet/manifests/deployment.yaml.j2",
        "maxUnavailable: 0",
        "maxUnavailable: 1",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE sth-comet") && e.contains("maxUnavailable 0"),
        "{e}"
    );
}

#[test]
fn from_dir_refuses_bad_metadata() {
    let dir = copy();
    edit(
        dir.path(),
        "orion/ge.toml",
        "default_version = \"4.1.0\"",
        "default_version = \"latest\"",
    );
    assert!(refused(dir.path()).contains("not a pinned image tag"));
    let dir = copy();
    edit(dir.path(), "orion/ge.toml", "max = 5", "max = 0");
    assert!(refused(dir.path()).contains("replicas need"));
    let dir = copy();
    edit(
        dir.path(),
        "orion/ge.toml",
        "default = \"WARN\"",
        "default = \"LOUD\"",
    );
    let e = refused(dir.path());
    assert!(e.contains("GE orion") && e.contains("log_level"), "{e}");
}

#[test]
fn interpolated_strings_cannot_break_the_yaml() {
    let dir = copy();
    // A value with YAML syntax in it lands as one quoted scalar.
    edit(
        dir.path(),
        "orion/manifests/deployment.yaml.j2",
        "value: \"TRUE\"",
        "value: {{ \"TRUE\\\"\\n  injected: [1]\\n# \" }}",
    );
    let cat = Catalogue::from_dir(dir.path()).unwrap();
    let ge = cat.get("orion").unwrap();
    let objs = render(
        ge,
        &RenderInput {
            namespace: "lab",
            version: &ge.default_version,
            replicas: 1,
            expose_nodeport: false,
            params: &Default::default(),
        },
    )
    .unwrap();
    let c = &objs.iter().find(|o| o["kind"] == "Deployment").unwrap()["spec"]["template"]["spec"]["containers"]
        [0];
    let env = c["env"].as_array().unwrap();
    let v = env
        .iter()
        .find(|e| e["name"] == "ORION_DISABLE_FILE_LOG")
        .unwrap();
    assert_eq!(v["value"], "TRUE\"\n  injected: [1]\n# ");
}

#[test]
fn from_dir_refuses_secret_parameters_that_would_leak_or_cannot_be_given() {
    let secret = "name = \"password\"\ndescription = \"the PEP proxy's password Keyrock showed when it was registered\"\ntype = \"secret\"";
    // A default would be a shared, public credential.
    let dir = copy();
    edit(
        dir.path(),
        "wilma/ge.toml",
        secret,
        &format!("{secret}\ndefault = \"changeme\""),
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE wilma") && e.contains("a secret parameter has no default"),
        "{e}"
    );
    // A name the log redaction does not mask.
    let dir = copy();
    edit(
        dir.path(),
        "wilma/ge.toml",
        "name = \"password\"",
        "name = \"pep_key\"",
    );
    let e = refused(dir.path());
    assert!(e.contains("must be named so that logs mask it"), "{e}");
    // A template reading it as a value instead of from the Secret.
    let dir = copy();
    edit(
        dir.path(),
        "wilma/manifests/deployment.yaml.j2",
        "value: {{ params.username }}",
        "value: {{ params.password }}",
    );
    let e = refused(dir.path());
    assert!(e.contains("GE wilma") && e.contains("undefined"), "{e}");
    // Only text and secret parameters may be required.
    let dir = copy();
    edit(dir.path(), "orion/ge.toml", "default = \"WARN\"", "");
    let e = refused(dir.path());
    assert!(
        e.contains("only text and secret parameters may omit default"),
        "{e}"
    );
    // A GE that needs the user's values cannot be pulled in as a dependency.
    let dir = copy();
    edit(
        dir.path(),
        "sth-comet/ge.toml",
        "dependencies = [",
        "dependencies = [\"wilma\", ",
    );
    let e = refused(dir.path());
    assert!(
        e.contains("GE sth-comet") && e.contains("depends on wilma, which needs parameters"),
        "{e}"
    );
}

#[test]
fn required_and_secret_parameters_are_checked_without_echoing_secrets() {
    let cat = super::Catalogue::builtin().unwrap();
    let wilma = cat.get("wilma").unwrap();
    let given = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let e = wilma
        .check_required(&given(&[("app_id", "a1")]))
        .unwrap_err();
    assert!(
        e.starts_with("wilma needs app_id=… username=… password=… (missing: username, password)"),
        "{e}"
    );
    let all = given(&[
        ("app_id", "a1"),
        ("username", "pep_proxy_1"),
        ("password", "s3cr/t+="),
    ]);
    assert!(wilma.check_required(&all).is_ok());
    let values = wilma.param_values(&all).unwrap();
    assert_eq!(values.len(), 3, "app, app_id, username: {values:?}");
    assert!(
        !values.contains_key("password"),
        "a secret is never rendered"
    );
    let bad = given(&[
        ("app_id", "a1"),
        ("username", "u"),
        ("password", "pa ss\"word"),
    ]);
    let e = wilma.param_values(&bad).unwrap_err();
    assert!(
        e.contains("password must be 1 to 256") && !e.contains("pa ss"),
        "{e}"
    );
    let e = wilma
        .param_values(&given(&[("app_id", "a1#b")]))
        .unwrap_err();
    assert!(e.contains("(got `a1#b`)"), "a plain value is shown: {e}");
    assert_eq!(wilma.param_secret(), "wilma-credentials");
    assert_eq!(
        wilma
            .secret_params()
            .map(|p| p.secret_key())
            .collect::<Vec<_>>(),
        ["password"]
    );
}
