//! `[cluster] registry_mirrors` and the proxy variables of `[ssh] remote_env`: what containerd
//! on the hosts is given (the install_containerd step writes them into its registry hosts
//! files and its systemd drop-in), checked here so that nothing else reaches those files.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::names::Subdomain;

/// Registry host (`docker.io`, `registry.k8s.io`, `quay.io`, `host:port`) to the mirrors
/// containerd tries for it, in order, before the registry itself.
pub type RegistryMirrors = BTreeMap<String, Vec<String>>;

/// The proxy variables containerd takes from `[ssh] remote_env`, in any case.
const PROXY_VARIABLES: [&str; 3] = ["http_proxy", "https_proxy", "no_proxy"];

/// Problems of `[cluster] registry_mirrors`, as `(key, message)`.
pub(super) fn mirror_problems(mirrors: &RegistryMirrors) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (registry, urls) in mirrors {
        let key = format!("cluster.registry_mirrors.{registry:?}");
        if !host_port(registry) {
            out.push((
                key.clone(),
                "not a registry host name such as docker.io, quay.io or registry.lab.example:5000"
                    .into(),
            ));
        }
        if urls.is_empty() {
            out.push((
                key.clone(),
                "give at least one mirror, e.g. [\"https://mirror.lab.example\"]".into(),
            ));
        }
        for (i, url) in urls.iter().enumerate() {
            if !mirror_url(url) {
                out.push((
                    format!("{key}[{i}]"),
                    format!(
                        "{} is not an https URL such as https://mirror.lab.example or \
                         https://10.0.0.5:5000/v2/docker.io",
                        crate::names::escape::quoted(url)
                    ),
                ));
            }
        }
    }
    out
}

/// Problems of the proxy variables among `[ssh] remote_env`: a value must be one line of
/// printable text without quotes, backslashes or spaces (it goes into a systemd unit file).
pub(super) fn proxy_problems(env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in env {
        if !is_proxy_variable(name) {
            continue;
        }
        let bad =
            |c: char| c.is_control() || c.is_whitespace() || c == '"' || c == '\\' || c == '\'';
        if value.chars().any(bad) {
            out.push((
                format!("ssh.remote_env.{name}"),
                "must be one word without spaces, quotes or backslashes, such as \
                 http://proxy.lab.example:3128"
                    .into(),
            ));
        }
    }
    out
}

/// `true` for `http_proxy`, `HTTPS_PROXY`, `No_Proxy`...
fn is_proxy_variable(name: &str) -> bool {
    PROXY_VARIABLES.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// The mirrors as the install_containerd step takes them (`REGISTRY_MIRRORS`): one
/// `registry=url,url` per registry, separated by spaces; empty when there are none.
pub fn encode_mirrors(mirrors: &RegistryMirrors) -> String {
    let entries: Vec<String> = mirrors
        .iter()
        .map(|(registry, urls)| format!("{registry}={}", urls.join(",")))
        .collect();
    entries.join(" ")
}

/// A DNS name or an IP address, with an optional `:port`.
fn host_port(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    let host_ok = Subdomain::parse(host).is_ok() || host.parse::<IpAddr>().is_ok();
    port_ok && host_ok && !s.is_empty()
}

/// `https://host[:port][/path]`, the path of `[A-Za-z0-9._~/-]`.
fn mirror_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._~/-".contains(&b));
    host_port(authority) && path_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_are_https_urls_of_registry_hosts() {
        let ok: RegistryMirrors = [(
            "docker.io".to_string(),
            vec![
                "https://mirror.lab.example".to_string(),
                "https://10.0.0.5:5000/v2/docker.io".to_string(),
            ],
        )]
        .into();
        assert!(mirror_problems(&ok).is_empty());
        assert_eq!(
            encode_mirrors(&ok),
            "docker.io=https://mirror.lab.example,https://10.0.0.5:5000/v2/docker.io"
        );
        for (registry, url) in [
            ("docker.io", "http://mirror.lab.example"),
            ("docker.io", "https://mirror lab"),
            ("docker.io", "https://mirror.lab.example/\"x"),
            ("Docker.IO", "https://mirror.lab.example"),
            ("docker.io/library", "https://mirror.lab.example"),
            ("docker.io:0", "https://mirror.lab.example"),
        ] {
            let bad: RegistryMirrors = [(registry.to_string(), vec![url.to_string()])].into();
            assert_eq!(mirror_problems(&bad).len(), 1, "{registry} {url}");
        }
        let empty: RegistryMirrors = [("quay.io".to_string(), Vec::new())].into();
        assert_eq!(mirror_problems(&empty).len(), 1);
    }

    #[test]
    fn the_config_file_takes_mirrors_and_refuses_bad_proxies() {
        let ok =
            "[cluster]\nregistry_mirrors = { \"docker.io\" = [\"https://mirror.lab.example\"] }\n";
        let cfg = crate::config::Config::parse(ok, "test.toml").unwrap();
        assert_eq!(
            encode_mirrors(&cfg.cluster.registry_mirrors),
            "docker.io=https://mirror.lab.example"
        );
        let bad = "[ssh]\nremote_env = { HTTPS_PROXY = \"http://p:3128 x\" }\n\
                   [cluster]\nregistry_mirrors = { \"docker.io\" = [\"http://mirror\"] }\n";
        let e = crate::config::Config::parse(bad, "test.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ssh.remote_env.HTTPS_PROXY")
                && e.contains("cluster.registry_mirrors.\"docker.io\"[0]"),
            "{e}"
        );
    }

    #[test]
    fn proxy_values_are_one_plain_word() {
        let env: BTreeMap<String, String> = [
            ("HTTPS_PROXY", "http://proxy.lab.example:3128"),
            ("no_proxy", "localhost,.lab.example"),
            ("PATH_EXTRA", "any thing \" goes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(proxy_problems(&env).is_empty());
        for value in [
            "http://p:3128\nX=1",
            "http://p:3128 x",
            "\"http://p\"",
            "a\\b",
        ] {
            let env = [("http_proxy".to_string(), value.to_string())].into();
            assert_eq!(proxy_problems(&env).len(), 1, "{value:?}");
        }
    }
}
