//! Template parameters of a GE: their types and bounds as `ge.toml` declares them, and how a
//! value the user typed is checked against them.

use serde::{Deserialize, Serialize};

use crate::names::Version;

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
    /// Free text of 1 to 256 characters from [`TEXT_CHARS`] (an id or user name another
    /// system issued); required when the GE gives no default.
    Text,
    /// Like [`ParamKind::Text`], but a credential: always required, never stored in a job or
    /// revision and never rendered; the dispatcher writes it into the GE's Secret
    /// ([`GeDef::param_secret`]) under [`ParamDef::secret_key`], and templates read it from
    /// there with `secretKeyRef`.
    Secret,
}

/// The characters a `text` or `secret` parameter may hold besides ASCII letters and digits:
/// enough for ids, user names, base64 and generated passwords, and nothing a chat line, YAML or
/// an environment variable treats specially.
pub const TEXT_CHARS: &str = "-._~+/=@:";

/// The most characters a `text` or `secret` parameter may hold.
pub const TEXT_MAX: usize = 256;

/// A template parameter: `params.<name>` in the templates.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDef {
    /// Name (`[a-z][a-z0-9_]*`).
    pub name: String,
    /// What it changes.
    pub description: String,
    /// Type and bounds.
    pub kind: ParamKind,
    /// Value used when the user gives none (checked against `kind` at load); `None` makes
    /// the parameter required (only `text` and `secret` may be required).
    pub default: Option<ParamValue>,
    /// GEs installed first (as their own releases) when this `bool` is true: Orion-LD's
    /// `troe` writes to TimescaleDB.
    pub dependencies: Vec<String>,
}

/// A parameter value as the templates see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// `int`.
    Int(i64),
    /// `bool`.
    Bool(bool),
    /// `enum`, `quantity`, `image_tag`, `text`.
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
            // A secret's value is never echoed, not even in a refusal.
            ParamKind::Text | ParamKind::Secret => {
                let ok = (1..=TEXT_MAX).contains(&raw.len())
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || TEXT_CHARS.contains(c));
                if ok {
                    Ok(ParamValue::Str(raw.to_string()))
                } else {
                    let got = match self.kind {
                        ParamKind::Secret => String::new(),
                        _ => format!(" (got `{raw}`)"),
                    };
                    Err(format!(
                        "{name} must be 1 to {TEXT_MAX} letters, digits or `{TEXT_CHARS}`{got}"
                    ))
                }
            }
        }
    }

    /// Whether the value is a credential ([`ParamKind::Secret`]).
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, ParamKind::Secret)
    }

    /// The key of the GE's Secret ([`GeDef::param_secret`]) a secret parameter is written to:
    /// its name with `-` for `_` (`password` → `password`, `db_password` → `db-password`).
    pub fn secret_key(&self) -> String {
        self.name.replace('_', "-")
    }
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
    #[serde(default)]
    pub default: Option<toml::Value>,
    #[serde(default)]
    pub dependencies: Vec<String>,
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
            "text" if no_bounds => ParamKind::Text,
            "secret" if no_bounds => ParamKind::Secret,
            _ => {
                return Err(err(
                    "type must be int (min, max), quantity (min, max), enum (values), image_tag, bool, text or secret, with only its own bounds",
                ));
            }
        };
        if !self.dependencies.is_empty() && kind != ParamKind::Bool {
            return Err(err("only a bool parameter may bring dependencies"));
        }
        let mut def = ParamDef {
            name: self.name,
            description: self.description,
            kind,
            default: None,
            dependencies: self.dependencies,
        };
        match (&self.default, &def.kind) {
            (None, ParamKind::Text | ParamKind::Secret) => {}
            (None, _) => return Err(err("only text and secret parameters may omit default")),
            (Some(_), ParamKind::Secret) => {
                return Err(err("a secret parameter has no default: the user gives it"));
            }
            (Some(value), _) => {
                let raw = scalar(value)
                    .ok_or_else(|| err("default must be a string, integer or boolean"))?;
                def.default = Some(
                    def.parse(&raw)
                        .map_err(|e| format!("parameter default invalid: {e}"))?,
                );
            }
        }
        Ok(def)
    }
}
