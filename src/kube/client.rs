//! Changing a cluster: namespaces, generated credentials, server-side apply of a revision's
//! objects under the field manager `labkube`, pruning what a new revision no longer has, and
//! deleting a release. Every call is bounded by the request timeout.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Secret, Service};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};

use crate::kube::catalogue::def::GeDef;
use crate::kube::error::KubeError;
use crate::kube::stamp::stamped;

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "labkube";
/// Label on everything labkube creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "labkube");
/// How the API server words its refusal of a change to a StatefulSet's fixed fields
/// (`ValidateStatefulSetUpdate`, apiserver `pkg/apis/apps/validation/validation.go`).
const FROZEN_STATEFULSET: &str = "Forbidden: updates to statefulset spec for fields other than";
/// Label naming the release an object belongs to.
pub const INSTANCE: &str = "app.kubernetes.io/instance";

/// An Opaque Secret of release `ge` in `ns`, labelled as labkube's.
pub fn release_secret(
    ns: &str,
    name: &str,
    ge: &str,
    data: BTreeMap<String, ByteString>,
) -> Secret {
    Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels: Some(BTreeMap::from([
                (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
                (INSTANCE.to_string(), ge.into()),
            ])),
            ..Default::default()
        },
        data: Some(data),
        type_: Some("Opaque".into()),
        ..Default::default()
    }
}

/// A cluster's API with the cluster's name (for messages) and the per-request timeout.
#[derive(Clone)]
pub struct Cluster {
    /// Cluster name.
    pub name: String,
    /// API client.
    pub client: kube::Client,
    /// The API server it talks to (`https://10.0.0.2:6443`): for an HA cluster, the control
    /// plane that answered (see [`crate::kube::layer::KubeLayer::client`]).
    pub server: String,
    /// Bound on each request.
    pub timeout: Duration,
    /// The CA certificates (DER) the client trusts for this server: what a kubeconfig handed
    /// to a user carries (none for a plain-HTTP test server).
    pub ca: Vec<Vec<u8>>,
}

impl Cluster {
    /// Runs one API call under the timeout, naming what it did in errors.
    pub async fn call<T>(
        &self,
        doing: impl Into<String>,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, KubeError> {
        let doing = doing.into();
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(KubeError::api(&self.name, doing, e)),
            Err(_) => Err(KubeError::Timeout {
                cluster: self.name.clone(),
                secs: self.timeout.as_secs(),
                doing,
            }),
        }
    }

    /// Deletes `name` through `api` with `params`; one already gone is fine (`false`).
    pub async fn delete_quietly<K>(
        &self,
        api: &Api<K>,
        name: &str,
        params: &DeleteParams,
    ) -> Result<bool, KubeError>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let gone = async {
            match api.delete(name, params).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
                Err(e) => Err(e),
            }
        };
        self.call(format!("deleting {name}"), gone).await
    }

    /// Checks that the API server answers (a clear error early instead of in the middle).
    pub async fn reachable(&self) -> Result<String, KubeError> {
        let v = self
            .call(
                "asking the API server for its version",
                self.client.apiserver_version(),
            )
            .await?;
        Ok(v.git_version)
    }

    /// Creates the namespace if missing, labelled as managed by labkube (an existing one only
    /// gains the label).
    pub async fn ensure_namespace(&self, ns: &str) -> Result<(), KubeError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": ns, "labels": { MANAGED_BY.0: MANAGED_BY.1 } },
        });
        self.call(
            format!("creating namespace {ns}"),
            api.patch(ns, &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&body)),
        )
        .await?;
        Ok(())
    }

    /// Creates the GE's generated-credential Secrets that do not exist yet. Existing ones are
    /// left alone: their values match data already written to the volumes.
    pub async fn ensure_secrets(&self, ns: &str, ge: &GeDef) -> Result<usize, KubeError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let mut created = 0;
        for def in &ge.secrets {
            let existing = self
                .call(
                    format!("reading secret {}", def.name),
                    api.get_opt(&def.name),
                )
                .await?;
            if let Some(existing) = existing {
                if !super::owned::ours(&existing.metadata, &ge.name) {
                    return Err(KubeError::Refused(format!(
                        "secret/{} already exists in {ns} and labkube did not create it for {}, so \
                         its values are not used as {}'s credentials: remove it, or install into \
                         another ns=; nothing was changed",
                        def.name, ge.name, ge.name
                    )));
                }
                continue;
            }
            let mut data = BTreeMap::new();
            for key in &def.keys {
                data.insert(key.clone(), ByteString(generate_password()?.into_bytes()));
            }
            let secret = release_secret(ns, &def.name, &ge.name, data);
            let pp = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..Default::default()
            };
            match tokio::time::timeout(self.timeout, api.create(&pp, &secret)).await {
                Ok(Ok(_)) => created += 1,
                // Created meanwhile (a resumed job): fine, it is the one to keep.
                Ok(Err(kube::Error::Api(s))) if s.code == 409 => {}
                Ok(Err(e)) => {
                    return Err(KubeError::api(
                        &self.name,
                        format!("creating secret {}", def.name),
                        e,
                    ));
                }
                Err(_) => {
                    return Err(KubeError::Timeout {
                        cluster: self.name.clone(),
                        secs: self.timeout.as_secs(),
                        doing: format!("creating secret {}", def.name),
                    });
                }
            }
        }
        Ok(created)
    }

    /// Server-side applies each object of release revision `revision`, in order, forcing
    /// ownership for `labkube` and stamping each with the revision (`kube::stamp`). Every
    /// object is first applied as a dry run, so one the API server refuses (say, a change to a
    /// field it does not allow to change) leaves the cluster as it was.
    pub async fn apply_all(
        &self,
        ns: &str,
        objects: &[serde_json::Value],
        revision: u32,
    ) -> Result<(), KubeError> {
        self.refuse_foreign(ns, objects).await?;
        let objects: Vec<serde_json::Value> =
            objects.iter().map(|o| stamped(o, revision)).collect();
        for dry_run in [true, false] {
            let mut pp = PatchParams::apply(FIELD_MANAGER).force();
            pp.dry_run = dry_run;
            for obj in &objects {
                let (api, name) = self.dynamic(ns, obj)?;
                let applied = self
                    .call(
                        format!("applying {}", describe(obj)),
                        api.patch(&name, &pp, &Patch::Apply(obj)),
                    )
                    .await;
                match applied {
                    Err(KubeError::Api { reason, .. }) if reason.contains(FROZEN_STATEFULSET) => {
                        return Err(KubeError::Refused(format!(
                            "{} cannot be changed this way: Kubernetes lets a StatefulSet change only its replicas, pod template and update strategy, and this revision also changes others (such as its volume claim templates, the size of its data volume). Nothing was changed; to change them, /ge uninstall with purge (its data is deleted) and install again",
                            describe(obj)
                        )));
                    }
                    other => {
                        other?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the objects of `old` that `new` no longer has (PVCs are never pruned: they
    /// hold data).
    pub async fn prune(
        &self,
        ns: &str,
        old: &[serde_json::Value],
        new: &[serde_json::Value],
    ) -> Result<usize, KubeError> {
        let ids: Vec<(String, String)> = new.iter().map(identity).collect();
        let mut pruned = 0;
        for obj in old {
            let id = identity(obj);
            if ids.contains(&id) || id.0 == "PersistentVolumeClaim" {
                continue;
            }
            let ge = super::owned::release_of(obj);
            if self.delete_owned(ns, obj, ge).await? {
                pruned += 1;
            }
        }
        Ok(pruned)
    }

    /// Deletes a release's PVCs (those its StatefulSets created from claim templates carry
    /// labkube's and the release's labels) and its generated and parameter Secrets, all only
    /// when labkube's. Returns how many objects went.
    pub async fn purge(&self, ns: &str, ge: &GeDef) -> Result<usize, KubeError> {
        let lp = ListParams::default().labels(&format!(
            "{}={},{INSTANCE}={}",
            MANAGED_BY.0, MANAGED_BY.1, ge.name
        ));
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), ns);
        let list = self
            .call("listing persistent volume claims", pvcs.list(&lp))
            .await?;
        let mut gone = 0;
        for pvc in list.items {
            if let Some(name) = pvc.metadata.name {
                let obj = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}});
                gone += usize::from(self.delete_owned(ns, &obj, &ge.name).await?);
            }
        }
        let mut secrets: Vec<String> = ge.secrets.iter().map(|s| s.name.clone()).collect();
        if ge.secret_params().next().is_some() {
            secrets.push(ge.param_secret());
        }
        for name in secrets {
            let obj = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}});
            gone += usize::from(self.delete_owned(ns, &obj, &ge.name).await?);
        }
        Ok(gone)
    }

    /// The release's Services as `name:port` with NodePorts, e.g.
    /// `orion.demo.svc:1026 (NodePort 31026)`.
    pub async fn endpoints(&self, ns: &str, ge: &str) -> Result<Vec<String>, KubeError> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), ns);
        let lp = ListParams::default().labels(&format!("{INSTANCE}={ge}"));
        let list = self.call("listing services", api.list(&lp)).await?;
        let mut out = Vec::new();
        for svc in list.items {
            let name = svc.metadata.name.unwrap_or_default();
            for port in svc.spec.and_then(|s| s.ports).unwrap_or_default() {
                let node = port
                    .node_port
                    .map(|n| format!(" (NodePort {n})"))
                    .unwrap_or_default();
                out.push(format!("{name}.{ns}.svc:{}{node}", port.port));
            }
        }
        Ok(out)
    }

    pub(super) fn dynamic(
        &self,
        ns: &str,
        obj: &serde_json::Value,
    ) -> Result<(Api<DynamicObject>, String), KubeError> {
        let (kind, name) = identity(obj);
        let api_version = obj
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let resource = resource(api_version, &kind).ok_or_else(|| {
            KubeError::Refused(format!(
                "labkube does not manage objects of kind {api_version}/{kind}"
            ))
        })?;
        let api = if kind == "Namespace" {
            Api::all_with(self.client.clone(), &resource)
        } else {
            Api::namespaced_with(self.client.clone(), ns, &resource)
        };
        Ok((api, name))
    }
}

/// `(kind, name)` of an object.
fn identity(obj: &serde_json::Value) -> (String, String) {
    let s =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_string();
    (
        s(obj.get("kind")),
        s(obj.get("metadata").and_then(|m| m.get("name"))),
    )
}

/// `deployment/orion`.
pub fn describe(obj: &serde_json::Value) -> String {
    let (kind, name) = identity(obj);
    format!("{}/{name}", kind.to_ascii_lowercase())
}

/// The API resource of the kinds labkube applies.
fn resource(api_version: &str, kind: &str) -> Option<ApiResource> {
    let plural = match (api_version, kind) {
        ("apps/v1", "Deployment") => "deployments",
        ("apps/v1", "StatefulSet") => "statefulsets",
        ("apps/v1", "DaemonSet") => "daemonsets",
        ("autoscaling/v2", "HorizontalPodAutoscaler") => "horizontalpodautoscalers",
        ("v1", "Service") => "services",
        ("v1", "ConfigMap") => "configmaps",
        ("v1", "PersistentVolumeClaim") => "persistentvolumeclaims",
        ("v1", "Secret") => "secrets",
        ("v1", "Namespace") => "namespaces",
        _ => return None,
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Some(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind),
        plural,
    ))
}

/// A random 24-character alphanumeric password from the OS's generator.
pub fn generate_password() -> Result<String, KubeError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(24);
    // Rejection sampling keeps every character equally likely; 256 rounds of 64 bytes are far
    // more than 24 accepted bytes ever need (each byte is accepted with p = 248/256).
    for _ in 0..256 {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).map_err(|e| {
            KubeError::Refused(format!("the system's random generator failed: {e}"))
        })?;
        for b in buf {
            if b < 248 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
                if out.len() == 24 {
                    return Ok(out);
                }
            }
        }
    }
    Err(KubeError::Refused(
        "the system's random generator gave no usable bytes".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_alphanumeric() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn only_known_kinds_have_resources() {
        assert_eq!(
            resource("apps/v1", "Deployment").unwrap().plural,
            "deployments"
        );
        assert_eq!(resource("v1", "Service").unwrap().group, "");
        assert!(resource("batch/v1", "Job").is_none());
    }
}
