//! The catalogue of GEs labkube deploys: `deploy/ges/<name>/{ge.toml, manifests/*.yaml.j2}`,
//! compiled into the binary and fully validated at start-up, never at deploy time.

pub mod def;
mod load;
pub mod param;
pub mod policy;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use include_dir::{Dir, include_dir};

use crate::kube::catalogue::def::GeDef;
use crate::kube::catalogue::load::{RawGe, parse_ge};
use crate::kube::catalogue::render::{RenderInput, render};
use policy::PolicyInput;

/// The catalogue embedded at compile time.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/deploy/ges");

/// Namespace used to render every GE while validating the catalogue.
const CHECK_NAMESPACE: &str = "labkube-check";

/// Why the catalogue was refused; each message names the GE (or file) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A file or directory could not be read.
    #[error("catalogue: cannot read {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// OS description.
        message: String,
    },
    /// A GE's files are malformed or break a catalogue rule.
    #[error("catalogue: GE {ge}: {problem}")]
    Ge {
        /// The GE (directory) name.
        ge: String,
        /// What is wrong.
        problem: String,
    },
    /// Dependencies form a cycle.
    #[error("catalogue: dependency cycle: {0}")]
    Cycle(String),
    /// The catalogue holds no GE at all.
    #[error("catalogue: no GE found (expected <name>/ge.toml directories)")]
    Empty,
}

fn ge_err(ge: &str, problem: impl Into<String>) -> CatalogueError {
    CatalogueError::Ge {
        ge: ge.to_string(),
        problem: problem.into(),
    }
}

/// The validated catalogue, sorted by name.
#[derive(Clone, Debug)]
pub struct Catalogue {
    ges: BTreeMap<String, GeDef>,
}

impl Catalogue {
    /// The catalogue compiled into the binary, fully validated: every GE's templates render with
    /// defaults (replicas default/min/max, expose false and true) and every object parses into its
    /// k8s-openapi type; dependencies exist and have no cycles; names are DNS-1123 labels;
    /// default_version is a valid image tag; the workloads named in ge.toml are rendered.
    pub fn builtin() -> Result<Catalogue, CatalogueError> {
        let mut raws = Vec::new();
        for entry in BUILTIN.dirs() {
            let dir = entry
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ge_toml = entry
                .files()
                .find(|f| f.path().file_name().is_some_and(|n| n == "ge.toml"))
                .ok_or_else(|| ge_err(&dir, "missing ge.toml"))?
                .contents_utf8()
                .ok_or_else(|| ge_err(&dir, "ge.toml is not UTF-8"))?
                .to_string();
            let mut manifests = BTreeMap::new();
            for sub in entry.dirs() {
                let sub_name = sub
                    .path()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned());
                if sub_name.as_deref() != Some("manifests") {
                    return Err(ge_err(
                        &dir,
                        format!("unexpected directory {}", sub.path().display()),
                    ));
                }
                for f in sub.files() {
                    let name = f
                        .path()
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let text = f
                        .contents_utf8()
                        .ok_or_else(|| ge_err(&dir, format!("manifests/{name} is not UTF-8")))?;
                    manifests.insert(name, text.to_string());
                }
            }
            raws.push(RawGe {
                dir,
                ge_toml,
                manifests,
            });
        }
        Self::from_raw(raws)
    }

    /// Loads and validates a catalogue directory laid out like `deploy/ges` (same validation as
    /// [`Catalogue::builtin`]). Files directly in `path` (such as README.md) are ignored.
    pub fn from_dir(path: &Path) -> Result<Catalogue, CatalogueError> {
        let io = |p: &Path, e: std::io::Error| CatalogueError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let mut raws = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| io(path, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io(path, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let p = entry.path();
            if !p.is_dir() {
                continue;
            }
            let dir = entry.file_name().to_string_lossy().into_owned();
            let toml_path = p.join("ge.toml");
            if !toml_path.is_file() {
                return Err(ge_err(&dir, "missing ge.toml"));
            }
            let ge_toml = std::fs::read_to_string(&toml_path).map_err(|e| io(&toml_path, e))?;
            let mut manifests = BTreeMap::new();
            let mdir = p.join("manifests");
            if mdir.is_dir() {
                for f in std::fs::read_dir(&mdir).map_err(|e| io(&mdir, e))? {
                    let f = f.map_err(|e| io(&mdir, e))?;
                    let fp = f.path();
                    let text = std::fs::read_to_string(&fp).map_err(|e| io(&fp, e))?;
                    manifests.insert(f.file_name().to_string_lossy().into_owned(), text);
                }
            }
            raws.push(RawGe {
                dir,
                ge_toml,
                manifests,
            });
        }
        Self::from_raw(raws)
    }

    fn from_raw(raws: Vec<RawGe>) -> Result<Catalogue, CatalogueError> {
        if raws.is_empty() {
            return Err(CatalogueError::Empty);
        }
        let mut ges = BTreeMap::new();
        for raw in raws {
            let ge = parse_ge(raw)?;
            ges.insert(ge.name.clone(), ge);
        }
        let mut cat = Catalogue { ges };
        cat.check_dependencies()?;
        let names: Vec<String> = cat.ges.keys().cloned().collect();
        for name in names {
            let has_pvc = cat.check_renders(&name)?;
            if let Some(ge) = cat.ges.get_mut(&name) {
                ge.has_pvc = has_pvc;
            }
        }
        Ok(cat)
    }

    /// Every dependency exists, none is the GE itself, and there is no cycle.
    fn check_dependencies(&self) -> Result<(), CatalogueError> {
        for ge in self.ges.values() {
            for d in &ge.all_dependencies() {
                if !self.ges.contains_key(d) {
                    let hint = self.closest(d);
                    let hint = if hint.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", hint.join(", "))
                    };
                    return Err(ge_err(&ge.name, format!("depends on unknown GE {d}{hint}")));
                }
                if self.ges.get(d).is_some_and(GeDef::has_required_params) {
                    return Err(ge_err(
                        &ge.name,
                        format!(
                            "depends on {d}, which needs parameters the user gives: it cannot be installed as a dependency"
                        ),
                    ));
                }
            }
        }
        // Depth-first search with colours; the stack names the cycle.
        fn visit<'a>(
            cat: &'a Catalogue,
            name: &'a str,
            state: &mut BTreeMap<&'a str, bool>,
            stack: &mut Vec<&'a str>,
        ) -> Result<(), CatalogueError> {
            match state.get(name) {
                Some(true) => return Ok(()),
                Some(false) => {
                    let start = stack.iter().position(|s| *s == name).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[start..].to_vec();
                    cycle.push(name);
                    return Err(CatalogueError::Cycle(cycle.join(" → ")));
                }
                None => {}
            }
            state.insert(name, false);
            stack.push(name);
            if let Some(ge) = cat.ges.get(name) {
                for d in ge.all_dependencies() {
                    let Some((d, _)) = cat.ges.get_key_value(&d) else {
                        continue;
                    };
                    visit(cat, d, state, stack)?;
                }
            }
            stack.pop();
            state.insert(name, true);
            Ok(())
        }
        let mut state = BTreeMap::new();
        for name in self.ges.keys() {
            visit(self, name, &mut state, &mut Vec::new())?;
        }
        Ok(())
    }

    /// Renders the GE in every corner of its input space and applies the manifest policy.
    /// Returns whether it keeps data in PVCs.
    fn check_renders(&self, name: &str) -> Result<bool, CatalogueError> {
        let Some(ge) = self.ges.get(name) else {
            return Ok(false);
        };
        // Required text parameters need some value to render; secrets are never rendered.
        let samples = ge.sample_params();
        let mut replica_cases = vec![ge.replicas.default, ge.replicas.min, ge.replicas.max];
        replica_cases.dedup();
        let mut cases: Vec<(u32, bool, BTreeMap<String, String>)> = Vec::new();
        for replicas in replica_cases {
            for expose_nodeport in [false, true] {
                cases.push((replicas, expose_nodeport, samples.clone()));
            }
        }
        // Each bool the other way round too: `troe=true` renders what only it renders.
        for p in &ge.params {
            if let Some(param::ParamValue::Bool(b)) = p.default {
                let mut flipped = samples.clone();
                flipped.insert(p.name.clone(), (!b).to_string());
                cases.push((ge.replicas.default, false, flipped));
            }
        }
        let mut has_pvc = false;
        for (replicas, expose_nodeport, params) in cases {
            // The Secrets the templates may read: this GE's and those of what this install
            // brings along.
            let mut secrets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for g in self.install_order_with(name, &params) {
                for s in &g.secrets {
                    secrets.insert(s.name.clone(), s.keys.iter().cloned().collect());
                }
                let keys: BTreeSet<String> = g.secret_params().map(|p| p.secret_key()).collect();
                if !keys.is_empty() {
                    secrets.insert(g.param_secret(), keys);
                }
            }
            let input = RenderInput {
                namespace: CHECK_NAMESPACE,
                version: &ge.default_version,
                replicas,
                expose_nodeport,
                params: &params,
            };
            let objects = render(ge, &input).map_err(|e| ge_err(name, e.to_string()))?;
            let problems = policy::check_policy(
                ge,
                &objects,
                &PolicyInput {
                    version: &ge.default_version,
                    replicas,
                    expose_nodeport,
                    secrets: &secrets,
                },
            );
            if !problems.is_empty() {
                let set: Vec<String> = params.iter().map(|(k, v)| format!(" {k}={v}")).collect();
                return Err(ge_err(
                    name,
                    format!(
                        "rendered with replicas={replicas} expose_nodeport={expose_nodeport}{}: {}",
                        set.concat(),
                        problems.join("; ")
                    ),
                ));
            }
            has_pvc |= objects.iter().any(|o| {
                o["kind"] == "PersistentVolumeClaim"
                    || o["spec"]["volumeClaimTemplates"]
                        .as_array()
                        .is_some_and(|v| !v.is_empty())
            });
        }
        Ok(has_pvc)
    }

    /// The GE named `name`.
    pub fn get(&self, name: &str) -> Option<&GeDef> {
        self.ges.get(name)
    }

    /// Every GE, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &GeDef> {
        self.ges.values()
    }

    /// Up to 3 catalogue names nearest to `name` (for "unknown GE, did you mean …"); names that
    /// start with `name` count as one edit away. Empty when nothing is reasonably close.
    pub fn closest(&self, name: &str) -> Vec<String> {
        let query = name.to_ascii_lowercase();
        let limit = (query.chars().count() / 2).max(2);
        let mut scored: Vec<(usize, usize, &String)> = self
            .ges
            .keys()
            .filter_map(|k| {
                let d = strsim::levenshtein(&query, k);
                let score = if !query.is_empty()
                    && (k.starts_with(&query) || query.starts_with(k.as_str()))
                {
                    d.min(1)
                } else {
                    d
                };
                (score <= limit).then_some((score, d, k))
            })
            .collect();
        scored.sort();
        scored
            .into_iter()
            .take(3)
            .map(|(_, _, k)| k.clone())
            .collect()
    }

    /// Transitive dependencies first (depth-first in declared order, each once), the GE itself
    /// last, for an install with default parameters. Empty if `name` is unknown.
    pub fn install_order(&self, name: &str) -> Vec<&GeDef> {
        self.install_order_with(name, &BTreeMap::new())
    }

    /// [`Catalogue::install_order`] for an install of `name` with `params` (a `bool`
    /// parameter may bring dependencies); dependencies take their defaults.
    pub fn install_order_with(&self, name: &str, params: &BTreeMap<String, String>) -> Vec<&GeDef> {
        fn visit<'a>(
            cat: &'a Catalogue,
            name: &str,
            params: &BTreeMap<String, String>,
            seen: &mut BTreeSet<String>,
            out: &mut Vec<&'a GeDef>,
        ) {
            // Bounded: the catalogue has no cycles (checked at load) and `seen` stops revisits.
            if !seen.insert(name.to_string()) {
                return;
            }
            let Some(ge) = cat.ges.get(name) else { return };
            for d in ge.dependencies_for(params) {
                visit(cat, &d, &BTreeMap::new(), seen, out);
            }
            out.push(ge);
        }
        let mut out = Vec::new();
        if self.ges.contains_key(name) {
            visit(self, name, params, &mut BTreeSet::new(), &mut out);
        }
        out
    }

    /// The README table: GE | default image:version | depends on | ports | health | description.
    pub fn markdown_table(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = String::from(
            "| GE | Default image | Depends on | Ports | Health | Description |\n|---|---|---|---|---|---|\n",
        );
        for ge in self.ges.values() {
            let deps = if ge.dependencies.is_empty() {
                "—".to_string()
            } else {
                ge.dependencies.join(", ")
            };
            let ports = ge
                .ports
                .iter()
                .map(|p| format!("{} {}", p.port, p.name))
                .collect::<Vec<_>>()
                .join(", ");
            let health = ge
                .health
                .iter()
                .map(|h| format!("{}: {h}", h.workload))
                .collect::<Vec<_>>()
                .join("; ");
            out.push_str(&format!(
                "| {} | `{}` | {} | {} | {} | {} |\n",
                cell(&ge.name),
                cell(&ge.image_ref(&ge.default_version)),
                cell(&deps),
                cell(&ports),
                cell(&health),
                cell(&ge.description),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod broken_tests;
