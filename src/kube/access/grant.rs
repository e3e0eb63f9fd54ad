//! Granting, listing and revoking a user's access on a cluster, through the API.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::account::{ACCESS_NAMESPACE, Access, account_name};
use crate::auth::Principal;
use crate::kube::client::{FIELD_MANAGER, MANAGED_BY};
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;

/// The label naming the account a ServiceAccount or binding is for.
const ACCOUNT_LABEL: &str = "labkube.io/access-account";
/// The annotation naming the chat user an account is for (`platform:user`).
const PRINCIPAL_ANNOTATION: &str = "labkube.io/principal";
/// The label saying what access a binding gives (`view`, `edit`, `admin`).
const ACCESS_LABEL: &str = "labkube.io/access";

/// A kubeconfig issued.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The kubeconfig (it holds the token: never shown in chat or logs).
    pub kubeconfig: String,
    /// The ServiceAccount it authenticates as.
    pub account: String,
    /// When the token expires, as the API server wrote it (`2026-12-07T21:00:00Z`).
    pub expires: String,
    /// The same, Unix ms.
    pub expires_ms: u64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("account", &self.account)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// One binding of a user's account, as `/kubeconfig list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The chat user (`platform:user`).
    pub principal: String,
    /// The account.
    pub account: String,
    /// The namespace, or `None` for the whole cluster.
    pub namespace: Option<String>,
    /// What it may do.
    pub access: Access,
}

pub(super) fn binding_name(account: &str, access: Access) -> String {
    format!("labkube-access-{account}-{}", access.word())
}

fn labels(account: &str, access: Option<Access>) -> serde_json::Value {
    let mut l = json!({ MANAGED_BY.0: MANAGED_BY.1, ACCOUNT_LABEL: account });
    if let Some(a) = access {
        l[ACCESS_LABEL] = json!(a.word());
    }
    l
}

fn binding_body(
    kind: &str,
    name: &str,
    ns: Option<&str>,
    account: &str,
    access: Access,
) -> serde_json::Value {
    let mut metadata = json!({ "name": name, "labels": labels(account, Some(access)) });
    if let Some(ns) = ns {
        metadata["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": access.cluster_role() },
        "subjects": [{ "kind": "ServiceAccount", "name": account, "namespace": ACCESS_NAMESPACE }],
    })
}

/// Gives `who` `access` to `namespace` on `cluster` (the whole cluster for [`Access::Admin`])
/// and issues a token valid for `ttl`; returns the kubeconfig. The account and its bindings
/// are created or kept; a binding of the other level in that namespace is removed (a binding's
/// role cannot change).
pub async fn grant(
    layer: &KubeLayer,
    cluster: &str,
    who: &Principal,
    namespace: &str,
    access: Access,
    ttl: Duration,
) -> Result<Issued, KubeError> {
    let c = layer.cluster(cluster).await?;
    let account = account_name(who);
    let apply = PatchParams::apply(FIELD_MANAGER).force();
    if access != Access::Admin {
        let namespaces: Api<Namespace> = Api::all(c.client.clone());
        let found = c
            .call(
                format!("looking for namespace {namespace}"),
                namespaces.get_opt(namespace),
            )
            .await?;
        if found.is_none() {
            return Err(KubeError::Refused(format!(
                "namespace {namespace} does not exist on cluster {cluster}; access is given to a namespace that exists"
            )));
        }
    }
    c.ensure_namespace(ACCESS_NAMESPACE).await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(c.client.clone(), ACCESS_NAMESPACE);
    let body = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": account,
            "namespace": ACCESS_NAMESPACE,
            "labels": labels(&account, None),
            "annotations": { PRINCIPAL_ANNOTATION: format!("{}:{}", who.platform, who.user) },
        },
    });
    c.call(
        "creating the user's ServiceAccount",
        accounts.patch(&account, &apply, &Patch::Apply(&body)),
    )
    .await?;
    if access == Access::Admin {
        let api: Api<ClusterRoleBinding> = Api::all(c.client.clone());
        let name = binding_name(&account, access);
        let body = binding_body("ClusterRoleBinding", &name, None, &account, access);
        c.call(
            "binding the user's account to cluster-admin",
            api.patch(&name, &apply, &Patch::Apply(&body)),
        )
        .await?;
    } else {
        let api: Api<RoleBinding> = Api::namespaced(c.client.clone(), namespace);
        for other in [Access::View, Access::Edit]
            .into_iter()
            .filter(|a| *a != access)
        {
            c.delete_quietly(
                &api,
                &binding_name(&account, other),
                &DeleteParams::default(),
            )
            .await?;
        }
        let name = binding_name(&account, access);
        let body = binding_body("RoleBinding", &name, Some(namespace), &account, access);
        c.call(
            format!(
                "binding the user's account to {} in {namespace}",
                access.cluster_role()
            ),
            api.patch(&name, &apply, &Patch::Apply(&body)),
        )
        .await?;
    }
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let issued = c
        .call(
            "asking for a token (TokenRequest)",
            accounts.create_token_request(&account, &PostParams::default(), &request),
        )
        .await?;
    let status = issued.status.ok_or_else(|| KubeError::Api {
        cluster: cluster.into(),
        doing: "asking for a token (TokenRequest)".into(),
        reason: "the answer has no token".into(),
    })?;
    let context_ns = if access == Access::Admin {
        None
    } else {
        Some(namespace)
    };
    Ok(Issued {
        kubeconfig: super::render::kubeconfig(
            cluster,
            &c.server,
            &c.ca,
            &account,
            &status.token,
            context_ns,
        )?,
        account,
        expires: status
            .expiration_timestamp
            .0
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        expires_ms: u64::try_from(status.expiration_timestamp.0.as_millisecond()).unwrap_or(0),
    })
}

/// Ends `who`'s access to `cluster`: their bindings and their account, and so every token it
/// was issued. Returns how many objects were removed (0: they had none).
pub async fn revoke(layer: &KubeLayer, cluster: &str, who: &Principal) -> Result<usize, KubeError> {
    let c = layer.cluster(cluster).await?;
    let account = account_name(who);
    let mine = ListParams::default().labels(&format!("{ACCOUNT_LABEL}={account}"));
    let mut removed = 0;
    let all: Api<RoleBinding> = Api::all(c.client.clone());
    let bindings = c
        .call("listing the user's RoleBindings", all.list(&mine))
        .await?;
    for b in bindings.items {
        let (Some(ns), Some(name)) = (b.metadata.namespace, b.metadata.name) else {
            continue;
        };
        let api: Api<RoleBinding> = Api::namespaced(c.client.clone(), &ns);
        removed += usize::from(
            c.delete_quietly(&api, &name, &DeleteParams::default())
                .await?,
        );
    }
    let cluster_wide: Api<ClusterRoleBinding> = Api::all(c.client.clone());
    removed += usize::from(
        c.delete_quietly(
            &cluster_wide,
            &binding_name(&account, Access::Admin),
            &DeleteParams::default(),
        )
        .await?,
    );
    let accounts: Api<ServiceAccount> = Api::namespaced(c.client.clone(), ACCESS_NAMESPACE);
    removed += usize::from(
        c.delete_quietly(&accounts, &account, &DeleteParams::default())
            .await?,
    );
    Ok(removed)
}

/// Every binding labkube made for a user on `cluster`, by user then namespace.
pub async fn holders(layer: &KubeLayer, cluster: &str) -> Result<Vec<Holder>, KubeError> {
    let c = layer.cluster(cluster).await?;
    let ours = ListParams::default().labels(ACCOUNT_LABEL);
    let accounts: Api<ServiceAccount> = Api::namespaced(c.client.clone(), ACCESS_NAMESPACE);
    let accounts = c
        .call("listing the users' accounts", accounts.list(&ours))
        .await?;
    let principal_of = |account: &str| {
        accounts
            .items
            .iter()
            .find(|a| a.metadata.name.as_deref() == Some(account))
            .and_then(|a| {
                a.metadata
                    .annotations
                    .as_ref()?
                    .get(PRINCIPAL_ANNOTATION)
                    .cloned()
            })
    };
    let mut out = Vec::new();
    let mut add = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        let labels = meta.labels.clone().unwrap_or_default();
        let (Some(account), Some(access)) = (
            labels.get(ACCOUNT_LABEL),
            labels.get(ACCESS_LABEL).and_then(|a| Access::parse(a)),
        ) else {
            return;
        };
        // A binding whose account is gone gives nothing.
        if let Some(principal) = principal_of(account) {
            out.push(Holder {
                principal,
                account: account.clone(),
                namespace: meta.namespace.clone(),
                access,
            });
        }
    };
    let rb: Api<RoleBinding> = Api::all(c.client.clone());
    for b in c
        .call("listing the users' RoleBindings", rb.list(&ours))
        .await?
        .items
    {
        add(&b.metadata);
    }
    let crb: Api<ClusterRoleBinding> = Api::all(c.client.clone());
    for b in c
        .call("listing the users' ClusterRoleBindings", crb.list(&ours))
        .await?
        .items
    {
        add(&b.metadata);
    }
    out.sort_by(|a, b| (&a.principal, &a.namespace).cmp(&(&b.principal, &b.namespace)));
    Ok(out)
}
