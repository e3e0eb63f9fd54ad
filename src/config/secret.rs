//! A secret value that can come from the environment, a file, or (discouraged) the config itself.

use std::path::PathBuf;

use serde::Deserialize;

/// Where a secret comes from. Exactly one of the three keys is set:
/// `{ env = "VAR" }`, `{ file = "/run/secrets/x" }` or `{ value = "..." }`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
pub struct SecretSource {
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub env: Option<String>,
    /// Path of a file holding the secret (trailing newline trimmed).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The secret itself. Works, but keeps a secret in the config file.
    #[serde(default)]
    pub value: Option<String>,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the value itself: Debug output ends up in logs.
        f.debug_struct("SecretSource")
            .field("env", &self.env)
            .field("file", &self.file)
            .field("value", &self.value.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A resolved secret. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text, for handing to the library that needs it. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl SecretSource {
    /// Checks that exactly one source is given; returns the problem otherwise.
    pub fn shape_problem(&self) -> Option<String> {
        let n = usize::from(self.env.is_some())
            + usize::from(self.file.is_some())
            + usize::from(self.value.is_some());
        match n {
            1 => None,
            0 => Some("give one of env = \"VAR\", file = \"PATH\" or value = \"...\"".into()),
            _ => Some("give only one of env, file or value".into()),
        }
    }

    /// Reads the secret. The error names the variable or file, never the value.
    pub fn resolve(&self) -> Result<Secret, String> {
        if let Some(p) = self.shape_problem() {
            return Err(p);
        }
        if let Some(var) = &self.env {
            return match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                Ok(_) => Err(format!("environment variable {var} is empty")),
                Err(_) => Err(format!("environment variable {var} is not set")),
            };
        }
        if let Some(path) = &self.file {
            return match std::fs::read_to_string(path) {
                Ok(v) => {
                    let v = v.trim_end_matches(['\n', '\r']).to_string();
                    if v.is_empty() {
                        Err(format!("secret file {} is empty", path.display()))
                    } else {
                        Ok(Secret(v))
                    }
                }
                Err(e) => Err(format!("cannot read secret file {}: {e}", path.display())),
            };
        }
        match &self.value {
            Some(v) if !v.is_empty() => Ok(Secret(v.clone())),
            _ => Err("secret value is empty".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let s = SecretSource {
            value: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        let r = s.resolve().unwrap();
        assert_eq!(r.expose(), "hunter2");
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn exactly_one_source() {
        assert!(SecretSource::default().shape_problem().is_some());
        let both = SecretSource {
            env: Some("A".into()),
            value: Some("x".into()),
            ..Default::default()
        };
        assert!(both.shape_problem().unwrap().contains("only one"));
    }

    #[test]
    fn file_and_env_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "tok\n").unwrap();
        let s = SecretSource {
            file: Some(p),
            ..Default::default()
        };
        assert_eq!(s.resolve().unwrap().expose(), "tok");
        let missing = SecretSource {
            env: Some("LABKUBE_TEST_SURELY_UNSET_VAR".into()),
            ..Default::default()
        };
        let e = missing.resolve().unwrap_err();
        assert!(e.contains("LABKUBE_TEST_SURELY_UNSET_VAR"));
    }
}
