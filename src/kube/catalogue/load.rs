//! Parsing of one GE directory (`ge.toml` + `manifests/*.yaml.j2`) into a [`GeDef`], with every
//! check that does not need the rest of the catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::names::{ImageRepo, Name, Subdomain, Version};

use crate::kube::catalogue::CatalogueError;
use crate::kube::catalogue::def::{GeDef, GeFile, TemplateSource};

fn ge_err(ge: &str, problem: impl Into<String>) -> CatalogueError {
    CatalogueError::Ge {
        ge: ge.to_string(),
        problem: problem.into(),
    }
}

/// One GE directory's raw content.
pub(crate) struct RawGe {
    pub dir: String,
    pub ge_toml: String,
    /// `manifests/` file name → text.
    pub manifests: BTreeMap<String, String>,
}

/// Parses one GE directory and checks everything that does not need the rest of the catalogue.
pub(crate) fn parse_ge(raw: RawGe) -> Result<GeDef, CatalogueError> {
    let dir = raw.dir;
    let file: GeFile = toml::from_str(&raw.ge_toml)
        .map_err(|e| ge_err(&dir, format!("ge.toml: {}", e.to_string().trim())))?;
    let bad = |p: String| ge_err(&dir, p);
    if file.name != dir {
        return Err(bad(format!(
            "ge.toml name `{}` differs from its directory name",
            file.name
        )));
    }
    if Name::parse(&file.name).is_err() {
        return Err(bad("name is not a DNS-1123 label".into()));
    }
    if file.description.trim().is_empty() {
        return Err(bad("description is empty".into()));
    }
    if ImageRepo::parse(&file.image).is_err() {
        return Err(bad(format!(
            "image `{}` is not an image repository without tag",
            file.image
        )));
    }
    if Version::parse(&file.default_version).is_err() || file.default_version == "latest" {
        return Err(bad(format!(
            "default_version `{}` is not a pinned image tag",
            file.default_version
        )));
    }
    let r = file.replicas;
    if r.min < 1 || r.min > r.default || r.default > r.max || r.max > 10 {
        return Err(bad(format!(
            "replicas need 1 <= min <= default <= max <= 10 (got {}/{}/{})",
            r.min, r.default, r.max
        )));
    }
    if !(30..=3600).contains(&file.rollout_timeout_secs) {
        return Err(bad("rollout_timeout_secs must be from 30 to 3600".into()));
    }
    let mut seen = BTreeSet::new();
    for d in &file.dependencies {
        if d == &file.name || !seen.insert(d) {
            return Err(bad(format!(
                "dependency {d} is listed twice or is the GE itself"
            )));
        }
    }
    if file.workloads.is_empty() {
        return Err(bad("[[workloads]] is empty".into()));
    }
    for w in &file.workloads {
        if Subdomain::parse(&w.name).is_err() {
            return Err(bad(format!(
                "workload name {} is not a DNS-1123 name",
                w.name
            )));
        }
    }
    if file.health.is_empty() {
        return Err(bad("[[health]] is empty".into()));
    }
    for h in &file.health {
        use crate::kube::catalogue::def::ProbeKind;
        let ok = match h.kind {
            ProbeKind::Http => {
                h.port.is_some() && h.path.as_deref().is_some_and(|p| p.starts_with('/'))
            }
            ProbeKind::Tcp => h.port.is_some() && h.path.is_none(),
            ProbeKind::Exec => h.port.is_none() && h.path.is_none(),
        };
        if !ok {
            return Err(bad(format!(
                "[[health]] for {}: http needs port and a path starting with /, tcp needs port only, exec neither",
                h.workload
            )));
        }
    }
    for s in &file.secrets {
        if Subdomain::parse(&s.name).is_err() || !s.name.starts_with(&format!("{}-", file.name)) {
            return Err(bad(format!(
                "secret {} must be a DNS-1123 name starting with `{}-`",
                s.name, file.name
            )));
        }
        let key_ok = |k: &String| {
            !k.is_empty()
                && k.len() <= 253
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if s.keys.is_empty() || !s.keys.iter().all(key_ok) {
            return Err(bad(format!(
                "secret {} needs keys of letters, digits, `-`, `_`, `.`",
                s.name
            )));
        }
    }
    let mut ports = BTreeSet::new();
    for p in &file.ports {
        if Name::parse(&p.name).is_err()
            || p.name.len() > 15
            || p.port == 0
            || !ports.insert(&p.name)
        {
            return Err(bad(format!(
                "port {} ({}) needs a unique name of at most 15 lowercase letters, digits, `-`",
                p.name, p.port
            )));
        }
    }
    let mut params = Vec::new();
    let mut param_names = BTreeSet::new();
    for p in file.params {
        if !crate::names::is_param_name(&p.name) || !param_names.insert(p.name.clone()) {
            return Err(bad(format!(
                "parameter name `{}` must be unique and match [a-z][a-z0-9_]* (at most 63)",
                p.name
            )));
        }
        let def = p.into_def().map_err(&bad)?;
        if def.is_secret() && !crate::command::is_masked_key(&def.name) {
            return Err(bad(format!(
                "secret parameter `{}` must be named so that logs mask it (containing password, secret or token)",
                def.name
            )));
        }
        params.push(def);
    }
    let param_secret = format!("{}-credentials", file.name);
    if params.iter().any(|p| p.is_secret()) && file.secrets.iter().any(|s| s.name == param_secret) {
        return Err(bad(format!(
            "secret {param_secret} holds the secret parameters: it cannot also be a generated [[secrets]] entry"
        )));
    }
    let mut templates = Vec::new();
    for (name, source) in raw.manifests {
        if !name.ends_with(".yaml.j2") {
            return Err(bad(format!(
                "manifests/{name}: templates must be named *.yaml.j2"
            )));
        }
        templates.push(TemplateSource { file: name, source });
    }
    if templates.is_empty() {
        return Err(bad("no templates in manifests/".into()));
    }
    Ok(GeDef {
        name: file.name,
        description: file.description,
        limitation: file.limitation.filter(|l| !l.trim().is_empty()),
        image: file.image,
        default_version: file.default_version,
        dependencies: file.dependencies,
        replicas: file.replicas,
        workloads: file.workloads,
        health: file.health,
        secrets: file.secrets,
        params,
        ports: file.ports,
        rollout_timeout: Duration::from_secs(file.rollout_timeout_secs),
        templates,
        needs_avx: file.needs_avx,
        has_pvc: false,
    })
}
