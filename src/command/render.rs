//! From a [`Command`] back to text: its path, whether it changes anything, and the canonical
//! command line with secrets masked, ordered by the spec table.

use super::spec;
use super::types::{ClusterArgs, Command, GeScope};

/// The mask that replaces secret values.
pub(crate) const MASK: &str = "***";

impl Command {
    /// The canonical command words, space-separated: `"cluster create"`, `"ge install"`,
    /// `"rollback"` (also for `/ge rollback`), `"help"`. Suitable as a metrics or audit label.
    #[must_use]
    pub fn path(&self) -> &'static str {
        match self {
            Command::Help { .. } => "help",
            Command::ClusterCreate(_) => "cluster create",
            Command::ClusterPlan(_) => "cluster plan",
            Command::ClusterList => "cluster list",
            Command::ClusterStatus { .. } => "cluster status",
            Command::ClusterUse { .. } => "cluster use",
            Command::ClusterDelete { .. } => "cluster delete",
            Command::ClusterUpgrade { .. } => "cluster upgrade",
            Command::GeCatalog => "ge catalog",
            Command::GeInstall { .. } => "ge install",
            Command::GeUpgrade { .. } => "ge upgrade",
            Command::GeScale { .. } => "ge scale",
            Command::GeAutoscale { .. } => "ge autoscale",
            Command::GeStatus { .. } => "ge status",
            Command::GeList { .. } => "ge list",
            Command::GeHistory { .. } => "ge history",
            Command::GeUninstall { .. } => "ge uninstall",
            Command::Rollback { .. } => "rollback",
            Command::Jobs { .. } => "jobs",
            Command::Job { .. } => "job",
            Command::Cancel { .. } => "cancel",
            Command::GeLogs { .. } => "ge logs",
            Command::GeEvents { .. } => "ge events",
            Command::Alerts { .. } => "alerts",
            Command::Silence { .. } => "silence",
            Command::SilenceList { .. } => "silence list",
            Command::Unsilence { .. } => "unsilence",
            Command::Kubeconfig { .. } => "kubeconfig",
            Command::KubeconfigRevoke { .. } => "kubeconfig revoke",
            Command::KubeconfigList { .. } => "kubeconfig list",
            Command::NsCreate { .. } => "ns create",
            Command::NsList { .. } => "ns list",
            Command::NsDelete { .. } => "ns delete",
            Command::Whoami => "whoami",
            Command::Start => "start",
            Command::Audit { .. } => "audit",
            Command::HostForget { .. } => "host forget",
            Command::NodeAdd(_) => "node add",
            Command::NodeRemove { .. } => "node remove",
            Command::Selftest { .. } => "selftest",
        }
    }

    /// Whether the command changes state anywhere (hosts, clusters, releases, jobs, the bot's
    /// records) and so needs the operator role: cluster create (even with `dry-run`, which
    /// connects to hosts and pins their keys), plan, use, delete and upgrade; ge install, upgrade,
    /// scale, autoscale and uninstall; rollback; cancel; silence and unsilence; host forget;
    /// selftest; kubeconfig and kubeconfig revoke (accounts and bindings on the cluster).
    /// Everything else only reads.
    #[must_use]
    pub fn is_mutating(&self) -> bool {
        // Unknown to the table cannot happen (tested); treating it as mutating fails safe.
        spec::find(self.path()).is_none_or(|s| s.mutating)
    }

    /// Who may run the command (from its spec). Unknown to the table cannot happen (tested);
    /// it would need an admin, which fails safe.
    #[must_use]
    pub fn access(&self) -> spec::Access {
        spec::find(self.path()).map_or(spec::Access::Admin, |s| s.access)
    }

    /// The canonical command line, fit for audit logs and confirmations: `/` prefix, canonical
    /// words, positionals, then options and flags in table order, secrets (`confirm=`) masked
    /// as `***`. For example `/cluster delete lab-1 confirm=***` or
    /// `/ge install orion ns=demo version=4.1.0`. A command from [`super::parse()`] re-parses
    /// from it to itself (unless a secret was masked), and it holds only printable ASCII.
    #[must_use]
    pub fn redacted(&self) -> String {
        let path = self.path();
        let mut line = format!("/{path}");
        let Some(spec) = spec::find(path) else {
            return line;
        };
        let fields = self.fields();
        let values = |key: &'static str| {
            fields
                .iter()
                .filter(move |(k, _)| *k == key)
                .map(|(_, v)| v)
        };
        for pos in spec.positionals {
            for value in values(pos.key) {
                line.push(' ');
                line.push_str(value);
            }
        }
        for opt in spec.options {
            if let Some(value) = values(opt.key).next() {
                let value = if opt.kind.is_secret() {
                    MASK
                } else {
                    value.as_str()
                };
                line.push_str(&format!(" {}={value}", opt.key));
            }
        }
        for flag in spec.flags {
            if values(flag.word).next().is_some() {
                line.push(' ');
                line.push_str(flag.word);
            }
        }
        if let Command::GeInstall { params, .. } = self {
            for (key, value) in params {
                // The grammar cannot tell a GE's secret parameter from another; their names
                // can (the catalogue requires it), as the raw-text redaction does.
                let value = if super::is_masked_key(key) {
                    MASK
                } else {
                    value.as_str()
                };
                line.push_str(&format!(" {key}={value}"));
            }
        }
        line
    }

    /// The command's values keyed like its spec: positional keys, option keys, and flag words
    /// (with an empty value) for flags that are set.
    pub(crate) fn fields(&self) -> Fields {
        let mut f: Fields = Vec::new();
        match self {
            Command::Help { topic } => {
                // Parser output is already lowercase words; keep hand-built values harmless.
                let clean = |w: &String| -> String {
                    w.chars()
                        .filter(|c| c.is_ascii_lowercase() || *c == '-')
                        .collect()
                };
                let words = topic.iter().map(clean).filter(|w| !w.is_empty());
                f.extend(words.map(|w| ("topic", w)));
            }
            Command::ClusterCreate(a) => {
                cluster(&mut f, a);
                flag(&mut f, "dry-run", a.dry_run);
            }
            Command::ClusterPlan(a) => cluster(&mut f, a),
            Command::ClusterList | Command::GeCatalog | Command::Whoami | Command::Start => {}
            Command::ClusterStatus { name } => some(&mut f, "name", name.as_ref()),
            Command::ClusterUse { name } => f.push(("name", name.to_string())),
            Command::ClusterDelete { name, confirm } => {
                f.push(("name", name.to_string()));
                // Never copy a secret, even into a value that is about to be masked.
                some(&mut f, "confirm", confirm.as_ref().map(|_| &MASK));
            }
            Command::ClusterUpgrade { name, k8s, confirm } => {
                f.push(("name", name.to_string()));
                some(&mut f, "k8s", k8s.as_ref());
                some(&mut f, "confirm", confirm.as_ref().map(|_| &MASK));
            }
            Command::GeInstall {
                ge,
                scope: s,
                version,
                replicas,
                expose_nodeport,
                params: _,
            } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                some(&mut f, "version", version.as_ref());
                some(&mut f, "replicas", replicas.as_ref());
                if *expose_nodeport {
                    f.push(("expose", "nodeport".into()));
                }
            }
            Command::GeUpgrade {
                ge,
                scope: s,
                version,
            } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                f.push(("version", version.to_string()));
            }
            Command::GeScale {
                ge,
                scope: s,
                replicas,
            } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                f.push(("replicas", replicas.to_string()));
            }
            Command::GeAutoscale {
                ge,
                scope: s,
                setting,
            } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                match setting {
                    Some(a) => {
                        f.push(("min", a.min.to_string()));
                        f.push(("max", a.max.to_string()));
                        f.push(("cpu", a.cpu.to_string()));
                    }
                    None => flag(&mut f, "off", true),
                }
            }
            Command::GeStatus { ge, scope: s } | Command::GeHistory { ge, scope: s } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
            }
            Command::GeList { scope: s } => scope(&mut f, s),
            Command::GeLogs {
                ge,
                scope: s,
                pod,
                container,
                lines,
                previous,
            } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                some(&mut f, "pod", pod.as_ref());
                some(&mut f, "container", container.as_ref());
                f.push(("lines", lines.to_string()));
                flag(&mut f, "previous", *previous);
            }
            Command::GeEvents { ge, scope: s } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
            }
            Command::GeUninstall {
                ge,
                scope: s,
                purge,
            } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                flag(&mut f, "purge", *purge);
            }
            Command::Rollback { ge, scope: s, to } => {
                f.push(("ge", ge.to_string()));
                scope(&mut f, s);
                some(&mut f, "to", to.as_ref());
            }
            Command::Alerts { cluster } | Command::SilenceList { cluster } => {
                some(&mut f, "cluster", cluster.as_ref())
            }
            Command::Silence {
                target,
                secs,
                reason,
                scope: s,
            } => {
                f.push(("target", target.to_string()));
                f.push(("for", super::value::duration_text(*secs)));
                f.extend(reason.iter().map(|w| ("reason", w.clone())));
                scope(&mut f, s);
            }
            Command::Unsilence { id } => f.push(("id", id.to_string())),
            Command::Kubeconfig {
                scope: s,
                ttl_secs,
                access,
            } => {
                scope(&mut f, s);
                some(
                    &mut f,
                    "ttl",
                    ttl_secs.map(super::value::duration_text).as_ref(),
                );
                some(&mut f, "access", access.map(|a| a.word()).as_ref());
            }
            Command::KubeconfigRevoke { user, cluster } => {
                some(&mut f, "user", user.as_ref());
                some(&mut f, "cluster", cluster.as_ref());
            }
            Command::KubeconfigList { cluster } | Command::NsList { cluster } => {
                some(&mut f, "cluster", cluster.as_ref())
            }
            Command::NsCreate {
                name,
                cluster,
                cpu,
                memory,
                pods,
            } => {
                f.push(("name", name.to_string()));
                some(&mut f, "cluster", cluster.as_ref());
                some(&mut f, "cpu", cpu.as_ref());
                some(&mut f, "memory", memory.as_ref());
                some(&mut f, "pods", pods.as_ref());
            }
            Command::NsDelete {
                name,
                cluster,
                confirm,
            } => {
                f.push(("name", name.to_string()));
                some(&mut f, "cluster", cluster.as_ref());
                some(&mut f, "confirm", confirm.as_ref());
            }
            Command::Jobs { all } => flag(&mut f, "all", *all),
            Command::Job { id } | Command::Cancel { id } => f.push(("id", id.to_string())),
            Command::Audit { n } => some(&mut f, "n", n.as_ref()),
            Command::HostForget { ip } => f.push(("ip", ip.to_string())),
            Command::NodeRemove {
                cluster,
                ip,
                confirm,
            } => {
                f.push(("cluster", cluster.to_string()));
                f.push(("ip", ip.to_string()));
                some(&mut f, "confirm", confirm.as_ref().map(|_| &MASK));
            }
            Command::NodeAdd(a) => {
                f.push(("cluster", a.cluster.to_string()));
                f.extend(a.hosts.iter().map(|ip| ("ip", ip.to_string())));
                if a.control_plane {
                    f.push(("role", "control-plane".into()));
                }
                some(&mut f, "user", a.user.as_ref());
                some(&mut f, "port", a.port.as_ref());
            }
            Command::Selftest { steps, step_ms } => {
                f.push(("steps", steps.to_string()));
                f.push(("ms", step_ms.to_string()));
            }
        }
        f
    }
}

/// A command's values keyed like its spec (see [`Command::fields`]).
pub(crate) type Fields = Vec<(&'static str, String)>;

fn some<T: ToString>(f: &mut Fields, key: &'static str, value: Option<&T>) {
    if let Some(v) = value {
        f.push((key, v.to_string()));
    }
}

fn flag(f: &mut Fields, word: &'static str, on: bool) {
    if on {
        f.push((word, String::new()));
    }
}

fn scope(f: &mut Fields, s: &GeScope) {
    some(f, "ns", s.ns.as_ref());
    some(f, "cluster", s.cluster.as_ref());
}

fn cluster(f: &mut Fields, a: &ClusterArgs) {
    f.extend(a.hosts.iter().map(|ip| ("ip", ip.to_string())));
    some(f, "name", a.name.as_ref());
    some(f, "user", a.user.as_ref());
    some(f, "port", a.port.as_ref());
    some(f, "k8s", a.k8s.as_ref());
    some(f, "pod-cidr", a.pod_cidr.as_ref());
    some(f, "control-planes", a.control_planes.as_ref());
    some(f, "endpoint", a.endpoint.as_ref());
}
