//! A created cluster's admin credentials as data, never as a program.
//!
//! The kubeconfig `/cluster create` reads from the control plane (`/etc/kubernetes/admin.conf`)
//! comes from a VM whose owner has root there. kube's kubeconfig loader would run a
//! `users[].user.exec` command or an `auth-provider` `cmd-path` on the bot's machine, read any
//! local `tokenFile` and send it to any `server`. So the bot keeps only what kubeadm puts in
//! `admin.conf`: the cluster CA (`certificate-authority-data`), the client certificate and its
//! key (`client-certificate-data`, `client-key-data`), each checked to decode as PEM of that
//! kind. The API server is `https://<control-plane address as the user typed it>:6443`,
//! whatever the file says. Everything that could run, read a file, send a secret elsewhere or
//! weaken TLS is refused naming the field, never quoting the file.
//!
//! [`ClusterCredentials`] is what the store keeps ([`ClusterCredentials::to_store`]); a record
//! written by an earlier release (the host's YAML as it was) goes through the same sanitiser
//! when it is read back ([`ClusterCredentials::from_store`]). The client is built from the
//! typed data alone ([`ClusterCredentials::client_config`]): no exec, token or file path can
//! reach it. Kubeconfigs declared in the config (`[[clusters]] kubeconfig`) are the admin's
//! own and do not come here.

use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use kube::config::{AuthInfo, Cluster, Kubeconfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::names::host_addr;

/// Port of kubeadm's API server on the control plane.
pub const API_SERVER_PORT: u16 = 6443;

/// Marks the typed form in the store (a record without it is a kubeconfig of an earlier
/// release).
const FORMAT: &str = "labkube.cluster-credentials/v1";

/// Why a kubeconfig is refused. `Display` names the field and never quotes the file.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KubeconfigError {
    /// It does not parse as a kubeconfig.
    #[error("it does not parse as a kubeconfig")]
    Unparsable,
    /// A field that runs a program, reads a file, carries another credential or weakens TLS.
    #[error(
        "it carries {what} ({field}), and only the CA, the client certificate and its key are accepted"
    )]
    Forbidden {
        /// Where: `users[0].user.exec`.
        field: String,
        /// What it is, in words: "an exec command".
        what: &'static str,
    },
    /// More than one user or cluster, and no current context that picks one.
    #[error("it has {count} {kind} and no current context naming one of them")]
    Ambiguous {
        /// `users` or `clusters`.
        kind: &'static str,
        /// How many.
        count: usize,
    },
    /// The chosen user or cluster lacks a field (or the current context names none).
    #[error("it has no {0}")]
    Missing(&'static str),
    /// A `-data` field is not base64 of PEM of the right kind.
    #[error("its {field} is not {expected}")]
    BadData {
        /// `clusters[0].cluster.certificate-authority-data`.
        field: String,
        /// "a base64-encoded PEM certificate".
        expected: &'static str,
    },
}

/// The admin credentials of a created cluster: its control plane's address and the three PEM
/// blocks kubeadm's `admin.conf` carries. `Debug` shows the address only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterCredentials {
    format: String,
    /// The control plane's address, as the user typed it (normalised).
    pub addr: IpAddr,
    /// The cluster CA certificate(s), PEM.
    pub ca_pem: String,
    /// The client certificate, PEM.
    pub cert_pem: String,
    /// The client key, PEM. A secret.
    pub key_pem: String,
}

impl std::fmt::Debug for ClusterCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCredentials")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ClusterCredentials {
    /// Keeps the CA, client certificate and key of the kubeconfig `text` read from the control
    /// plane at `control_plane`; refuses anything else it could ask the bot to do.
    pub fn from_kubeconfig(text: &str, control_plane: IpAddr) -> Result<Self, KubeconfigError> {
        // The parser's message may quote the file: it is not kept.
        let config = Kubeconfig::from_yaml(text).map_err(|_| KubeconfigError::Unparsable)?;
        refuse_extras(&config)?;
        let (cluster_at, cluster) = chosen(&config, Pick::Cluster)?;
        let (user_at, user) = chosen(&config, Pick::User)?;
        let cluster = config.clusters[cluster]
            .cluster
            .as_ref()
            .ok_or(KubeconfigError::Missing("cluster entry"))?;
        let user = config.auth_infos[user]
            .auth_info
            .as_ref()
            .ok_or(KubeconfigError::Missing("user entry"))?;
        let ca = cluster
            .certificate_authority_data
            .as_deref()
            .ok_or(KubeconfigError::Missing("certificate-authority-data"))?;
        let cert = user
            .client_certificate_data
            .as_deref()
            .ok_or(KubeconfigError::Missing("client-certificate-data"))?;
        let key = key_data(user).ok_or(KubeconfigError::Missing("client-key-data"))?;
        let creds = ClusterCredentials {
            format: FORMAT.into(),
            addr: host_addr(control_plane),
            ca_pem: unbase64(ca, &format!("{cluster_at}.certificate-authority-data"))?,
            cert_pem: unbase64(cert, &format!("{user_at}.client-certificate-data"))?,
            key_pem: unbase64(&key, &format!("{user_at}.client-key-data"))?,
        };
        creds.check(&cluster_at, &user_at)?;
        Ok(creds)
    }

    /// The record the store keeps (JSON; a secret: never shown).
    pub fn to_store(&self) -> String {
        // Serialising strings and an address into JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored record: the typed form, or a kubeconfig an earlier release stored as
    /// the host gave it, sanitised like a new one with `control_plane` (the registered
    /// control plane's address) as its server.
    pub fn from_store(text: &str, control_plane: Option<IpAddr>) -> Result<Self, KubeconfigError> {
        if let Ok(creds) = serde_json::from_str::<ClusterCredentials>(text)
            && creds.format == FORMAT
        {
            creds.check("stored cluster", "stored user")?;
            return Ok(creds);
        }
        let addr = control_plane.ok_or(KubeconfigError::Missing("registered control plane"))?;
        ClusterCredentials::from_kubeconfig(text, addr)
    }

    /// Where the API server listens: the control plane's address, port 6443.
    pub fn api_addr(&self) -> SocketAddr {
        SocketAddr::new(host_addr(self.addr), API_SERVER_PORT)
    }

    /// `https://ADDR:6443` (an IPv6 address in brackets).
    pub fn server_url(&self) -> String {
        format!("https://{}", self.api_addr())
    }

    /// A client config with only these credentials: the CA as the only root, the client
    /// certificate and key, and nothing that runs, reads a file or sends a token.
    pub fn client_config(&self) -> Result<kube::Config, KubeconfigError> {
        let url = self
            .server_url()
            .parse()
            .map_err(|_| KubeconfigError::Missing("valid server address"))?;
        let mut config = kube::Config::new(url);
        let roots = CertificateDer::pem_slice_iter(self.ca_pem.as_bytes())
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("clusters[0].cluster.certificate-authority-data", CERT))?;
        config.root_cert = Some(roots);
        let b64 = base64::engine::general_purpose::STANDARD;
        let auth = serde_json::json!({
            "client-certificate-data": b64.encode(&self.cert_pem),
            "client-key-data": b64.encode(&self.key_pem),
        });
        config.auth_info = serde_json::from_value::<AuthInfo>(auth)
            .map_err(|_| KubeconfigError::Missing("client certificate"))?;
        Ok(config)
    }

    /// Each PEM block decodes as what it should be.
    fn check(&self, cluster_at: &str, user_at: &str) -> Result<(), KubeconfigError> {
        let certs = |pem: &str| {
            let all: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
            all.is_ok_and(|c| !c.is_empty())
        };
        if !certs(&self.ca_pem) {
            return Err(bad(
                &format!("{cluster_at}.certificate-authority-data"),
                CERT,
            ));
        }
        if !certs(&self.cert_pem) {
            return Err(bad(&format!("{user_at}.client-certificate-data"), CERT));
        }
        if PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).is_err() {
            return Err(bad(
                &format!("{user_at}.client-key-data"),
                "a base64-encoded PEM private key",
            ));
        }
        Ok(())
    }
}

const CERT: &str = "a base64-encoded PEM certificate";

fn bad(field: &str, expected: &'static str) -> KubeconfigError {
    KubeconfigError::BadData {
        field: field.into(),
        expected,
    }
}

/// The user's `client-key-data` (kube keeps it as a secret, which serialises as its text).
fn key_data(user: &AuthInfo) -> Option<String> {
    user.client_key_data.as_ref()?;
    let value = serde_json::to_value(user).ok()?;
    value.get("client-key-data")?.as_str().map(str::to_string)
}

fn unbase64(data: &str, field: &str) -> Result<String, KubeconfigError> {
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad(field, CERT_OR_KEY))
}

const CERT_OR_KEY: &str = "base64-encoded PEM";

fn forbidden(field: String, what: &'static str) -> KubeconfigError {
    KubeconfigError::Forbidden { field, what }
}

/// Refuses, in every user and cluster entry, what is not CA, certificate or key data.
fn refuse_extras(config: &Kubeconfig) -> Result<(), KubeconfigError> {
    for (i, c) in config.clusters.iter().enumerate() {
        if let Some(c) = &c.cluster {
            refuse_cluster(&format!("clusters[{i}].cluster"), c)?;
        }
    }
    for (i, u) in config.auth_infos.iter().enumerate() {
        if let Some(u) = &u.auth_info {
            refuse_user(&format!("users[{i}].user"), u)?;
        }
    }
    Ok(())
}

fn refuse_cluster(at: &str, c: &Cluster) -> Result<(), KubeconfigError> {
    let field = |name: &str| format!("{at}.{name}");
    if c.insecure_skip_tls_verify == Some(true) {
        return Err(forbidden(
            field("insecure-skip-tls-verify"),
            "a TLS verification switch-off",
        ));
    }
    if c.certificate_authority.is_some() {
        return Err(forbidden(
            field("certificate-authority"),
            "a file path on the bot's machine",
        ));
    }
    if c.proxy_url.is_some() {
        return Err(forbidden(field("proxy-url"), "a proxy"));
    }
    if let Some(key) = c.other.keys().next() {
        return Err(forbidden(field(key), "a field labkube does not accept"));
    }
    Ok(())
}

fn refuse_user(at: &str, u: &AuthInfo) -> Result<(), KubeconfigError> {
    let field = |name: &str| format!("{at}.{name}");
    let checks: [(bool, &str, &'static str); 11] = [
        (u.exec.is_some(), "exec", "an exec command"),
        (
            u.auth_provider.is_some(),
            "auth-provider",
            "an auth provider",
        ),
        (u.token.is_some(), "token", "a bearer token"),
        (u.token_file.is_some(), "tokenFile", "a token file path"),
        (u.username.is_some(), "username", "a user name and password"),
        (u.password.is_some(), "password", "a user name and password"),
        (
            u.client_certificate.is_some(),
            "client-certificate",
            "a file path on the bot's machine",
        ),
        (
            u.client_key.is_some(),
            "client-key",
            "a file path on the bot's machine",
        ),
        (u.impersonate.is_some(), "as", "an impersonation"),
        (
            u.impersonate_groups.is_some() || u.impersonate_uid.is_some(),
            "as-groups",
            "an impersonation",
        ),
        (
            u.impersonate_user_extra.is_some(),
            "as-user-extra",
            "an impersonation",
        ),
    ];
    if let Some((_, name, what)) = checks.iter().find(|(hit, _, _)| *hit) {
        return Err(forbidden(field(name), what));
    }
    if let Some(key) = u.other.keys().next() {
        return Err(forbidden(field(key), "a field labkube does not accept"));
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Pick {
    Cluster,
    User,
}

/// The index of the cluster (or user) to use, and where it is (`users[0].user`): the only
/// one, or the one the current context names.
fn chosen(config: &Kubeconfig, pick: Pick) -> Result<(String, usize), KubeconfigError> {
    let names: Vec<&str> = match pick {
        Pick::Cluster => config.clusters.iter().map(|c| c.name.as_str()).collect(),
        Pick::User => config.auth_infos.iter().map(|u| u.name.as_str()).collect(),
    };
    let (kind, entry) = match pick {
        Pick::Cluster => ("clusters", "cluster"),
        Pick::User => ("users", "user"),
    };
    let at = |i: usize| (format!("{kind}[{i}].{entry}"), i);
    let context = config
        .current_context
        .as_deref()
        .and_then(|c| config.contexts.iter().find(|n| n.name == c))
        .and_then(|n| n.context.as_ref());
    if let Some(context) = context {
        let wanted = match pick {
            Pick::Cluster => Some(context.cluster.as_str()),
            Pick::User => context.user.as_deref(),
        };
        let found: Vec<usize> = (0..names.len())
            .filter(|&i| Some(names[i]) == wanted)
            .collect();
        return match found.as_slice() {
            [i] => Ok(at(*i)),
            [] => Err(KubeconfigError::Missing(match pick {
                Pick::Cluster => "cluster the current context names",
                Pick::User => "user the current context names",
            })),
            more => Err(KubeconfigError::Ambiguous {
                kind,
                count: more.len(),
            }),
        };
    }
    match names.len() {
        0 => Err(KubeconfigError::Missing(kind)),
        1 => Ok(at(0)),
        count => Err(KubeconfigError::Ambiguous { kind, count }),
    }
}

#[cfg(test)]
#[path = "kubeconfig_tests.rs"]
mod tests;
