//! Whether a GE change can be done, decided in one place with one wording: the dispatcher
//! asks before it queues (so a refusal changes nothing and costs no job), and the job asks
//! again when it runs, because the ledger may have moved in between. Refusals are
//! [`KubeError::Refused`] (and [`KubeError::Catalogue`]); anything else is an internal error.

use std::collections::BTreeMap;

use super::{query, rollback};
use crate::kube::catalogue::def::GeDef;
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::release::Release;
use crate::store::{GeJob, GeTarget};

/// Checks `job` against the catalogue entry of its GE, its release (if installed) and the
/// GEs of its namespace that depend on it. Pure: the caller reads all three.
pub fn check(
    job: &GeJob,
    def: &GeDef,
    release: Option<&Release>,
    dependents: &[String],
) -> Result<(), KubeError> {
    let t = job.target();
    let (ge, ns) = (&t.ge, &t.namespace);
    let replicas_fit = |n: u32| {
        if n < def.replicas.min || n > def.replicas.max {
            return Err(KubeError::Refused(format!(
                "{ge} runs with {} to {} replicas; replicas={n} is outside that; nothing was changed",
                def.replicas.min, def.replicas.max
            )));
        }
        Ok(())
    };
    let installed = || release.ok_or_else(|| not_installed(t));
    let deployed = release.and_then(Release::deployed);
    match job {
        GeJob::Install(_, spec) => {
            if let Some(n) = spec.replicas {
                replicas_fit(n)?;
            }
            if let Some(d) = deployed {
                return Err(KubeError::Refused(format!(
                    "{ge} is already installed in {ns} (revision {}, {}); /ge upgrade or /ge scale change it",
                    d.number, d.image
                )));
            }
        }
        GeJob::Upgrade(_, version) => {
            installed()?;
            if let Some(d) = deployed
                && &d.params.version == version
            {
                return Err(KubeError::Refused(format!(
                    "{ge} in {ns} already runs {version} (revision {}); nothing was changed",
                    d.number
                )));
            }
        }
        GeJob::Scale(_, replicas) => {
            installed()?;
            replicas_fit(*replicas)?;
            if let Some(a) = deployed.and_then(|d| d.params.autoscale) {
                return Err(KubeError::Refused(format!(
                    "{ge} in {ns} is autoscaled from {a}, so Kubernetes sets its pod count; /ge autoscale {ge} off first, or give it other bounds with /ge autoscale {ge} min= max=; nothing was changed"
                )));
            }
            if deployed.is_some_and(|d| d.params.replicas == *replicas) {
                return Err(KubeError::Refused(format!(
                    "{ge} in {ns} already has {replicas} replica(s); nothing was changed"
                )));
            }
        }
        GeJob::Rollback(_, to) => {
            rollback::choose(installed()?, *to, ns)?;
        }
        GeJob::Autoscale(_, setting) => {
            super::autoscale::check(def, installed()?, setting.as_ref(), t)?;
        }
        GeJob::Uninstall(_, purge) => {
            if release.is_none() && !purge {
                return Err(not_installed(t));
            }
            if !dependents.is_empty() {
                return Err(KubeError::Refused(format!(
                    "{ge} in {ns} is used by {}; uninstall those first; nothing was changed",
                    dependents.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// The refusal for a change to a release that does not exist.
pub fn not_installed(t: &GeTarget) -> KubeError {
    let (ge, ns) = (&t.ge, &t.namespace);
    KubeError::Refused(format!(
        "{ge} is not installed in {ns} on {}; /ge list shows what is, /ge install {ge} ns={ns} installs it",
        t.cluster
    ))
}

/// The GEs an install of `t.ge` with `params` would create: the GE and its dependencies not
/// yet installed in the namespace, in install order.
pub fn to_install<'a>(
    layer: &'a KubeLayer,
    t: &GeTarget,
    params: &BTreeMap<String, String>,
) -> Result<Vec<&'a GeDef>, KubeError> {
    let mut out = Vec::new();
    for ge in layer.catalogue.install_order_with(&t.ge, params) {
        let installed = ge.name != t.ge
            && Release::load(layer.store(), &t.cluster, &t.namespace, &ge.name)?
                .is_some_and(|r| r.deployed().is_some());
        if !installed {
            out.push(ge);
        }
    }
    Ok(out)
}

/// [`check`] with what it needs read from the catalogue and the ledger.
pub fn precheck(layer: &KubeLayer, job: &GeJob) -> Result<(), KubeError> {
    let t = job.target();
    let def = layer.catalogue.get(&t.ge).ok_or_else(|| {
        KubeError::Catalogue(format!(
            "{} is not in this bot's catalogue (any more); /ge catalog lists what is",
            t.ge
        ))
    })?;
    let release = Release::load(layer.store(), &t.cluster, &t.namespace, &t.ge)?;
    let dependents = match job {
        GeJob::Uninstall(..) => query::dependents(layer, &t.cluster, &t.namespace, &t.ge)?,
        _ => Vec::new(),
    };
    if let GeJob::Install(_, spec) = job {
        super::cpu::check_install(layer, t, &spec.params)?;
    }
    check(job, def, release.as_ref(), &dependents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::release::{Action, Params, Revision, Status};
    use crate::store::GeInstallSpec;

    fn target() -> GeTarget {
        GeTarget {
            cluster: "lab-1".into(),
            namespace: "demo".into(),
            ge: "orion".into(),
        }
    }

    fn def() -> GeDef {
        let catalogue = crate::kube::Catalogue::builtin().unwrap();
        catalogue.get("orion").unwrap().clone()
    }

    fn deployed(version: &str, replicas: u32) -> Release {
        let mut r = Release::new("lab-1", "demo", "orion");
        r.push(Revision {
            number: 0,
            job: 1,
            by: "console:alice".into(),
            at_ms: 1,
            action: Action::Install,
            image: format!("fiware/orion:{version}"),
            params: Params {
                version: version.into(),
                replicas,
                expose_nodeport: false,
                ge: Default::default(),
                autoscale: None,
            },
            manifests: Vec::new(),
            status: Status::Pending,
            finished_ms: None,
            summary: None,
        });
        r.mark_deployed(1, "ready".into(), 2);
        r
    }

    fn refusal(r: Result<(), KubeError>) -> String {
        match r {
            Err(KubeError::Refused(text)) => text,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn each_change_is_refused_once_with_its_reason() {
        let (def, t) = (def(), target());
        let installed = deployed("4.1.0", 1);
        let install = GeJob::Install(
            t.clone(),
            GeInstallSpec {
                version: None,
                replicas: None,
                expose_nodeport: false,
                params: Default::default(),
            },
        );
        assert!(check(&install, &def, None, &[]).is_ok());
        assert!(
            refusal(check(&install, &def, Some(&installed), &[]))
                .starts_with("orion is already installed in demo (revision 1, fiware/orion:4.1.0)")
        );
        let upgrade = GeJob::Upgrade(t.clone(), "4.1.0".into());
        assert_eq!(
            refusal(check(&upgrade, &def, None, &[])),
            "orion is not installed in demo on lab-1; /ge list shows what is, /ge install orion ns=demo installs it"
        );
        assert!(
            refusal(check(&upgrade, &def, Some(&installed), &[])).contains("already runs 4.1.0")
        );
        let scale = GeJob::Scale(t.clone(), def.replicas.max + 1);
        assert!(refusal(check(&scale, &def, Some(&installed), &[])).contains("is outside that"));
        let scale = GeJob::Scale(t.clone(), 1);
        assert!(
            refusal(check(&scale, &def, Some(&installed), &[])).contains("already has 1 replica")
        );
        let uninstall = GeJob::Uninstall(t.clone(), false);
        assert!(check(&uninstall, &def, Some(&installed), &[]).is_ok());
        assert!(
            refusal(check(
                &uninstall,
                &def,
                Some(&installed),
                &["quantumleap".into()]
            ))
            .contains("is used by quantumleap; uninstall those first")
        );
        // purge also clears what an earlier uninstall kept.
        assert!(check(&GeJob::Uninstall(t, true), &def, None, &[]).is_ok());
    }
}
