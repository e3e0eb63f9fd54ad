//! `[store]`: where the bot keeps its jobs, audit trail and cluster registry. `sled` (the
//! default) is one directory on this machine, `data_dir`; `etcd` is an etcd cluster, for a bot
//! run as several replicas (README, "HA deployment").

use std::time::Duration;

use serde::Deserialize;

use super::SecretSource;
use crate::store::seal::SealKey;

/// The accepted form of an etcd endpoint, for messages.
pub const ENDPOINT_FORM: &str = "http://HOST:PORT, such as http://10.0.0.5:2379";

/// `[store] backend`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// sled in `data_dir`.
    #[default]
    Sled,
    /// An etcd cluster.
    Etcd,
}

/// `[store]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct StoreSettings {
    /// `sled` or `etcd`.
    pub backend: Backend,
    /// etcd members' client URLs (`http://HOST:PORT`); with `backend = "etcd"`, at least one.
    pub endpoints: Vec<String>,
    /// Start of every key the bot writes in etcd, so one etcd can hold several bots' stores:
    /// begins and ends with `/`.
    pub prefix: String,
    /// Longest wait for one etcd request, s (1-60).
    pub timeout_secs: u64,
    /// The leader's lease, s (2-60): a standby takes over within this long after the leader
    /// stops renewing it (at once when the leader stops cleanly).
    pub lease_secs: u64,
    /// This replica's name, told to the rooms when it takes over; default: the host name.
    pub replica: Option<String>,
    /// The 256-bit key (64 hex digits) clusters' admin kubeconfigs are sealed with in etcd;
    /// required with `backend = "etcd"`. Never in etcd itself.
    pub secret_key: Option<SecretSource>,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            backend: Backend::Sled,
            endpoints: Vec::new(),
            prefix: "/labkube/".into(),
            timeout_secs: 5,
            lease_secs: 10,
            replica: None,
            secret_key: None,
        }
    }
}

impl StoreSettings {
    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The leader's lease.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// This replica's name: `replica`, else the host name, else `labkube`.
    pub fn replica_name(&self) -> String {
        self.replica.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "labkube".into())
        })
    }

    /// The key kubeconfigs are sealed with in etcd, read from where `secret_key` says.
    pub fn seal_key(&self) -> Result<SealKey, String> {
        match &self.secret_key {
            Some(source) => self.seal_key_from(source),
            None => Err("[store] secret_key is not set".into()),
        }
    }

    fn seal_key_from(&self, source: &SecretSource) -> Result<SealKey, String> {
        let secret = source.resolve()?;
        SealKey::from_hex(secret.expose()).map_err(|e| e.to_string())
    }

    /// Problems of this section, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: String, m: String| out.push((k, m));
        super::checks::range(&mut bad, "store.timeout_secs", self.timeout_secs, 1, 60);
        super::checks::range(&mut bad, "store.lease_secs", self.lease_secs, 2, 60);
        if let Some(r) = &self.replica {
            let ok = !r.is_empty()
                && r.len() <= 63
                && r.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !ok {
                bad(
                    "store.replica".into(),
                    format!("{r:?} is not a replica name: 1-63 letters, digits, '-', '_' or '.'"),
                );
            }
        }
        if let Err(why) = check_prefix(&self.prefix) {
            bad("store.prefix".into(), why);
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            if let Err(why) = check_endpoint(e) {
                bad(format!("store.endpoints[{i}]"), why);
            }
        }
        if self.backend == Backend::Etcd {
            if self.endpoints.is_empty() {
                bad(
                    "store.endpoints".into(),
                    format!("backend = \"etcd\" needs at least one endpoint: {ENDPOINT_FORM}"),
                );
            }
            match &self.secret_key {
                None => bad(
                    "store.secret_key".into(),
                    "backend = \"etcd\" needs the key kubeconfigs are sealed with: secret_key = { env = \"LABKUBE_STORE_KEY\" } holding 64 hex digits (openssl rand -hex 32)".into(),
                ),
                Some(source) => {
                    if let Err(why) = self.seal_key_from(source) {
                        bad("store.secret_key".into(), why);
                    }
                }
            }
        }
        out
    }
}

/// Checks one etcd endpoint: `http://HOST:PORT`. TLS endpoints are refused with the reason
/// (this build talks plain HTTP/2 to etcd; put it on a private network or loopback).
pub fn check_endpoint(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text)
        .map_err(|e| format!("{text:?} is not a URL ({e}); write {ENDPOINT_FORM}"))?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(format!(
                "{text:?}: TLS to etcd is not supported by this build; give an http:// endpoint on a private network"
            ));
        }
        other => {
            return Err(format!(
                "{text:?} has scheme {other:?}; write {ENDPOINT_FORM}"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
        return Err(format!(
            "{text:?} needs a host and a port; write {ENDPOINT_FORM}"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: it holds a password.
        return Err(format!(
            "an endpoint carries a user name or password; etcd credentials are not supported, write {ENDPOINT_FORM}"
        ));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(format!(
            "{text:?} has more than a host and a port; write {ENDPOINT_FORM}"
        ));
    }
    Ok(())
}

/// Checks a key prefix: starts and ends with `/`, printable ASCII, no spaces, at most 64
/// characters.
pub fn check_prefix(text: &str) -> Result<(), String> {
    let ok = text.len() >= 2
        && text.len() <= 64
        && text.starts_with('/')
        && text.ends_with('/')
        && text.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a key prefix: 2-64 printable characters without spaces, beginning and ending with /, such as /labkube/"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn endpoints_are_plain_http_host_and_port() {
        assert!(check_endpoint("http://127.0.0.1:2379").is_ok());
        assert!(check_endpoint("http://etcd-0.etcd:2379/").is_ok());
        for bad in [
            "127.0.0.1:2379",
            "http://127.0.0.1",
            "https://127.0.0.1:2379",
            "http://127.0.0.1:2379/v3",
            "tcp://127.0.0.1:2379",
        ] {
            let why = check_endpoint(bad).unwrap_err();
            assert!(
                why.contains(bad) || why.contains("not a URL"),
                "{bad}: {why}"
            );
        }
        let why = check_endpoint("http://u:hunter2@h:1").unwrap_err();
        assert!(
            why.contains("password") && !why.contains("hunter2"),
            "{why}"
        );
    }

    #[test]
    fn prefixes_are_slash_delimited() {
        assert!(check_prefix("/labkube/").is_ok());
        assert!(check_prefix("/lab/bot-a/").is_ok());
        for bad in ["labkube/", "/labkube", "/", "/a b/", ""] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_etcd_store_needs_endpoints_and_a_sealing_key() {
        let err = Config::parse("[store]\nbackend = \"etcd\"\n", "t.toml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("store.endpoints") && text.contains("http://HOST:PORT"),
            "{text}"
        );
        assert!(
            text.contains("store.secret_key") && text.contains("openssl rand -hex 32"),
            "{text}"
        );
        let bad = r#"
            [store]
            backend = "etcd"
            endpoints = ["https://10.0.0.5:2379", "10.0.0.6:2379"]
            prefix = "labkube"
            timeout_secs = 0
            lease_secs = 1
            replica = "bot a"
            secret_key = { env = "LABKUBE_TEST_UNSET_STORE_KEY" }
        "#;
        let text = Config::parse(bad, "t.toml").unwrap_err().to_string();
        for want in [
            "store.endpoints[0]",
            "TLS to etcd is not supported",
            "store.endpoints[1]",
            "store.prefix",
            "store.timeout_secs",
            "store.lease_secs",
            "store.replica",
            "LABKUBE_TEST_UNSET_STORE_KEY is not set",
        ] {
            assert!(text.contains(want), "missing {want:?} in {text}");
        }
        let short = r#"
            [store]
            backend = "etcd"
            endpoints = ["http://127.0.0.1:2379"]
            secret_key = { value = "abcd" }
        "#;
        let text = Config::parse(short, "t.toml").unwrap_err().to_string();
        assert!(
            text.contains("64 hexadecimal digits") && !text.contains("abcd\""),
            "{text}"
        );
        let good = format!(
            "[store]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\nsecret_key = {{ value = \"{}\" }}\n",
            "ab".repeat(32)
        );
        let cfg = Config::parse(&good, "t.toml").unwrap();
        assert!(cfg.store.seal_key().is_ok());
    }
}
