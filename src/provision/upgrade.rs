//! The rules of `/cluster upgrade` that the dispatcher's plan and the job share: how many
//! workers go at once, and the order the nodes go in.

use crate::provision::host::role;
use crate::store::ClusterRecord;

/// Workers drained and upgraded at once: `percent` of `workers`, rounded down, at least one
/// (k0sctl's `workerDisruptionPercent`, Kubespray's `serial`), and never more than `limit`
/// (`[cluster] parallel_hosts`, as k0sctl caps its batches by its concurrency limit).
pub fn batch_size(workers: usize, percent: u8, limit: usize) -> usize {
    (workers * usize::from(percent) / 100).clamp(1, limit.max(1))
}

/// What an upgrade of `record` to minor `to` does, as the plan shows it: the nodes in their
/// order, the control planes one at a time, the workers in batches ([`batch_size`]).
pub fn plan(record: &ClusterRecord, to: &str, percent: u8, limit: usize) -> String {
    let name = |n: &crate::store::NodeRecord| {
        if n.hostname.is_empty() {
            n.addr.to_string()
        } else {
            format!("{} ({})", n.hostname, n.addr)
        }
    };
    let (cps, workers): (Vec<_>, Vec<_>) = record.nodes.iter().partition(|n| n.role == role(true));
    let mut out = format!(
        "the control planes one at a time: {}; each: kubeadm of {to} (its pkgs.k8s.io repository switched, the package unheld and held again), {} (the first, which also renews the control plane's certificates) or kubeadm upgrade node (the others), drained, kubelet and kubectl of {to}, restarted, Ready, uncordoned.",
        cps.iter().map(|n| name(n)).collect::<Vec<_>>().join(", "),
        "kubeadm upgrade apply"
    );
    if !workers.is_empty() {
        let size = batch_size(workers.len(), percent, limit);
        let batches: Vec<String> = workers
            .chunks(size)
            .map(|b| b.iter().map(|n| name(n)).collect::<Vec<_>>().join(" + "))
            .collect();
        out.push_str(&format!(
            " Then the workers, {size} at a time ([cluster] upgrade_batch_percent = {percent}): {}; each: kubeadm upgrade node, drained, kubelet and kubectl of {to}, restarted, Ready, uncordoned.",
            batches.join("; then ")
        ));
    }
    out.push_str(
        " Then flannel, local-path-provisioner and metrics-server at the releases pinned for it, and the bot's kubeconfig refreshed.",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::batch_size;

    #[test]
    fn batches_round_down_and_take_at_least_one() {
        assert_eq!(batch_size(10, 10, 50), 1);
        assert_eq!(batch_size(10, 30, 50), 3);
        assert_eq!(batch_size(10, 100, 50), 10);
        assert_eq!(batch_size(3, 10, 50), 1);
        assert_eq!(batch_size(7, 50, 50), 3);
        assert_eq!(batch_size(0, 50, 50), 1);
        assert_eq!(batch_size(200, 100, 50), 50);
        assert_eq!(batch_size(5, 100, 0), 1);
    }
}
