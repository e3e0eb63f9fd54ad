//! `[metrics]`: the Prometheus endpoint with `/healthz` and `/readyz` (`crate::metrics`).
//! Absent, the bot serves none. Loopback unless the operator says otherwise: the numbers name
//! the lab's clusters and rooms' activity, which a neighbour on the network has no need of.

use std::net::{Ipv4Addr, SocketAddr};

use serde::Deserialize;

/// The default `[metrics] listen`.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9712);

/// `[metrics]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MetricsSettings {
    /// `ADDRESS:PORT` to serve on (port 0: any free port, logged at start).
    pub listen: SocketAddr,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            listen: DEFAULT_METRICS_LISTEN,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Config {
        Config::parse(text, "labkube.toml").unwrap()
    }

    #[test]
    fn absent_means_no_endpoint_and_an_empty_section_means_loopback() {
        assert_eq!(parse("").metrics, None);
        let on = parse("[metrics]\n").metrics.unwrap();
        assert_eq!(on.listen.to_string(), "127.0.0.1:9712");
        let pod = parse("[metrics]\nlisten = \"0.0.0.0:9712\"\n")
            .metrics
            .unwrap();
        assert!(pod.listen.ip().is_unspecified());
    }

    #[test]
    fn a_listen_address_without_a_port_is_refused() {
        let e = Config::parse("[metrics]\nlisten = \"127.0.0.1\"\n", "labkube.toml").unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("metrics") && e.contains("invalid socket address"),
            "{e}"
        );
    }
}
