//! Reading and validating a config file, collecting every problem instead of stopping at the
//! first: each top-level section is decoded on its own, unknown keys are collected with
//! `serde_ignored`, type errors carry their key path (`serde_path_to_error`), and the semantic
//! checks (`checks`) run over whatever decoded.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::Config;

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, e.g. `limits.concurrent_jobs` or `users[2].role`.
    pub key: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML (only the first syntax error can be reported).
    #[error("{path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file parsed, but some values are wrong; every problem is listed.
    #[error("{path} has {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        /// The file.
        path: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads, decodes and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, &|_| Vec::new())
    }

    /// Like [`Config::load`], with `extra` checks whose problems are reported together with
    /// the file's own (the caller's knowledge, e.g. which chat platforms exist).
    pub fn load_with(
        path: &Path,
        extra: &dyn Fn(&Config) -> Vec<Problem>,
    ) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Config::parse_with(&text, &shown, extra)
    }

    /// Decodes and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::parse_with(text, origin, &|_| Vec::new())
    }

    /// Like [`Config::parse`], with `extra` checks reported together with the rest.
    pub fn parse_with(
        text: &str,
        origin: &str,
        extra: &dyn Fn(&Config) -> Vec<Problem>,
    ) -> Result<Config, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.into(),
            message: e.to_string(),
        })?;
        let mut problems = Vec::new();
        let mut cfg = Config::default();
        for (key, value) in table {
            let p = &mut problems;
            match key.as_str() {
                "data_dir" => set(p, &key, value, &mut cfg.data_dir),
                "store" => set(p, &key, value, &mut cfg.store),
                "limits" => set(p, &key, value, &mut cfg.limits),
                "intake" => set(p, &key, value, &mut cfg.intake),
                "ssh" => set(p, &key, value, &mut cfg.ssh),
                "cluster" => set(p, &key, value, &mut cfg.cluster),
                "kube" => set(p, &key, value, &mut cfg.kube),
                "alerts" => set(p, &key, value, &mut cfg.alerts),
                "access" => set(p, &key, value, &mut cfg.access),
                "console" => set(p, &key, value, &mut cfg.console),
                "matrix" => set(p, &key, value, &mut cfg.matrix),
                "telegram" => set(p, &key, value, &mut cfg.telegram),
                "metrics" => set(p, &key, value, &mut cfg.metrics),
                "users" => set(p, &key, value, &mut cfg.users),
                "rooms" => set(p, &key, value, &mut cfg.rooms),
                "clusters" => set(p, &key, value, &mut cfg.clusters),
                _ => p.push(Problem {
                    key: key.clone(),
                    message: "unknown key; accepted top-level keys are data_dir, store, limits, intake, \
                              ssh, cluster, kube, alerts, access, console, matrix, telegram, metrics, users, \
                              rooms, clusters"
                        .into(),
                }),
            }
        }
        problems.extend(cfg.problems());
        problems.extend(extra(&cfg));
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError::Invalid {
                path: origin.into(),
                problems,
            })
        }
    }
}

/// Decodes `value` into `slot`, recording unknown keys and type errors under `key`.
fn set<T: DeserializeOwned>(
    problems: &mut Vec<Problem>,
    key: &str,
    value: toml::Value,
    slot: &mut T,
) {
    let mut unknown: Vec<String> = Vec::new();
    let mut track = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(value, &mut track);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => *slot = v,
        Err(e) => {
            let inner = e.path().to_string();
            let key = if inner == "." {
                key.to_string()
            } else {
                join(key, &inner)
            };
            problems.push(Problem {
                key,
                message: e.into_inner().to_string(),
            });
        }
    }
    for path in unknown {
        // An optional section (`[telegram]`) shows as `?` in serde_ignored's path.
        let path = path.replace("?.", "");
        // serde_ignored writes an array index as a segment (`rooms.0.quota`); the type errors
        // and the semantic checks write `rooms[0].quota`.
        let path = path.split('.').fold(String::new(), |mut out, seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                out.push_str(&format!("[{seg}]"));
            } else {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(seg);
            }
            out
        });
        problems.push(Problem {
            key: join(key, &path),
            message: "unknown key".into(),
        });
    }
}

fn join(key: &str, inner: &str) -> String {
    if inner.starts_with('[') {
        format!("{key}{inner}")
    } else {
        format!("{key}.{inner}")
    }
}
