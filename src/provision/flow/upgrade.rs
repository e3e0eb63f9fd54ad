//! `/cluster upgrade`'s safety net, before anything changes on any host (KubeOne's upgrade
//! preflight, kubeadm's rules): every node Ready, none left part-way by an upgrade to another
//! minor, none cordoned by someone else, the kubelets and API servers within the version-skew
//! policy, kubeadm on every host of the old minor or the new one, swap off, containerd recent
//! enough for the new minor and disk free (the `upgrade_check` script, on every host).

use std::collections::HashMap;

use super::{ClusterRun, members, nodes};
use crate::names::minor_number;
use crate::provision::error::ProvisionError;
use crate::provision::scripts::HostScript;

/// The oldest kubelet the API server of minor N serves: N-3 (version-skew policy).
const KUBELET_SKEW: u32 = 3;

/// One node as the API server shows it now.
#[derive(Clone, Debug, Default)]
pub(super) struct NodeNow {
    pub(super) ready: bool,
    pub(super) cordoned: bool,
    /// The kubelet's version (`v1.35.5`).
    pub(super) version: String,
    /// The minor of an upgrade that marked it and has not finished there (empty: none).
    pub(super) mark: String,
}

impl NodeNow {
    /// Upgraded to minor `to` and finished there.
    pub(super) fn done(&self, to: &str) -> bool {
        self.ready && self.mark.is_empty() && members::minor(&self.version).as_deref() == Some(to)
    }
}

impl ClusterRun {
    /// Every node the first control plane's API server lists, by name, with its upgrade mark.
    pub(super) async fn nodes_now(&self) -> Result<HashMap<String, NodeNow>, ProvisionError> {
        let cp = vec![(0, self.hosts[0].target.to_string())];
        let listed = self
            .run_on(&cp, HostScript::Nodes, |_, out| {
                Ok((nodes::parse(&out.stdout), None))
            })
            .await?;
        let marks = self
            .run_on(&cp, HostScript::UpgradeMarks, |_, out| {
                Ok((parse_marks(&out.stdout), None))
            })
            .await?;
        let listed = Self::check(listed)?.into_iter().next().map(|(_, n)| n);
        let marks = Self::check(marks)?.into_iter().next().map(|(_, m)| m);
        let marks = marks.unwrap_or_default();
        Ok(listed
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                let mark = marks.get(&n.name).cloned().unwrap_or_default();
                let now = NodeNow {
                    ready: n.ready,
                    cordoned: n.cordoned,
                    version: n.version,
                    mark,
                };
                (n.name, now)
            })
            .collect())
    }

    /// The check step: every problem of every host and node at once; nothing changes.
    pub(super) async fn check_upgrade(&mut self) -> Result<(), ProvisionError> {
        let to = self.k8s.clone();
        let from = self.upgrading_from.clone().unwrap_or_default();
        let all = self.all();
        let checked = self
            .run_on(&all, HostScript::UpgradeCheck, |_, out| {
                let api = out
                    .stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("apiserver="))
                    .unwrap_or_default();
                Ok((api.trim().to_string(), None))
            })
            .await?;
        let mut problems: Vec<String> = Vec::new();
        let apiservers = match checked {
            Ok(found) => found,
            Err(failed) => {
                problems.extend(failed.iter().map(ToString::to_string));
                Vec::new()
            }
        };
        let both = [from.as_str(), to.as_str()];
        for (i, api) in &apiservers {
            let minor = members::minor(api);
            if !api.is_empty() && !minor.as_deref().is_some_and(|m| both.contains(&m)) {
                problems.push(format!(
                    "{}: its API server runs {api}; an upgrade to {to} needs every control plane on {from} or {to} (the skew policy allows one minor between API servers)",
                    self.hosts[*i].target
                ));
            }
        }
        for h in &self.hosts {
            let Some(f) = &h.facts else { continue };
            if !both.iter().any(|m| f.kubeadm_is(m)) {
                problems.push(format!(
                    "{}: kubeadm {} is neither of {from} nor of {to}; the host was changed outside labkube",
                    h.target,
                    if f.kubeadm.is_empty() { "(none)" } else { &f.kubeadm }
                ));
            }
            if f.swap_mb > 0 {
                problems.push(format!(
                    "{}: swap is on ({} MiB); kubeadm's upgrade needs it off (swapoff -a, and take it out of /etc/fstab)",
                    h.target, f.swap_mb
                ));
            }
        }
        let now = self.nodes_now().await?;
        problems.extend(self.node_problems(&now, &to));
        if !problems.is_empty() {
            return Err(ProvisionError::Preflight(problems));
        }
        let (done, left): (Vec<usize>, Vec<usize>) = (0..self.hosts.len())
            .partition(|&i| now.get(&self.node_name(i)).is_some_and(|n| n.done(&to)));
        let names = |list: &[usize]| {
            list.iter()
                .map(|&i| self.node_name(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if done.is_empty() {
            self.io.log(&format!(
                "every node may move from {from} to {to}: Ready, within the skew policy, containerd and disk fit"
            ))?;
        } else {
            self.io.log(&format!(
                "{} already on {to} (an earlier upgrade got that far); left: {}",
                names(&done),
                names(&left)
            ))?;
        }
        let theirs: Vec<&String> = now
            .keys()
            .filter(|n| !(0..self.hosts.len()).any(|i| &&self.node_name(i) == n))
            .collect();
        if !theirs.is_empty() {
            self.io.log(&format!(
                "node(s) labkube did not add stay as they are: {} (a kubelet up to {KUBELET_SKEW} minors older than the API server is within the skew policy)",
                theirs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ))?;
        }
        Ok(())
    }

    /// What the API server's view of the nodes forbids.
    fn node_problems(&self, now: &HashMap<String, NodeNow>, to: &str) -> Vec<String> {
        let cluster = &self.name;
        let mut problems = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            let name = self.node_name(i);
            let Some(n) = now.get(&name) else {
                problems.push(format!(
                    "{name} ({}) is registered but the API server lists no such node: /node remove {cluster} {} first, or add it back",
                    h.target.addr, h.target.addr
                ));
                continue;
            };
            if !n.mark.is_empty() && n.mark != to {
                problems.push(format!(
                    "{name} is marked labkube.io/upgrade-to={} by an upgrade to {} that did not finish; finish that one first",
                    n.mark, n.mark
                ));
                continue;
            }
            // A node an earlier upgrade to `to` left part-way is resumed as it is.
            if n.mark == to {
                continue;
            }
            if !n.ready {
                problems.push(format!(
                    "{name} is NotReady: every node must be Ready before an upgrade starts (/cluster status {cluster} says why)"
                ));
            }
            if n.cordoned {
                problems.push(format!(
                    "{name} is cordoned (SchedulingDisabled), and not by labkube: an upgrade drains and uncordons every node, so uncordon it first (kubectl uncordon {name}) or /node remove it"
                ));
            }
            let kubelet = minor_number(&n.version);
            if kubelet + KUBELET_SKEW < minor_number(to) {
                problems.push(format!(
                    "{name}'s kubelet is {}, more than {KUBELET_SKEW} minors older than {to}: the skew policy forbids it",
                    n.version
                ));
            }
            if kubelet > minor_number(to) {
                problems.push(format!(
                    "{name}'s kubelet is {}, newer than {to}: the skew policy forbids a kubelet newer than its API server",
                    n.version
                ));
            }
        }
        problems
    }
}

/// `name=minor` lines of `upgrade_marks`, the marked ones only.
fn parse_marks(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(_, m)| !m.trim().is_empty())
        .map(|(n, m)| (n.trim().to_ascii_lowercase(), m.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn marks_keep_only_marked_nodes() {
        let m = super::parse_marks("cp1=\nw1=1.36\nW2=1.36\n\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m["w1"], "1.36");
        assert_eq!(m["w2"], "1.36");
    }
}
