//! The semantic checks of a decoded config: ranges, names, duplicates, files that must exist,
//! secrets that must resolve. Decoding (unknown keys, type errors) is `load`'s.

use std::collections::HashSet;

use crate::names::{Cidr, K8sMinor, Name, NameError, UserName};

use super::Config;
use super::load::Problem;

impl Config {
    /// Semantic checks of a decoded config: ranges, names, duplicates, files that must exist,
    /// secrets that must resolve. Platform names are checked by the caller that knows the chat
    /// adapters (see `app::check_config`).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: String, message: String| out.push(Problem { key, message });
        if self.data_dir.as_os_str().is_empty() {
            bad("data_dir".into(), "must not be empty".into());
        }
        let l = &self.limits;
        range(
            &mut bad,
            "limits.concurrent_jobs",
            l.concurrent_jobs as u64,
            1,
            64,
        );
        range(
            &mut bad,
            "limits.progress_interval_ms",
            l.progress_interval_ms,
            250,
            60_000,
        );
        range(
            &mut bad,
            "limits.shutdown_grace_secs",
            l.shutdown_grace_secs,
            1,
            600,
        );
        range(
            &mut bad,
            "limits.min_cluster_hosts",
            l.min_cluster_hosts as u64,
            1,
            100,
        );
        range(
            &mut bad,
            "limits.job_log_lines",
            l.job_log_lines as u64,
            1,
            100,
        );
        range(
            &mut bad,
            "limits.audit_retention_days",
            l.audit_retention_days,
            0,
            36_500,
        );
        let s = &self.ssh;
        rule(&mut bad, "ssh.user", UserName::parse(&s.user));
        range(&mut bad, "ssh.port", u64::from(s.port), 1, 65_535);
        range(
            &mut bad,
            "ssh.connect_timeout_secs",
            s.connect_timeout_secs,
            1,
            300,
        );
        range(
            &mut bad,
            "ssh.command_timeout_secs",
            s.command_timeout_secs,
            1,
            86_400,
        );
        range(&mut bad, "ssh.keepalive_secs", s.keepalive_secs, 1, 3_600);
        for (key, path) in [
            ("ssh.key_path", &s.key_path),
            ("ssh.known_hosts", &s.known_hosts),
        ] {
            if let Some(p) = path
                && !p.is_file()
            {
                bad(
                    key.into(),
                    format!("{} is not a readable file", p.display()),
                );
            }
        }
        if let Some(secret) = &s.key_passphrase
            && let Err(e) = secret.resolve()
        {
            bad("ssh.key_passphrase".into(), e);
        }
        for (i, net) in s.allowed_networks.iter().enumerate() {
            match net.parse::<ipnet::IpNet>() {
                Err(_) => bad(
                    format!("ssh.allowed_networks[{i}]"),
                    format!("{net:?} is not a CIDR such as 10.0.0.0/16"),
                ),
                // Host addresses are normalised to IPv4 (names::host_addr), so a mapped
                // network would never match: refused, with the form that does.
                Ok(ipnet::IpNet::V6(v6)) if v6.network().to_ipv4_mapped().is_some() => bad(
                    format!("ssh.allowed_networks[{i}]"),
                    format!(
                        "{net:?} is an IPv4-mapped IPv6 network; write it as IPv4, such as {}/{}",
                        crate::names::host_addr(v6.network().into()),
                        v6.prefix_len().saturating_sub(96)
                    ),
                ),
                Ok(_) => {}
            }
        }
        for name in s.remote_env.keys() {
            let ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                bad(
                    format!("ssh.remote_env.{name}"),
                    "not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)".into(),
                );
            }
        }
        let c = &self.cluster;
        range(
            &mut bad,
            "cluster.parallel_hosts",
            c.parallel_hosts as u64,
            1,
            500,
        );
        range(
            &mut bad,
            "cluster.upgrade_batch_percent",
            u64::from(c.upgrade_batch_percent),
            1,
            100,
        );
        range(
            &mut bad,
            "cluster.step_retries",
            c.step_retries as u64,
            0,
            10,
        );
        range(
            &mut bad,
            "cluster.retry_backoff_ms",
            c.retry_backoff_ms,
            0,
            600_000,
        );
        range(
            &mut bad,
            "cluster.nodes_ready_timeout_secs",
            c.nodes_ready_timeout_secs,
            10,
            7200,
        );
        range(
            &mut bad,
            "cluster.nodes_poll_ms",
            c.nodes_poll_ms,
            100,
            60_000,
        );
        let k = &self.kube;
        range(
            &mut bad,
            "kube.connect_timeout_secs",
            k.connect_timeout_secs,
            1,
            300,
        );
        range(
            &mut bad,
            "kube.request_timeout_secs",
            k.request_timeout_secs,
            1,
            600,
        );
        range(
            &mut bad,
            "kube.unreachable_secs",
            k.unreachable_secs,
            1,
            3600,
        );
        if let Some(t) = k.rollout_timeout_secs {
            range(&mut bad, "kube.rollout_timeout_secs", t, 1, 86_400);
        }
        range(
            &mut bad,
            "kube.failure_grace_secs",
            k.failure_grace_secs,
            0,
            3600,
        );
        range(&mut bad, "kube.history_max", k.history_max as u64, 2, 1000);
        if let Some(dir) = &k.catalogue_dir
            && !dir.is_dir()
        {
            bad(
                "kube.catalogue_dir".into(),
                format!("{} is not a directory", dir.display()),
            );
        }
        for (key, v) in [
            ("cluster.flannel_version", &c.flannel_version),
            ("cluster.helm_version", &c.helm_version),
            ("cluster.local_path_version", &c.local_path_version),
            ("cluster.metrics_server_version", &c.metrics_server_version),
            ("cluster.kube_vip_version", &c.kube_vip_version),
        ] {
            let ok = v.starts_with('v')
                && v.len() > 1
                && v[1..]
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                bad(
                    key.into(),
                    format!("{v:?} is not a release tag such as v1.2.3"),
                );
            }
        }
        for (key, message) in super::mirrors::mirror_problems(&c.registry_mirrors)
            .into_iter()
            .chain(super::mirrors::proxy_problems(&s.remote_env))
        {
            bad(key, message);
        }
        rule(&mut bad, "cluster.k8s", K8sMinor::parse(&c.k8s));
        rule(&mut bad, "cluster.pod_cidr", Cidr::parse(&c.pod_cidr));
        if let Some(ns) = &self.console.namespace {
            rule(&mut bad, "console.namespace", Name::parse(ns));
        }
        for (key, message) in self
            .intake
            .problems()
            .into_iter()
            .chain(self.alerts.problems())
            .chain(self.access.problems())
            .chain(self.store.problems())
        {
            bad(key, message);
        }
        if let Some(m) = &self.matrix {
            for (key, message) in m.problems() {
                bad(key, message);
            }
        }
        if let Some(t) = &self.telegram {
            for (key, message) in t.problems() {
                bad(key, message);
            }
        }
        let mut seen = HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if u.id.trim().is_empty() {
                bad(format!("users[{i}].id"), "must not be empty".into());
            }
            if !seen.insert((&u.platform, &u.id)) {
                bad(
                    format!("users[{i}]"),
                    format!("user {} on {} is listed twice", u.id, u.platform),
                );
            }
        }
        if let Some(p) = self.console.quota.pods {
            range(
                &mut bad,
                "console.quota.pods",
                p,
                1,
                crate::command::NS_MAX_PODS,
            );
        }
        let mut seen = HashSet::new();
        for (i, r) in self.rooms.iter().enumerate() {
            if r.id.trim().is_empty() {
                bad(format!("rooms[{i}].id"), "must not be empty".into());
            }
            rule(
                &mut bad,
                &format!("rooms[{i}].namespace"),
                Name::parse(&r.namespace),
            );
            if let Some(Err(e)) = r.quiet_hours.as_deref().map(super::QuietHours::parse) {
                bad(format!("rooms[{i}].quiet_hours"), e);
            }
            if let Some(p) = r.quota.pods {
                let key = format!("rooms[{i}].quota.pods");
                range(&mut bad, &key, p, 1, crate::command::NS_MAX_PODS);
            }
            if !seen.insert((&r.platform, &r.id)) {
                bad(
                    format!("rooms[{i}]"),
                    format!("room {} on {} is listed twice", r.id, r.platform),
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, c) in self.clusters.iter().enumerate() {
            rule(
                &mut bad,
                &format!("clusters[{i}].name"),
                Name::parse(&c.name),
            );
            if !seen.insert(&c.name) {
                bad(
                    format!("clusters[{i}].name"),
                    format!("cluster {} is listed twice", c.name),
                );
            }
            if !c.kubeconfig.is_file() {
                bad(
                    format!("clusters[{i}].kubeconfig"),
                    format!("{} is not a readable file", c.kubeconfig.display()),
                );
            }
        }
        out
    }
}

/// Reports `key` when `v` is outside `lo..=hi`.
pub(super) fn range(bad: &mut impl FnMut(String, String), key: &str, v: u64, lo: u64, hi: u64) {
    if !(lo..=hi).contains(&v) {
        bad(
            key.into(),
            format!("{v} is out of range; accepted: {lo} to {hi}"),
        );
    }
}

/// Reports `key` when its value broke its name rule, in the rule's words (the same as chat).
fn rule<T>(bad: &mut impl FnMut(String, String), key: &str, checked: Result<T, NameError>) {
    if let Err(e) = checked {
        bad(key.into(), e.to_string());
    }
}
