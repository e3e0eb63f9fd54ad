//! Read-only answers about GEs: the catalogue, installed releases, their history, and the live
//! state of one release (rollout, pods with restarts and last reasons, endpoints).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::kube::client::INSTANCE;
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::release::Release;
use crate::kube::status::pods::pod_row;
use crate::kube::watch::current_states;

/// `/ge catalog`.
pub fn catalog(layer: &KubeLayer) -> String {
    let mut out = String::from("Generic Enablers in the catalogue (/ge install NAME):");
    for ge in layer.catalogue.all() {
        let needs = if ge.dependencies.is_empty() {
            String::new()
        } else {
            format!(" (needs {})", ge.dependencies.join(", "))
        };
        out.push_str(&format!(
            "\n  {} {} - {}{needs}",
            ge.name, ge.default_version, ge.description
        ));
        if let Some(l) = &ge.limitation {
            out.push_str(&format!(" Not here: {l}"));
        }
        let params: Vec<String> = ge
            .params
            .iter()
            .map(|p| match &p.default {
                Some(d) => format!("{}={d}", p.name),
                None => format!("{}=… (required)", p.name),
            })
            .collect();
        if !params.is_empty() {
            out.push_str(&format!("\n    parameters: {}", params.join(", ")));
        }
    }
    out
}

/// The namespaces of `cluster` where `ge` is installed.
pub fn installed_namespaces(
    layer: &KubeLayer,
    cluster: &str,
    ge: &str,
) -> Result<Vec<String>, KubeError> {
    Ok(Release::all_on(layer.store(), cluster)?
        .into_iter()
        .filter(|r| r.ge == ge)
        .map(|r| r.namespace)
        .collect())
}

/// The GEs installed in `ns` that need `ge`.
pub fn dependents(
    layer: &KubeLayer,
    cluster: &str,
    ns: &str,
    ge: &str,
) -> Result<Vec<String>, KubeError> {
    Ok(Release::all_on(layer.store(), cluster)?
        .into_iter()
        .filter(|r| r.namespace == ns && r.ge != ge)
        .filter(|r| {
            // A dependency a parameter brought counts while the live revision has it on.
            let params = r.live().map(|l| l.params.ge.clone()).unwrap_or_default();
            layer
                .catalogue
                .get(&r.ge)
                .is_some_and(|d| d.dependencies_for(&params).iter().any(|x| x == ge))
        })
        .map(|r| r.ge)
        .collect())
}

/// `/ge list`: releases in `ns`, or in every namespace when `ns` is `None`.
pub fn list(layer: &KubeLayer, cluster: &str, ns: Option<&str>) -> Result<String, KubeError> {
    let releases: Vec<Release> = Release::all_on(layer.store(), cluster)?
        .into_iter()
        .filter(|r| ns.is_none_or(|n| r.namespace == n))
        .collect();
    let place = match ns {
        Some(n) => format!("namespace {n} of {cluster}"),
        None => format!("{cluster} (all namespaces)"),
    };
    if releases.is_empty() {
        return Ok(format!(
            "no Generic Enabler is installed in {place}; /ge catalog lists what can be"
        ));
    }
    let mut out = format!("Generic Enablers in {place}:");
    for r in &releases {
        let (version, state) = match (r.deployed(), r.latest()) {
            (Some(d), Some(l)) if l.number != d.number => (
                d.params.version.clone(),
                format!(
                    "revision {} deployed; revision {} {}",
                    d.number,
                    l.number,
                    l.status.word()
                ),
            ),
            (Some(d), _) => (
                d.params.version.clone(),
                format!("revision {}, {} replica(s)", d.number, d.params.replicas),
            ),
            (None, Some(l)) => (
                l.params.version.clone(),
                format!("revision {} {}", l.number, l.status.word()),
            ),
            (None, None) => ("-".into(), "no revision".into()),
        };
        out.push_str(&format!("\n  {}/{} {version} - {state}", r.namespace, r.ge));
    }
    Ok(out)
}

/// `/ge history`.
pub fn history(release: &Release) -> String {
    let mut out = format!(
        "history of {} in {} on {} (newest last):",
        release.ge, release.namespace, release.cluster
    );
    for r in &release.revisions {
        let when = crate::store::rfc3339(r.at_ms);
        let detail = match (&r.status, &r.summary) {
            (crate::kube::release::Status::Failed { reason }, _) => format!(": {reason}"),
            (_, Some(s)) => format!(": {s}"),
            _ => String::new(),
        };
        let pods = match &r.params.autoscale {
            Some(a) => format!("autoscaled from {a}"),
            None => format!("{} replica(s)", r.params.replicas),
        };
        out.push_str(&format!(
            "\n  {} {} {} by {} at {when}, {pods}, {}{detail}",
            r.number,
            r.status.word(),
            r.action.describe(),
            r.by,
            r.image,
        ));
    }
    out
}

/// `/ge status`: the ledger's view plus what the cluster says now.
pub async fn status(layer: &KubeLayer, release: &Release) -> Result<String, KubeError> {
    let ge = layer.catalogue.get(&release.ge).ok_or_else(|| {
        KubeError::Catalogue(format!("{} is not in this bot's catalogue", release.ge))
    })?;
    let cluster = layer.cluster(&release.cluster).await?;
    let ns = &release.namespace;
    let mut out = match release.deployed() {
        Some(d) if d.params.autoscale.is_some() => format!(
            "{} in {ns} on {}: revision {} ({}), autoscaled",
            ge.name, release.cluster, d.number, d.image
        ),
        Some(d) => format!(
            "{} in {ns} on {}: revision {} ({}), {} replica(s)",
            ge.name, release.cluster, d.number, d.image, d.params.replicas
        ),
        None => format!(
            "{} in {ns} on {}: no revision has rolled out",
            ge.name, release.cluster
        ),
    };
    if let Some(l) = release.latest()
        && release.deployed().map(|d| d.number) != Some(l.number)
    {
        out.push_str(&format!("; revision {} is {}", l.number, l.status.word()));
    }
    let states = match tokio::time::timeout(
        cluster.timeout,
        current_states(cluster.client.clone(), ns, &ge.workloads),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(KubeError::Api {
                cluster: cluster.name.clone(),
                doing: "reading the rollout state".into(),
                reason: e.to_string(),
            });
        }
        Err(_) => {
            return Err(KubeError::Timeout {
                cluster: cluster.name.clone(),
                secs: cluster.timeout.as_secs(),
                doing: "reading the rollout state".into(),
            });
        }
    };
    for s in &states {
        out.push_str(&format!("\n  {}: {}", s.workload, s.message));
    }
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let lp = ListParams::default().labels(&format!("{INSTANCE}={}", ge.name));
    let list = cluster.call("listing pods", pods.list(&lp)).await?;
    if list.items.is_empty() {
        out.push_str("\npods: none");
    } else {
        out.push_str("\npods:");
        let now = k8s_openapi::jiff::Timestamp::now();
        for p in &list.items {
            let r = pod_row(p, now);
            let reason = r.reason.map(|x| format!(", last: {x}")).unwrap_or_default();
            let age = r
                .age_secs
                .map(|a| {
                    format!(
                        ", age {}",
                        humantime::format_duration(std::time::Duration::from_secs(a))
                    )
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "\n  {} {} ready, {}, {} restart(s){reason}{age}",
                r.name, r.ready, r.phase, r.restarts
            ));
        }
    }
    if let Some(a) = release.live().and_then(|r| r.params.autoscale) {
        let line = crate::kube::autoscale::status_line(&cluster, ns, &ge.name, &a).await?;
        out.push('\n');
        out.push_str(&line);
    }
    let endpoints = cluster.endpoints(ns, &ge.name).await?;
    if !endpoints.is_empty() {
        out.push_str(&format!("\nendpoints: {}", endpoints.join(", ")));
    }
    Ok(out)
}
