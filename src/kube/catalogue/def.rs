//! One GE of the catalogue as described by its `ge.toml`: metadata, replica bounds, parameters,
//! workloads, health endpoints, generated secrets and ports (schema in `deploy/ges/README.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::kube::catalogue::param::{ParamDef, ParamFile, ParamValue};
use crate::kube::status::workload::WorkloadRef;

/// A GE of the catalogue, loaded from `deploy/ges/<name>/` and validated.
#[derive(Clone, Debug)]
pub struct GeDef {
    /// Catalogue name (DNS-1123 label); also the name of its main Service.
    pub name: String,
    /// One-line description for the catalogue listing.
    pub description: String,
    /// What of the software does not run here, and why: said in `/ge catalog` and after an
    /// install, so nobody expects it.
    pub limitation: Option<String>,
    /// Image repository without tag, e.g. `quay.io/fiware/orion`.
    pub image: String,
    /// Pinned image tag installed when the user names no version.
    pub default_version: String,
    /// Catalogue names installed (as their own releases) before this GE.
    pub dependencies: Vec<String>,
    /// Replica bounds of the main workload.
    pub replicas: Bounds,
    /// The workloads whose rollout is followed.
    pub workloads: Vec<WorkloadRef>,
    /// Health endpoints (what the readiness probes check).
    pub health: Vec<Health>,
    /// Secrets labkube generates (random values) when missing; templates only reference them.
    pub secrets: Vec<SecretDef>,
    /// Template parameters with types, bounds and defaults.
    pub params: Vec<ParamDef>,
    /// The ports users care about (all on the Service named after the GE).
    pub ports: Vec<PortDef>,
    /// How long a rollout of this GE may take before it counts as failed.
    pub rollout_timeout: Duration,
    /// The manifest templates (`manifests/*.yaml.j2`), sorted by file name.
    pub templates: Vec<TemplateSource>,
    /// Whether the software needs AVX on the node's CPU (MongoDB 5.0 and later).
    pub needs_avx: bool,
    /// Whether the rendered manifests hold PersistentVolumeClaims (set by catalogue validation).
    pub(crate) has_pvc: bool,
}

impl GeDef {
    /// The full image reference for `version`, e.g. `quay.io/fiware/orion:4.1.0`.
    pub fn image_ref(&self, version: &str) -> String {
        format!("{}:{}", self.image, version)
    }

    /// Whether the GE keeps data in PersistentVolumeClaims (a PVC object or StatefulSet
    /// `volumeClaimTemplates`); uninstalling it may lose data.
    pub fn has_data(&self) -> bool {
        self.has_pvc
    }

    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The GEs installed before this one when it is installed with `given` parameters (the
    /// others at their defaults): its own dependencies, then those a `bool` parameter that is
    /// true brings. A value that does not parse counts as the default (it is refused anyway).
    pub fn dependencies_for(&self, given: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = self.dependencies.clone();
        for p in self.params.iter().filter(|p| !p.dependencies.is_empty()) {
            let on = match given.get(&p.name).map(|raw| p.parse(raw)) {
                Some(Ok(v)) => v == ParamValue::Bool(true),
                _ => p.default == Some(ParamValue::Bool(true)),
            };
            if on {
                out.extend(
                    p.dependencies
                        .iter()
                        .filter(|d| !out.contains(d))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
        }
        out
    }

    /// Every GE this one may need: its dependencies and those of all its parameters.
    pub fn all_dependencies(&self) -> Vec<String> {
        let mut out = self.dependencies.clone();
        for d in self.params.iter().flat_map(|p| &p.dependencies) {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
        out
    }

    /// The Secret a GE's `secret` parameters are written to: `<ge>-credentials`, the name its
    /// templates and its dependents already use for its credentials.
    pub fn param_secret(&self) -> String {
        format!("{}-credentials", self.name)
    }

    /// The `secret` parameters.
    pub fn secret_params(&self) -> impl Iterator<Item = &ParamDef> {
        self.params.iter().filter(|p| p.is_secret())
    }

    /// A sample value for each required plain parameter: what validation renders with.
    pub fn sample_params(&self) -> BTreeMap<String, String> {
        self.params
            .iter()
            .filter(|p| p.default.is_none() && !p.is_secret())
            .map(|p| (p.name.clone(), "sample".to_string()))
            .collect()
    }

    /// Whether an install needs parameters the user must give (a GE with such parameters
    /// cannot be installed as another GE's dependency).
    pub fn has_required_params(&self) -> bool {
        self.params.iter().any(|p| p.default.is_none())
    }

    /// The template values of every parameter but the secrets: defaults, overridden by
    /// `overrides` (each checked against its type and bounds). Unknown names and missing
    /// required parameters are refused; `secret` parameters are checked (when given) but never
    /// returned: templates read them from the GE's Secret.
    pub fn param_values(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, ParamValue>, String> {
        for name in overrides.keys() {
            if self.param(name).is_none() {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(if known.is_empty() {
                    format!("{} takes no parameters (got `{name}`)", self.name)
                } else {
                    format!(
                        "{} has no parameter `{name}`; accepted: {}",
                        self.name,
                        known.join(", ")
                    )
                });
            }
        }
        let mut out = BTreeMap::new();
        for p in &self.params {
            let value = match (overrides.get(&p.name), &p.default) {
                (Some(raw), _) => p.parse(raw)?,
                (None, Some(default)) => default.clone(),
                (None, None) if p.is_secret() => continue,
                (None, None) => return Err(self.missing_params(overrides)),
            };
            if !p.is_secret() {
                out.insert(p.name.clone(), value);
            }
        }
        Ok(out)
    }

    /// Checks that `given` sets every required parameter, secrets included; the refusal names
    /// what is missing and shows the whole form.
    pub fn check_required(&self, given: &BTreeMap<String, String>) -> Result<(), String> {
        if self
            .params
            .iter()
            .any(|p| p.default.is_none() && !given.contains_key(&p.name))
        {
            return Err(self.missing_params(given));
        }
        Ok(())
    }

    fn missing_params(&self, given: &BTreeMap<String, String>) -> String {
        let required: Vec<&ParamDef> = self.params.iter().filter(|p| p.default.is_none()).collect();
        let form: Vec<String> = required.iter().map(|p| format!("{}=…", p.name)).collect();
        let missing: Vec<&str> = required
            .iter()
            .filter(|p| !given.contains_key(&p.name))
            .map(|p| p.name.as_str())
            .collect();
        let why: Vec<String> = required
            .iter()
            .map(|p| format!("{}: {}", p.name, p.description))
            .collect();
        format!(
            "{} needs {} (missing: {}). {}",
            self.name,
            form.join(" "),
            missing.join(", "),
            why.join("; ")
        )
    }
}

/// Replica bounds: what `replicas=N` accepts and what is installed by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Installed when the user names no replica count.
    pub default: u32,
    /// Smallest accepted count.
    pub min: u32,
    /// Largest accepted count (1 for databases whose template runs a single instance).
    pub max: u32,
}

impl Bounds {
    /// Whether `n` is within `min..=max`.
    pub fn contains(&self, n: u32) -> bool {
        (self.min..=self.max).contains(&n)
    }
}

/// A Secret labkube creates with random values when it does not exist yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretDef {
    /// Secret name; by convention `<ge>-credentials`.
    pub name: String,
    /// Data keys, each filled with a random value.
    pub keys: Vec<String>,
}

/// How a health endpoint is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// HTTP GET on `port` + `path`; healthy on 2xx/3xx.
    Http,
    /// TCP connect to `port` (used only where the GE has no HTTP health endpoint).
    Tcp,
    /// A command in the container (databases: `mongosh` ping, `mysqladmin`, `pg_isready`).
    Exec,
}

/// A health endpoint of one workload; the readiness probe of that workload checks exactly this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `metadata.name` of the workload (listed in `workloads`).
    pub workload: String,
    /// How it is checked.
    pub kind: ProbeKind,
    /// Container port (required for `http` and `tcp`).
    #[serde(default)]
    pub port: Option<u16>,
    /// HTTP path (required for `http`, refused otherwise).
    #[serde(default)]
    pub path: Option<String>,
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, self.port, &self.path) {
            (ProbeKind::Http, Some(port), Some(path)) => write!(f, "GET {path} :{port}"),
            (ProbeKind::Tcp, Some(port), _) => write!(f, "tcp :{port}"),
            _ => f.write_str("exec"),
        }
    }
}

/// A port users care about, served by the Service named after the GE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortDef {
    /// Port name on the Service (IANA-style, e.g. `http`, `north`).
    pub name: String,
    /// Service port number.
    pub port: u16,
    /// What the port serves.
    pub description: String,
}

/// One manifest template file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSource {
    /// File name inside `manifests/`, e.g. `deployment.yaml.j2`.
    pub file: String,
    /// The minijinja source.
    pub source: String,
}

/// `ge.toml` as written (before cross-checks).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeFile {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub limitation: Option<String>,
    #[serde(default)]
    pub needs_avx: bool,
    pub image: String,
    pub default_version: String,
    #[serde(default)]
    pub dependencies: Vec<String>,
    pub rollout_timeout_secs: u64,
    pub replicas: Bounds,
    pub workloads: Vec<WorkloadRef>,
    pub health: Vec<Health>,
    #[serde(default)]
    pub secrets: Vec<SecretDef>,
    #[serde(default)]
    pub params: Vec<ParamFile>,
    #[serde(default)]
    pub ports: Vec<PortDef>,
}
