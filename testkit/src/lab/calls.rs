//! Recorded stand-in calls and step outputs, as the tests read them.

use std::collections::BTreeMap;

/// A recorded stand-in call: tool, then arguments.
pub type Call = Vec<String>;

/// `key=value` lines.
pub fn parse_facts(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The parts of a join command, as the engine takes them apart.
#[derive(Debug)]
pub struct JoinLine {
    /// host:port.
    pub endpoint: String,
    /// The token.
    pub token: String,
    /// sha256:...
    pub ca_hash: String,
}

impl JoinLine {
    /// Parses `kubeadm join <endpoint> --token <t> --discovery-token-ca-cert-hash <h>`.
    pub fn parse(out: &str) -> JoinLine {
        assert_eq!(
            out.lines().count(),
            1,
            "join_command prints exactly one line"
        );
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(&words[..2], ["kubeadm", "join"], "{out}");
        let value = |flag: &str| {
            let at = words
                .iter()
                .position(|w| *w == flag)
                .unwrap_or_else(|| panic!("{flag} in {out}"));
            words[at + 1].to_string()
        };
        JoinLine {
            endpoint: words[2].to_string(),
            token: value("--token"),
            ca_hash: value("--discovery-token-ca-cert-hash"),
        }
    }
}

/// The first argument of a kubectl call that is not an option or an option's value: its verb.
fn kubectl_verb(args: &[String]) -> Option<&str> {
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        match a.as_str() {
            "--kubeconfig" | "-n" | "--namespace" | "-o" | "--output" | "-f" | "--filename" => {
                skip = true
            }
            s if s.starts_with('-') => {}
            s => return Some(s),
        }
    }
    None
}

/// Whether a recorded call changes the host, the cluster or fetches from the network.
///
/// "Mutating" is defined by an allowlist of read-only probes; every other call counts:
/// installs, upgrades and removals (apt-get update/install/purge, dnf install/upgrade/remove,
/// apt-mark hold/unhold), kubeadm init/join/reset/token create and upgrade apply/node, kubectl
/// apply, label, drain, uncordon (anything but get), systemctl enable/start/restart/stop,
/// modprobe, sysctl --system/-w/-p, swapoff, setenforce, ufw allow,
/// firewall-cmd --add-port/--reload, ip link delete, gpg (writes a keyring) and downloads
/// (curl, wget). The read-only probes are: ss, dpkg-query, rpm -q, rpm -e --test, apt-get -s
/// (simulation), getenforce, uname, kubeadm
/// version, config images list and upgrade plan, kubectl get, systemctl is-enabled/is-active/status/show, apt-mark showhold, ufw
/// status, firewall-cmd --state/--query-port/--query-source (also with --permanent), sysctl -n, ip link show,
/// containerd --version / config default, helm version, haproxy -c / -v, openssl (version, reading a request,
/// s_client to a kubelet), ping. (The virtual IP probe's `ip addr add` and `del` are changes,
/// short-lived as they are.)
pub fn is_mutating(call: &[String]) -> bool {
    let Some((tool, args)) = call.split_first() else {
        return false;
    };
    let first = args.first().map(String::as_str);
    let read_only = match tool.as_str() {
        "ss" | "dpkg-query" | "getenforce" | "uname" | "date" | "ping" => true,
        "rpm" => {
            first == Some("-q")
                || (first == Some("-e") && args.get(1).is_some_and(|a| a == "--test"))
        }
        "apt-get" => args.iter().any(|a| a == "-s" || a == "--simulate"),
        "kubeadm" => {
            first == Some("version")
                || args
                    .get(..3)
                    .is_some_and(|a| a == ["config", "images", "list"])
                || args.get(..2).is_some_and(|a| a == ["upgrade", "plan"])
        }
        "kubectl" => match kubectl_verb(args) {
            Some("get") => true,
            Some("drain") => args.iter().any(|a| a == "--dry-run=server"),
            Some("rollout") => args.iter().any(|a| a == "status"),
            _ => false,
        },
        "systemctl" => args
            .iter()
            .find(|a| !a.starts_with('-'))
            .is_some_and(|v| matches!(v.as_str(), "is-enabled" | "is-active" | "status" | "show")),
        "apt-mark" => first == Some("showhold"),
        "ufw" => first == Some("status"),
        "firewall-cmd" => args.iter().all(|a| {
            a == "--state"
                || a == "--permanent"
                || a.starts_with("--query-port=")
                || a.starts_with("--query-source=")
                || a.starts_with("--zone=")
        }),
        "sysctl" => first == Some("-n"),
        "ip" => {
            args.get(..2)
                .is_some_and(|a| a[0] == "link" && a[1] == "show")
                || args.join(" ") == "-o addr show scope global"
        }
        "containerd" => matches!(args.join(" ").as_str(), "--version" | "config default"),
        "helm" => first == Some("version"),
        "haproxy" => args.iter().any(|a| a == "-c" || a == "-v"),
        "openssl" => matches!(first, Some("version" | "req" | "s_client")),
        _ => false,
    };
    !read_only
}

/// The mutating calls among `calls`, one per line, for messages.
pub fn mutating(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| is_mutating(c))
        .map(|c| c.join(" "))
        .collect()
}

/// Calls of `tool` whose first argument is `sub` (any, if empty).
pub fn calls_of<'a>(calls: &'a [Call], tool: &str, sub: &str) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| c[0] == tool && (sub.is_empty() || c.get(1).is_some_and(|a| a == sub)))
        .collect()
}

/// `nodes` output as (name, status).
pub fn node_table(out: &str) -> Vec<(String, String)> {
    out.lines()
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_string(), cols[1].to_string())
        })
        .collect()
}
