//! Before a new cluster is registered, the bot itself connects to its API server (the
//! control plane's address, port 6443), so a port the lab's security group closes (6443 is
//! often not open to the bot's machine) is said at once, not at the first `/ge install`.
//!
//! The address is the one the user typed, never one the host's kubeconfig names (see
//! `kube::kubeconfig`); the probe is a TCP connection to it.

use std::net::SocketAddr;
use std::time::Duration;

use crate::provision::error::ProvisionError;

/// Checks that the bot can open a connection to the API server at `addr` within `timeout`.
pub(super) async fn api_server_reachable(
    cluster: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), ProvisionError> {
    let fail = |why: String| ProvisionError::Other(format!("cluster {cluster}: {why}"));
    let port = addr.port();
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

    #[tokio::test]
    async fn a_closed_port_is_said_with_what_to_open() {
        // A port nothing listens on: bind, note the port, close.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = api_server_reachable("lab-1", addr, Duration::from_secs(1))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("cannot reach its API server at {addr}")),
            "{err}"
        );
    }
}
