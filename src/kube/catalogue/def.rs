//! One GE of the catalogue as described by its `ge.toml`: metadata, replica bounds, parameters,
//! workloads, health endpoints, generated secrets and ports (schema in `deploy/ges/README.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::kube::status::workload::WorkloadRef;
use crate::names::Version;

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

    /// All parameters with their defaults, overridden by `overrides` (each checked against its
    /// type and bounds). Unknown parameter names are refused.
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
            let value = match overrides.get(&p.name) {
                Some(raw) => p.parse(raw)?,
                None => p.default.clone(),
            };
            out.insert(p.name.clone(), value);
        }
        Ok(out)
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

/// The type and bounds of a template parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// Integer within `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// One of `values` (exact spelling).
    Enum {
        /// The accepted values.
        values: Vec<String>,
    },
    /// A Kubernetes binary memory/storage quantity (`512Mi`, `8Gi`) within `min..=max`.
    Quantity {
        /// Smallest accepted quantity.
        min: String,
        /// Largest accepted quantity.
        max: String,
    },
    /// An image tag (e.g. the perseo-core tag).
    ImageTag,
    /// `true` or `false`.
    Bool,
}

/// A template parameter: `params.<name>` in the templates.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDef {
    /// Name (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// What it changes.
    pub description: String,
    /// Type and bounds.
    pub kind: ParamKind,
    /// Value used when the user gives none (checked against `kind` at load).
    pub default: ParamValue,
}

/// A parameter value as the templates see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// `int`.
    Int(i64),
    /// `bool`.
    Bool(bool),
    /// `enum`, `quantity`, `image_tag`.
    Str(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Int(n) => write!(f, "{n}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Str(s) => f.write_str(s),
        }
    }
}

impl ParamDef {
    /// Parses and checks a user-given value (`log_level=DEBUG`) against type and bounds; the
    /// error names the parameter and the accepted form.
    pub fn parse(&self, raw: &str) -> Result<ParamValue, String> {
        let name = &self.name;
        match &self.kind {
            ParamKind::Int { min, max } => match raw.parse::<i64>() {
                Ok(n) if (*min..=*max).contains(&n) => Ok(ParamValue::Int(n)),
                _ => Err(format!(
                    "{name} must be a whole number from {min} to {max} (got `{raw}`)"
                )),
            },
            ParamKind::Enum { values } => {
                if values.iter().any(|v| v == raw) {
                    Ok(ParamValue::Str(raw.to_string()))
                } else {
                    Err(format!(
                        "{name} must be one of {} (got `{raw}`)",
                        values.join(", ")
                    ))
                }
            }
            ParamKind::Quantity { min, max } => {
                let bad = || {
                    format!(
                        "{name} must be a size from {min} to {max} written like 512Mi or 8Gi (got `{raw}`)"
                    )
                };
                let (Some(v), Some(lo), Some(hi)) = (
                    crate::kube::catalogue::policy::quantity_bytes(raw),
                    crate::kube::catalogue::policy::quantity_bytes(min),
                    crate::kube::catalogue::policy::quantity_bytes(max),
                ) else {
                    return Err(bad());
                };
                if v < lo || v > hi {
                    return Err(bad());
                }
                Ok(ParamValue::Str(raw.to_string()))
            }
            ParamKind::ImageTag => {
                if Version::parse(raw).is_ok() {
                    Ok(ParamValue::Str(raw.to_string()))
                } else {
                    Err(format!(
                        "{name} must be an image tag: letters, digits, `_`, `.`, `-`, at most 128, not starting with `.` or `-` (got `{raw}`)"
                    ))
                }
            }
            ParamKind::Bool => match raw {
                "true" => Ok(ParamValue::Bool(true)),
                "false" => Ok(ParamValue::Bool(false)),
                _ => Err(format!("{name} must be true or false (got `{raw}`)")),
            },
        }
    }
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

/// A `[[params]]` entry as written; the default is any TOML scalar, checked against the kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParamFile {
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub min: Option<toml::Value>,
    #[serde(default)]
    pub max: Option<toml::Value>,
    #[serde(default)]
    pub values: Option<Vec<String>>,
    pub default: toml::Value,
}

/// A TOML scalar as the string a user would type.
fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl ParamFile {
    /// Builds the kind from `type` and its bounds, and checks the default against it.
    pub fn into_def(self) -> Result<ParamDef, String> {
        let name = self.name.clone();
        let err = |m: &str| format!("parameter `{name}`: {m}");
        let int = |v: &Option<toml::Value>| match v {
            Some(toml::Value::Integer(n)) => Ok(*n),
            _ => Err(err("int needs integer min and max")),
        };
        let quantity = |v: &Option<toml::Value>| match v {
            Some(toml::Value::String(s))
                if crate::kube::catalogue::policy::quantity_bytes(s).is_some() =>
            {
                Ok(s.clone())
            }
            _ => Err(err("quantity needs min and max written like 1Gi")),
        };
        let no_bounds = self.min.is_none() && self.max.is_none() && self.values.is_none();
        let kind = match self.kind.as_str() {
            "int" if self.values.is_none() => {
                let (min, max) = (int(&self.min)?, int(&self.max)?);
                if min > max {
                    return Err(err("min is above max"));
                }
                ParamKind::Int { min, max }
            }
            "quantity" if self.values.is_none() => {
                let (min, max) = (quantity(&self.min)?, quantity(&self.max)?);
                if crate::kube::catalogue::policy::quantity_bytes(&min)
                    > crate::kube::catalogue::policy::quantity_bytes(&max)
                {
                    return Err(err("min is above max"));
                }
                ParamKind::Quantity { min, max }
            }
            "enum" if self.min.is_none() && self.max.is_none() => match self.values {
                Some(values) if !values.is_empty() => ParamKind::Enum { values },
                _ => return Err(err("enum needs a non-empty values list")),
            },
            "image_tag" if no_bounds => ParamKind::ImageTag,
            "bool" if no_bounds => ParamKind::Bool,
            _ => {
                return Err(err(
                    "type must be int (min, max), quantity (min, max), enum (values), image_tag or bool, with only its own bounds",
                ));
            }
        };
        let raw = scalar(&self.default)
            .ok_or_else(|| err("default must be a string, integer or boolean"))?;
        let mut def = ParamDef {
            name: self.name,
            description: self.description,
            kind,
            default: ParamValue::Str(String::new()),
        };
        def.default = def
            .parse(&raw)
            .map_err(|e| format!("parameter default invalid: {e}"))?;
        Ok(def)
    }
}
