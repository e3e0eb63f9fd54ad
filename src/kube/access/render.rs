//! The kubeconfig a user gets: the cluster's API endpoint and CA, a token user, a context with
//! the granted namespace. Written through kube's own kubeconfig types, as YAML.

use base64::Engine as _;
use kube::config::Kubeconfig;
use serde_json::json;

use crate::kube::error::KubeError;

/// The kubeconfig for `account` with `token` on `cluster` at `server` (trusting the CA
/// certificates `ca`, DER; none for a plain-HTTP test server), its context in `namespace`.
pub fn kubeconfig(
    cluster: &str,
    server: &str,
    ca: &[Vec<u8>],
    account: &str,
    token: &str,
    namespace: Option<&str>,
) -> Result<String, KubeError> {
    let failed = |why: String| KubeError::Api {
        cluster: cluster.into(),
        doing: "writing the kubeconfig".into(),
        reason: why,
    };
    let pem: String = ca
        .iter()
        .map(|der| {
            let lf = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
            pem::encode_config(&pem::Pem::new("CERTIFICATE", der.clone()), lf)
        })
        .collect();
    let mut cluster_entry = json!({ "server": server });
    if !pem.is_empty() {
        cluster_entry["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(pem));
    }
    let context_name = format!("{account}@{cluster}");
    let mut context = json!({ "cluster": cluster, "user": account });
    if let Some(ns) = namespace {
        context["namespace"] = json!(ns);
    }
    let value = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": cluster, "cluster": cluster_entry }],
        "users": [{ "name": account, "user": { "token": token } }],
        "contexts": [{ "name": context_name, "context": context }],
        "current-context": context_name,
    });
    // Through kube's types, so the field names are the ones kubectl reads. Written as JSON,
    // which is YAML too: every kubeconfig reader (client-go's sigs.k8s.io/yaml, kube-rs,
    // Helm) takes it.
    let typed: Kubeconfig =
        serde_json::from_value(value).map_err(|e| failed(format!("its shape: {e}")))?;
    serde_json::to_string_pretty(&typed).map_err(|e| failed(format!("as JSON: {e}")))
}
