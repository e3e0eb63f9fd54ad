//! Before a new cluster is registered, the bot itself connects to the API server named in the
//! kubeconfig the control plane gave, so a port the lab's security group closes (6443 is
//! often not open to the bot's machine) is said at once, not at the first `/ge install`.
//!
//! The kubeconfig comes from a VM whose owner has root: it is only parsed here (nothing in it
//! runs, no credential in it is used), its server must be the control plane's own address, and
//! the probe is a TCP connection to it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use kube::config::Kubeconfig;

use crate::provision::error::ProvisionError;

/// The `host:port` of the current context's API server in `text` (no content of the file in
/// errors).
fn server(text: &str) -> Result<(String, u16), String> {
    let config = Kubeconfig::from_yaml(text)
        .map_err(|_| "the kubeconfig it printed does not parse as one".to_string())?;
    let context = config
        .current_context
        .as_deref()
        .and_then(|c| config.contexts.iter().find(|n| n.name == c))
        .and_then(|n| n.context.as_ref())
        .ok_or("the kubeconfig it printed has no current context")?;
    let url = config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.as_deref())
        .ok_or("the kubeconfig it printed names no API server")?;
    let url = url::Url::parse(url)
        .map_err(|_| "the API server address in its kubeconfig is not a URL".to_string())?;
    let host = url
        .host_str()
        .ok_or("the API server address in its kubeconfig has no host")?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or("the API server address in its kubeconfig has no port")?;
    Ok((host, port))
}

/// Checks that `text` names an API server on `control_plane` and that the bot can open a
/// connection to it within `timeout`.
pub(super) async fn api_server_reachable(
    cluster: &str,
    text: &str,
    control_plane: IpAddr,
    timeout: Duration,
) -> Result<(), ProvisionError> {
    let fail = |why: String| ProvisionError::Other(format!("cluster {cluster}: {why}"));
    let (host, port) = server(text).map_err(fail)?;
    let ip: IpAddr = host.parse().map_err(|_| {
        fail(format!(
            "its kubeconfig names the API server {host}, not the control plane's address {control_plane}; it was not stored"
        ))
    })?;
    if ip != control_plane {
        return Err(fail(format!(
            "its kubeconfig names the API server {ip}, not the control plane's address {control_plane}; it was not stored"
        )));
    }
    let addr = SocketAddr::new(ip, port);
    let why = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => return Ok(()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", timeout.as_secs().max(1)),
    };
    Err(fail(format!(
        "the cluster is up, but this bot cannot reach its API server at {addr} ({why}), so it could not manage GEs there. \
         Allow {port}/tcp from the bot's machine to the control plane (on OpenStack, a security group rule), \
         then run the same /cluster create again: it goes on where it stopped"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443\n\
        contexts:\n- name: a@k\n  context:\n    cluster: k\n    user: a\ncurrent-context: a@k\nusers:\n- name: a\n  user: {}\n";

    #[test]
    fn the_server_of_the_current_context_is_read() {
        assert_eq!(server(CONFIG).unwrap(), ("10.0.0.1".to_string(), 6443));
        let no_port = CONFIG.replace(":6443", "");
        assert_eq!(server(&no_port).unwrap().1, 443);
        assert!(
            server("clusters: [")
                .unwrap_err()
                .contains("does not parse")
        );
    }

    #[tokio::test]
    async fn another_server_than_the_control_plane_is_refused_unconnected() {
        let cp: IpAddr = "10.0.0.2".parse().unwrap();
        let err = api_server_reachable("lab-1", CONFIG, cp, Duration::from_secs(1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("names the API server 10.0.0.1, not the control plane's address 10.0.0.2"),
            "{err}"
        );
    }
}
