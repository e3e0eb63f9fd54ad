//! Credentials the user gives at install (`/ge install wilma … password=…`): written by the
//! dispatcher into the GE's Secret before the job is queued, so the values never enter the job
//! record, the revision ledger, a log or a reply. Templates read them with `secretKeyRef`.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};

use crate::kube::client::{FIELD_MANAGER, INSTANCE, release_secret};
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::store::GeTarget;

/// Parameters by name (or credentials by Secret key) and their values.
pub type Values = BTreeMap<String, String>;

/// Splits the user's parameters for `t.ge` into those the job records and the GE's `secret`
/// ones (by their Secret key). Unknown names, bad values and missing required parameters are
/// refused in words that never echo a secret's value.
pub fn split(
    layer: &KubeLayer,
    t: &GeTarget,
    given: &BTreeMap<String, String>,
) -> Result<(Values, Values), KubeError> {
    let def = layer
        .catalogue
        .get(&t.ge)
        .ok_or_else(|| KubeError::Catalogue(format!("{} is not in this bot's catalogue", t.ge)))?;
    let refuse = |why: String| KubeError::Refused(format!("{why}; nothing was changed"));
    def.param_values(given).map_err(refuse)?;
    def.check_required(given).map_err(refuse)?;
    let mut plain = BTreeMap::new();
    let mut secret = BTreeMap::new();
    for (name, value) in given {
        match def.param(name) {
            Some(p) if p.is_secret() => {
                secret.insert(p.secret_key(), value.clone());
            }
            _ => {
                plain.insert(name.clone(), value.clone());
            }
        }
    }
    Ok((plain, secret))
}

/// Writes `values` (Secret key → value) into the Secret of `t.ge`'s parameters in its
/// namespace (created, labelled as labkube's, when missing), by server-side apply so a
/// re-install with new credentials replaces the old ones.
pub async fn store(
    layer: &KubeLayer,
    t: &GeTarget,
    values: &BTreeMap<String, String>,
) -> Result<(), KubeError> {
    let def = layer
        .catalogue
        .get(&t.ge)
        .ok_or_else(|| KubeError::Catalogue(format!("{} is not in this bot's catalogue", t.ge)))?;
    let cluster = layer.cluster(&t.cluster).await?;
    cluster.ensure_namespace(&t.namespace).await?;
    let name = def.param_secret();
    let data: BTreeMap<String, ByteString> = values
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
        .collect();
    let secret = release_secret(&t.namespace, &name, &t.ge, data);
    // Never written over a Secret of that name that labkube did not make for this release.
    let probe = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": { "name": name, "labels": { INSTANCE: t.ge } },
    });
    cluster
        .refuse_foreign(&t.namespace, std::slice::from_ref(&probe))
        .await?;
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), &t.namespace);
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    cluster
        .call(
            format!("writing secret {name}"),
            api.patch(&name, &pp, &Patch::Apply(&secret)),
        )
        .await?;
    Ok(())
}
